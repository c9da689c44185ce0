package availability

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

// randomHistory is a target's changes over a day, with collector gaps and
// maintenance, from a seeded generator (reproducible).
func randomHistory(r *rand.Rand, start time.Time) (state.State, []state.Change, []Span) {
	states := []state.State{state.Up, state.Down, state.Unknown, state.Maintenance, state.Shutdown}
	initial := states[r.IntN(len(states))]
	var changes []state.Change
	at := start.Add(-time.Hour)
	for at.Before(start.Add(25 * time.Hour)) {
		at = at.Add(time.Duration(1+r.IntN(7200)) * time.Second)
		changes = append(changes, state.Change{To: states[r.IntN(len(states))], At: at})
	}
	var gaps []Span
	for i := r.IntN(4); i > 0; i-- {
		g := start.Add(time.Duration(r.IntN(86400)) * time.Second)
		gaps = append(gaps, Span{g, g.Add(time.Duration(r.IntN(3600)) * time.Second)})
	}
	return initial, changes, gaps
}

// TestBreakdownScheduleAndStripProperties: for random histories (see also
// TestProperties), availability is 1 - down/eligible; the excluded time's
// reasons add up to it; a schedule never adds downtime and leaves exactly
// its complement outside; the parts of a day strip add up to the day.
func TestBreakdownScheduleAndStripProperties(t *testing.T) {
	start := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	day := Span{start, start.Add(24 * time.Hour)}
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		initial, changes, gaps := randomHistory(r, start)
		res := Compute(day, initial, changes, gaps)
		a := res.Availability()
		if res.Eligible() > 0 {
			if want := 1 - res.Down.Seconds()/res.Eligible().Seconds(); a-want > 1e-12 || want-a > 1e-12 {
				t.Fatalf("seed %d: availability %v, 1 - down/eligible = %v", seed, a, want)
			}
		}
		if sum := res.NoData + res.Planned + res.NotObserved + res.Outside; sum != res.Excluded {
			t.Fatalf("seed %d: excluded %v, its parts add to %v", seed, res.Excluded, sum)
		}
		// A service of one component, restricted to a random schedule,
		// never gains downtime, and its day strip adds up.
		segs := Timeline(day, initial, changes, gaps)
		sched := []Span{{start.Add(8 * time.Hour), start.Add(12 * time.Hour)}, {start.Add(13 * time.Hour), start.Add(17 * time.Hour)}}
		restricted, _ := Summarise(day, Restrict(segs, sched))
		if restricted.Down > res.Down || restricted.Outside != 16*time.Hour {
			t.Fatalf("seed %d: restricted down %v (whole %v), outside %v (want 16h)", seed, restricted.Down, res.Down, restricted.Outside)
		}
		var parts time.Duration
		for h := 0; h < 24; h += 6 {
			span := Span{start.Add(time.Duration(h) * time.Hour), start.Add(time.Duration(h+6) * time.Hour)}
			p, _ := Summarise(span, Clip(segs, span))
			parts += p.Down
		}
		if parts != res.Down {
			t.Fatalf("seed %d: four quarters' downtime %v, the day's %v", seed, parts, res.Down)
		}
	}
}
