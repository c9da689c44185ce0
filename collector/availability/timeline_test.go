package availability

import (
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

func seg(from, to time.Duration, s state.State) Segment {
	return Segment{From: at(from), To: at(to), State: s}
}

func TestCombine(t *testing.T) {
	m := time.Minute
	w := Span{at(0), at(60 * m)}
	// Two redundant links: a down 10-30, b down 20-40 (overlap 20-30).
	a := []Segment{seg(0, 10*m, state.Up), seg(10*m, 30*m, state.Down), seg(30*m, 60*m, state.Up)}
	b := []Segment{seg(0, 20*m, state.Up), seg(20*m, 40*m, state.Down), seg(40*m, 60*m, state.Up)}
	c := []Segment{seg(0, 60*m, state.Up)}
	tests := []struct {
		name           string
		mode           Mode
		comps          [][]Segment
		down, degraded time.Duration
		excluded       time.Duration
	}{
		{"all: down whenever one is", Mode{Kind: "all"}, [][]Segment{a, b}, 30 * m, 0, 0},
		{"any: down only when both are", Mode{Kind: "any"}, [][]Segment{a, b}, 10 * m, 20 * m, 0},
		{"2 of 3", Mode{Kind: "k_of_n", K: 2}, [][]Segment{a, b, c}, 10 * m, 20 * m, 0},
		{"unknown component that could matter", Mode{Kind: "all"}, [][]Segment{c, {seg(0, 30*m, state.Up), seg(30*m, 60*m, state.Unknown)}}, 0, 0, 30 * m},
		{"unknown component that cannot change the answer", Mode{Kind: "all"}, [][]Segment{a, {seg(0, 60*m, state.Unknown)}}, 20 * m, 0, 40 * m},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, degraded := Summarise(w, Combine(w, tc.mode, tc.comps))
			if res.Down != tc.down || degraded != tc.degraded || res.Excluded != tc.excluded {
				t.Errorf("got down %s degraded %s excluded %s; want %s %s %s", res.Down, degraded, res.Excluded, tc.down, tc.degraded, tc.excluded)
			}
		})
	}
}

// TestTimelineMatchesCompute: summarising a target's timeline gives what
// Compute gives.
func TestTimelineMatchesCompute(t *testing.T) {
	w := Span{at(0), at(time.Hour)}
	changes := []state.Change{ch(10*time.Minute, state.Down), ch(40*time.Minute, state.Up)}
	gaps := []Span{{at(20 * time.Minute), at(30 * time.Minute)}}
	got, _ := Summarise(w, Timeline(w, state.Up, changes, gaps))
	want := Compute(w, state.Up, changes, gaps)
	if got != want {
		t.Errorf("timeline %+v, compute %+v", got, want)
	}
}

// TestDecideLeavesAbsentOut: a component not there yet counts for no mode,
// neither as no data nor toward K.
func TestDecideLeavesAbsentOut(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		in   []state.State
		want state.State
	}{
		{Mode{Kind: "all"}, []state.State{state.Up, Absent}, state.Up},
		{Mode{Kind: "all"}, []state.State{state.Up, state.Unknown}, state.Unknown},
		{Mode{Kind: "any"}, []state.State{state.Down, Absent}, state.Down},
		{Mode{Kind: "k_of_n", K: 2}, []state.State{state.Up, state.Down, Absent}, state.Down},
		{Mode{Kind: "k_of_n", K: 2}, []state.State{state.Up, state.Down, state.Unknown}, state.Unknown},
		{Mode{Kind: "all"}, []state.State{Absent, Absent}, state.Unknown},
	} {
		if got, _ := tc.mode.Decide(tc.in); got != tc.want {
			t.Errorf("%+v of %v: got %s, want %s", tc.mode, tc.in, got, tc.want)
		}
	}
}
