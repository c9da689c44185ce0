// Package availability computes how long targets were up, down or not
// observed over a time window, exactly to the millisecond, from the
// durable state history. Time the collector itself was not observing, and
// time a target was in maintenance, shut down on purpose or never
// reported, is not eligible: it counts neither as up nor as down.
package availability

import (
	"sort"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

// Span is a half-open time interval [From, To).
type Span struct {
	From, To time.Time
}

// Pseudo-states of timelines, beside the targets' own.
const (
	// NotObserved is time the collector itself was not running: never
	// downtime, whatever a no-data policy says.
	NotObserved state.State = "not_observed"
	// OutsideSchedule is time outside a service's schedule.
	OutsideSchedule state.State = "outside_schedule"
	// Absent is time before a target's first recorded state: it was not
	// yet there, so it is no component of a service then (a host joining
	// a service does not turn the service's past into no-data time). For
	// the target's own figures it counts as no data.
	Absent state.State = "absent"
)

// Result is the breakdown of one window.
type Result struct {
	Window   Span
	Up       time.Duration
	Down     time.Duration
	Excluded time.Duration // everything below: none of it counts
	// The excluded time by reason.
	NoData      time.Duration // unknown: no data, never reported
	Planned     time.Duration // maintenance windows and announced shutdowns
	NotObserved time.Duration // the collector was not running
	Outside     time.Duration // outside the schedule
}

// Eligible is the time that counts: up plus down.
func (r Result) Eligible() time.Duration { return r.Up + r.Down }

// ErrorRatio is down / eligible; 0 when nothing was eligible.
func (r Result) ErrorRatio() float64 {
	if r.Eligible() <= 0 {
		return 0
	}
	return r.Down.Seconds() / r.Eligible().Seconds()
}

// Availability is up / eligible; 1 when nothing was eligible.
func (r Result) Availability() float64 { return 1 - r.ErrorRatio() }

// Compute breaks window down for one target. initial is the target's state
// at window.From (its last change before it, or Unknown), changes are its
// changes within the window in time order, and gaps are spans in which the
// collector was not observing.
func Compute(window Span, initial state.State, changes []state.Change, gaps []Span) Result {
	res, _ := Summarise(window, Timeline(window, initial, changes, gaps))
	return res
}

func (r *Result) addState(s state.State, from, to time.Time) {
	d := to.Sub(from)
	if d <= 0 {
		return
	}
	switch s {
	case state.Up:
		r.Up += d
		return
	case state.Down:
		r.Down += d
		return
	case state.Maintenance, state.Shutdown:
		r.Planned += d
	case NotObserved:
		r.NotObserved += d
	case OutsideSchedule:
		r.Outside += d
	case Absent:
		r.NoData += d
	default:
		r.NoData += d
	}
	r.Excluded += d
}

// clip returns the parts of gaps inside w, sorted and merged.
func clip(gaps []Span, w Span) []Span {
	var out []Span
	for _, g := range gaps {
		from, to := maxT(g.From, w.From), minT(g.To, w.To)
		if to.After(from) {
			out = append(out, Span{from, to})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	merged := out[:0]
	for _, g := range out {
		if n := len(merged); n > 0 && !g.From.After(merged[n-1].To) {
			merged[n-1].To = maxT(merged[n-1].To, g.To)
			continue
		}
		merged = append(merged, g)
	}
	return merged
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
