package availability

import (
	"time"

	"github.com/ninesmon/nines/collector/state"
)

// Segment is a stretch of time in one state.
type Segment struct {
	From, To time.Time
	State    state.State
	// Degraded marks up time of a redundant service with a component down.
	Degraded bool
}

// Timeline lays out a target's states over window as segments; the time
// the collector was not observing (gaps) is NotObserved whatever the
// target did.
func Timeline(window Span, initial state.State, changes []state.Change, gaps []Span) []Segment {
	var segs []Segment
	cur, at := initial, window.From
	push := func(s state.State, from, to time.Time) {
		if !to.After(from) {
			return
		}
		for _, g := range clip(gaps, Span{from, to}) {
			if g.From.After(from) {
				segs = append(segs, Segment{From: from, To: g.From, State: s})
			}
			segs = append(segs, Segment{From: g.From, To: g.To, State: NotObserved})
			from = g.To
		}
		if to.After(from) {
			segs = append(segs, Segment{From: from, To: to, State: s})
		}
	}
	for _, c := range changes {
		if c.At.Before(window.From) {
			cur = c.To
			continue
		}
		if !c.At.Before(window.To) {
			break
		}
		push(cur, at, c.At)
		cur, at = c.To, c.At
	}
	push(cur, at, window.To)
	return segs
}

// Summarise totals a timeline: up (degraded included) and down count,
// everything else is excluded.
func Summarise(window Span, segs []Segment) (Result, time.Duration) {
	res := Result{Window: window}
	var degraded time.Duration
	for _, s := range segs {
		res.addState(s.State, s.From, s.To)
		if s.Degraded {
			degraded += s.To.Sub(s.From)
		}
	}
	return res, degraded
}

// Mode is how a service combines its components.
type Mode struct {
	// Kind is "all" (down when any component is down), "any" (down only
	// when all are down) or "k_of_n" (down when fewer than K are up).
	Kind string
	K    int
}

// Combine merges component timelines over window into the service's. A
// component whose state is not known (unknown, maintenance, shutdown,
// collector away) makes the service's state unknown only when it could
// change the answer.
func Combine(window Span, mode Mode, components [][]Segment) []Segment {
	if len(components) == 0 {
		return []Segment{{From: window.From, To: window.To, State: state.Unknown}}
	}
	// Every boundary where some component changes: each component's are
	// in order already, so they are merged, not sorted.
	points := []time.Time{window.From, window.To}
	for _, c := range components {
		own := make([]time.Time, 0, 2*len(c))
		for _, s := range c {
			own = append(own, s.From, s.To)
		}
		points = mergeTimes(points, own)
	}
	idx := make([]int, len(components))
	states := make([]state.State, len(components))
	var out []Segment
	for i := 0; i+1 < len(points); i++ {
		from, to := points[i], points[i+1]
		if !to.After(from) || from.Before(window.From) || to.After(window.To) {
			continue
		}
		for ci, c := range components {
			for idx[ci] < len(c) && !c[idx[ci]].To.After(from) {
				idx[ci]++
			}
			states[ci] = state.Unknown
			if idx[ci] < len(c) && !c[idx[ci]].From.After(from) {
				states[ci] = c[idx[ci]].State
			}
		}
		st, degraded := mode.Decide(states)
		seg := Segment{From: from, To: to, State: st, Degraded: degraded}
		if n := len(out); n > 0 && out[n-1].State == seg.State && out[n-1].Degraded == seg.Degraded && out[n-1].To.Equal(from) {
			out[n-1].To = to
			continue
		}
		out = append(out, seg)
	}
	return out
}

// Decide combines the components' states at one moment into the
// service's: up (degraded when some component is down), down, or, when
// the components whose state is not known could change the answer, the
// reason it is not known: NotObserved if the collector was away, Unknown
// if a component has no data, Maintenance if they are all planned
// (maintenance or announced shutdown). Absent components (not there yet)
// are left out; no components is Unknown.
func (m Mode) Decide(components []state.State) (st state.State, degraded bool) {
	up, down, noData, notObserved, planned, present := 0, 0, 0, 0, 0, 0
	for _, s := range components {
		if s == Absent {
			continue
		}
		present++
		switch s {
		case state.Up:
			up++
		case state.Down:
			down++
		case state.Maintenance, state.Shutdown:
			planned++
		case NotObserved:
			notObserved++
		default:
			noData++
		}
	}
	if present == 0 {
		return state.Unknown, false
	}
	need := present // all
	switch m.Kind {
	case "any":
		need = 1
	case "k_of_n":
		need = m.K
	}
	switch {
	case up >= need:
		return state.Up, down > 0
	case up+noData+notObserved+planned < need:
		return state.Down, false
	case notObserved > 0:
		return NotObserved, false
	case noData > 0:
		return state.Unknown, false
	default:
		return state.Maintenance, false
	}
}

// NoData is a service's policy for time with no data (a component that
// never reported, a host whose state is unknown).
type NoData string

// The policies; the default is NoDataExclude.
const (
	NoDataExclude NoData = "exclude" // not eligible, reported as no-data time
	NoDataDown    NoData = "down"    // counts as downtime
	NoDataUp      NoData = "up"      // counts as up time
)

// ApplyNoData turns Unknown segments into Down or Up by policy. Time the
// collector was not observing, and planned time, stay as they are.
func ApplyNoData(segs []Segment, policy NoData) []Segment {
	to := map[NoData]state.State{NoDataDown: state.Down, NoDataUp: state.Up}[policy]
	if to == "" {
		return segs
	}
	out := make([]Segment, len(segs))
	for i, s := range segs {
		if s.State == state.Unknown {
			s.State = to
		}
		out[i] = s
	}
	return out
}

// Restrict keeps segs inside the schedule's spans (sorted, not
// overlapping); the time outside becomes OutsideSchedule. A nil schedule
// is 24x7: segs are returned unchanged.
func Restrict(segs []Segment, schedule []Span) []Segment {
	if schedule == nil {
		return segs
	}
	var out []Segment
	j := 0
	for _, s := range segs {
		at := s.From
		for at.Before(s.To) {
			for j < len(schedule) && !schedule[j].To.After(at) {
				j++
			}
			if j == len(schedule) || !schedule[j].From.Before(s.To) {
				out = append(out, Segment{From: at, To: s.To, State: OutsideSchedule})
				break
			}
			if schedule[j].From.After(at) {
				out = append(out, Segment{From: at, To: schedule[j].From, State: OutsideSchedule})
				at = schedule[j].From
			}
			end := minT(schedule[j].To, s.To)
			out = append(out, Segment{From: at, To: end, State: s.State, Degraded: s.Degraded})
			at = end
		}
	}
	return out
}

// Clip returns the parts of segs inside span.
func Clip(segs []Segment, span Span) []Segment {
	var out []Segment
	for _, s := range segs {
		from, to := maxT(s.From, span.From), minT(s.To, span.To)
		if to.After(from) {
			s.From, s.To = from, to
			out = append(out, s)
		}
	}
	return out
}

// SummariseEach totals segs over each of spans (sorted, not overlapping)
// in one pass: a day-by-day strip of a year is as cheap as the year.
func SummariseEach(segs []Segment, spans []Span) []Result {
	out := make([]Result, len(spans))
	i := 0
	for j, sp := range spans {
		out[j].Window = sp
		for i < len(segs) && !segs[i].To.After(sp.From) {
			i++
		}
		for k := i; k < len(segs) && segs[k].From.Before(sp.To); k++ {
			out[j].addState(segs[k].State, maxT(segs[k].From, sp.From), minT(segs[k].To, sp.To))
		}
	}
	return out
}

// mergeTimes merges two ascending lists.
func mergeTimes(a, b []time.Time) []time.Time {
	out := make([]time.Time, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if b[j].Before(a[i]) {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
