package model

import (
	"maps"
	"slices"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

// The oracle says, from the facts alone (what reached the collector, when
// it ran, the configured windows), what the durable state history of each
// host must be. It follows README's semantics, step by step on the
// collector's ticks, and nothing of the tracker's code:
//   - a push makes the host UP at its arrival (nothing changes inside a
//     maintenance window); a goodbye makes it SHUTDOWN;
//   - an UP host silent for more than downAfter intervals is DOWN from
//     its last push plus one interval; never before the startup grace
//     after a collector start, which counts as a push (the time the
//     collector was away is not the host's downtime);
//   - a window makes it MAINTENANCE from the window's start; at its end
//     the host is UP if it reported within downAfter intervals, SHUTDOWN
//     if its last word was a goodbye, and otherwise UNKNOWN until it
//     reports, or DOWN from the window's end once its deadline (counted
//     from the window's end or its last push, whichever is later) passes;
//   - a change never dates back before the state it ends began;
//   - the collector observes from each start to its clean stop, or to its
//     last heartbeat when it was killed; the rest is not observed.

// change is an expected state change.
type change struct {
	To   state.State
	At   time.Time
	Seen time.Time // the tick at which the collector can know it
}

// hostModel is the oracle's view of one host.
type hostModel struct {
	changes []change
}

// episodes are the host's DOWN spans and the labels it had then.
type episode struct {
	From, To time.Time // To zero: still down
	Seen     time.Time // the tick the outage is detected (From is backdated)
	Labels   map[string]string
}

func oracle(s script, f facts, host string, end time.Time) *hostModel {
	m := &hostModel{}
	var (
		st        state.State // "" until the first push
		since     time.Time
		lastSeen  time.Time
		goodbye   bool
		waiting   time.Time // maintenance ended at, while UNKNOWN
		pushes    = f.pushes[host]
		goodbyes  = f.goodbyes[host]
		pi, gi    int
		windowsOf []maintenance
		now       time.Time // the tick being played
	)
	for _, w := range s.Windows {
		if w.Host == host {
			windowsOf = append(windowsOf, w)
		}
	}
	emit := func(to state.State, at time.Time) {
		if st == to {
			return
		}
		if at.Before(since) {
			at = since // history never goes back
		}
		st, since = to, at
		m.changes = append(m.changes, change{To: to, At: at, Seen: now})
	}
	covering := func(t time.Time) *maintenance {
		for i := range windowsOf {
			w := &windowsOf[i]
			if !t.Before(t0.Add(w.From)) && t.Before(t0.Add(w.To)) {
				return w
			}
		}
		return nil
	}
	// endedWindow is the end of the latest window that ended by t and not
	// before since (the window the host is leaving).
	endedWindow := func(t time.Time) (time.Time, bool) {
		var best time.Time
		for _, w := range windowsOf {
			e := t0.Add(w.To)
			if !e.After(t) && !e.Before(since) && e.After(best) {
				best = e
			}
		}
		return best, !best.IsZero()
	}
	for _, r := range f.runs {
		stopAt := r.Stop
		if stopAt.IsZero() {
			stopAt = end.Add(tick) // the last run goes on to the end
		}
		lastSeen = r.From
		for t := r.From; t.Before(stopAt); t = t.Add(tick) {
			now = t
			for ; gi < len(goodbyes) && !goodbyes[gi].After(t); gi++ {
				if st != "" {
					goodbye, waiting = true, time.Time{}
					emit(state.Shutdown, goodbyes[gi])
				}
			}
			for ; pi < len(pushes) && !pushes[pi].After(t); pi++ {
				lastSeen, goodbye = t, false
				if st == "" {
					st, since = state.Unknown, t
				}
				if covering(t) != nil || st == state.Maintenance {
					continue
				}
				waiting = time.Time{}
				emit(state.Up, t)
			}
			if st == "" {
				continue
			}
			// Maintenance windows.
			if w := covering(t); w != nil && st != state.Maintenance {
				at := t0.Add(w.From)
				if since.After(at) {
					at = since
				}
				waiting = time.Time{}
				emit(state.Maintenance, at)
			} else if w == nil && st == state.Maintenance {
				at, ok := endedWindow(t)
				if !ok {
					at = t
				}
				switch {
				case goodbye:
					emit(state.Shutdown, at)
				case t.Sub(lastSeen) <= downAfter*interval:
					emit(state.Up, at)
				default:
					emit(state.Unknown, at)
					waiting = at
				}
			}
			if t.Before(r.From.Add(grace)) {
				continue
			}
			// Deadlines.
			deadline := lastSeen.Add(downAfter * interval)
			if lastSeen.Equal(r.From) {
				deadline = deadline.Add(grace)
			}
			switch {
			case st == state.Up && t.After(deadline):
				emit(state.Down, lastSeen.Add(interval))
			case st == state.Unknown && !waiting.IsZero():
				base := lastSeen
				if waiting.After(base) {
					base = waiting
				}
				dl := base.Add(downAfter * interval)
				if base.Equal(r.From) {
					dl = dl.Add(grace)
				}
				if t.After(dl) {
					at := lastSeen.Add(interval)
					if waiting.After(at) {
						at = waiting
					}
					emit(state.Down, at)
				}
			}
		}
	}
	return m
}

// episodes lists the DOWN spans of the expected history with the labels
// the host's last push before each had.
func (m *hostModel) episodes(f facts, host string) []episode {
	var out []episode
	for i, c := range m.changes {
		if c.To != state.Down {
			continue
		}
		e := episode{From: c.At, Seen: c.Seen}
		if i+1 < len(m.changes) {
			e.To = m.changes[i+1].At
		}
		for j, p := range f.pushes[host] {
			if p.Before(c.At) {
				e.Labels = f.pushLabels[host][j]
			}
		}
		out = append(out, e)
	}
	return out
}

// labelSets counts the distinct label sets among episodes: each is one
// alert identity, so one incident (all of a script falls within the
// reopen window).
func labelSets(eps []episode) int {
	var seen []map[string]string
	for _, e := range eps {
		if !slices.ContainsFunc(seen, func(l map[string]string) bool { return maps.Equal(l, e.Labels) }) {
			seen = append(seen, e.Labels)
		}
	}
	return len(seen)
}

// figures are the availability of a window, in the buckets of
// availability.Result.
type figures struct {
	Up, Down, NoData, Planned, NotObserved time.Duration
}

// expectedFigures integrates the expected history over [from, to), with
// the time outside the collector's observed runs not observed.
func (m *hostModel) expectedFigures(f facts, from, to time.Time) figures {
	observed := func(t time.Time) bool {
		for _, r := range f.runs {
			end := r.Observed
			if end.IsZero() {
				end = to
			}
			if !t.Before(r.From) && t.Before(end) {
				return true
			}
		}
		return false
	}
	// Every instant where anything changes.
	points := []time.Time{from, to}
	for _, c := range m.changes {
		points = append(points, c.At)
	}
	for _, r := range f.runs {
		points = append(points, r.From, r.Observed)
	}
	slices.SortFunc(points, func(a, b time.Time) int { return a.Compare(b) })
	var out figures
	for i := 0; i+1 < len(points); i++ {
		a, b := points[i], points[i+1]
		if a.Before(from) || !b.After(a) || b.After(to) {
			continue
		}
		d := b.Sub(a)
		if !observed(a) {
			out.NotObserved += d
			continue
		}
		s := state.Unknown
		for _, c := range m.changes {
			if !c.At.After(a) {
				s = c.To
			}
		}
		switch s {
		case state.Up:
			out.Up += d
		case state.Down:
			out.Down += d
		case state.Maintenance, state.Shutdown:
			out.Planned += d
		default:
			out.NoData += d
		}
	}
	return out
}
