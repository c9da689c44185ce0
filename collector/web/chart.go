package web

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Point is one sample of a chart.
type Point struct {
	T time.Time
	V float64
}

// Chart is a small line chart of the last hour, drawn as inline SVG on the
// server (no chart library, nothing to load).
type Chart struct {
	Title  string
	Unit   string
	Series []Series
	From   time.Time
	To     time.Time
}

// Series is one line of a chart.
type Series struct {
	Label  string
	Points []Point
}

// Chart geometry, in SVG user units.
const chartW, chartH = 600.0, 120.0

// Min and Max are the value range drawn (0 at the bottom for
// non-negative data).
func (c Chart) Min() float64 {
	lo, _ := c.bounds()
	return lo
}

// Max is the top of the value range.
func (c Chart) Max() float64 {
	_, hi := c.bounds()
	return hi
}

func (c Chart) bounds() (float64, float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			lo, hi = math.Min(lo, p.V), math.Max(hi, p.V)
		}
	}
	if math.IsInf(lo, 1) {
		return 0, 1
	}
	if lo > 0 {
		lo = 0
	}
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// Empty reports whether there is nothing to draw.
func (c Chart) Empty() bool {
	for _, s := range c.Series {
		if len(s.Points) > 0 {
			return false
		}
	}
	return true
}

// Paths returns one SVG path per series; a gap in the data (more than
// three steps) breaks the line.
func (c Chart) Paths() []string {
	lo, hi := c.bounds()
	span := c.To.Sub(c.From).Seconds()
	if span <= 0 {
		span = 1
	}
	var out []string
	for _, s := range c.Series {
		var b strings.Builder
		var prev time.Time
		gap := time.Duration(0)
		if len(s.Points) > 1 {
			gap = 3 * s.Points[1].T.Sub(s.Points[0].T)
		}
		for i, p := range s.Points {
			x := p.T.Sub(c.From).Seconds() / span * chartW
			y := chartH - (p.V-lo)/(hi-lo)*chartH
			cmd := "L"
			if i == 0 || (gap > 0 && p.T.Sub(prev) > gap) {
				cmd = "M"
			}
			fmt.Fprintf(&b, "%s%.1f %.1f ", cmd, x, y)
			prev = p.T
		}
		out = append(out, strings.TrimSpace(b.String()))
	}
	return out
}

// chartTicks is how many intervals the time axis is cut into.
const chartTicks = 4

// Ticks are the times marked on the time axis: From, To and the evenly
// spaced times between.
func (c Chart) Ticks() []time.Time {
	out := make([]time.Time, 0, chartTicks+1)
	for i := range chartTicks + 1 {
		out = append(out, c.From.Add(c.To.Sub(c.From)*time.Duration(i)/chartTicks))
	}
	return out
}

// GridX are the x positions of the ticks, for grid lines.
func (c Chart) GridX() []float64 {
	out := make([]float64, 0, chartTicks+1)
	for i := range chartTicks + 1 {
		out = append(out, chartW*float64(i)/chartTicks)
	}
	return out
}

// Format prints a value with the chart's unit.
func (c Chart) Format(v float64) string {
	switch c.Unit {
	case "%":
		return fmt.Sprintf("%.0f %%", v)
	case "s":
		return humanSeconds(v)
	case "bytes":
		return humanBytes(v)
	case "bytes/s":
		return humanBytes(v) + "/s"
	}
	return fmt.Sprintf("%.3g", v)
}

func humanSeconds(v float64) string {
	switch {
	case v >= 1:
		return fmt.Sprintf("%.2f s", v)
	case v >= 1e-3:
		return fmt.Sprintf("%.1f ms", v*1e3)
	default:
		return fmt.Sprintf("%.0f µs", v*1e6)
	}
}

func humanBytes(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}
