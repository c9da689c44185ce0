package availability

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

var t0 = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func ch(d time.Duration, to state.State) state.Change {
	return state.Change{Target: "t", At: at(d), To: to}
}

func TestCompute(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name               string
		window             Span
		initial            state.State
		changes            []state.Change
		gaps               []Span
		up, down, excluded time.Duration
	}{
		{"all up", Span{at(0), at(day)}, state.Up, nil, nil, day, 0, 0},
		{"one outage", Span{at(0), at(day)}, state.Up,
			[]state.Change{ch(time.Hour, state.Down), ch(time.Hour+43*time.Minute, state.Up)}, nil,
			day - 43*time.Minute, 43 * time.Minute, 0},
		{"outage across the window start", Span{at(time.Hour), at(2 * time.Hour)}, state.Up,
			[]state.Change{ch(30*time.Minute, state.Down), ch(70*time.Minute, state.Up)}, nil,
			50 * time.Minute, 10 * time.Minute, 0},
		{"collector gap inside an outage is not downtime", Span{at(0), at(time.Hour)}, state.Up,
			[]state.Change{ch(10*time.Minute, state.Down), ch(40*time.Minute, state.Up)},
			[]Span{{at(20 * time.Minute), at(30 * time.Minute)}},
			30 * time.Minute, 20 * time.Minute, 10 * time.Minute},
		{"overlapping gaps merge", Span{at(0), at(time.Hour)}, state.Up, nil,
			[]Span{{at(0), at(20 * time.Minute)}, {at(10 * time.Minute), at(30 * time.Minute)}},
			30 * time.Minute, 0, 30 * time.Minute},
		{"shutdown and unknown excluded", Span{at(0), at(time.Hour)}, state.Unknown,
			[]state.Change{ch(15*time.Minute, state.Up), ch(30*time.Minute, state.Shutdown), ch(45*time.Minute, state.Up)}, nil,
			30 * time.Minute, 0, 30 * time.Minute},
		{"to the millisecond", Span{at(0), at(time.Second)}, state.Up,
			[]state.Change{ch(250*time.Millisecond, state.Down), ch(251*time.Millisecond, state.Up)}, nil,
			999 * time.Millisecond, time.Millisecond, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(tc.window, tc.initial, tc.changes, tc.gaps)
			if r.Up != tc.up || r.Down != tc.down || r.Excluded != tc.excluded {
				t.Errorf("got up %s down %s excluded %s; want %s %s %s", r.Up, r.Down, r.Excluded, tc.up, tc.down, tc.excluded)
			}
		})
	}
}

// TestObjectiveBoundary: 99.9 % over 30 days allows 43 min 12 s.
func TestObjectiveBoundary(t *testing.T) {
	w := Span{at(0), at(30 * 24 * time.Hour)}
	for _, tc := range []struct {
		down time.Duration
		met  bool
	}{
		{43 * time.Minute, true},
		{43*time.Minute + 12*time.Second, true},
		{44 * time.Minute, false},
	} {
		r := Compute(w, state.Up, []state.Change{ch(time.Hour, state.Down), ch(time.Hour+tc.down, state.Up)}, nil)
		if got := r.Availability() >= 0.999; got != tc.met {
			t.Errorf("%s down: availability %.6f, met %v, want %v", tc.down, r.Availability(), got, tc.met)
		}
	}
}

// TestProperties: for random histories, up+down+excluded is the window,
// the ratio is in [0, 1], and splitting the window adds up.
func TestProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	states := []state.State{state.Up, state.Down, state.Unknown, state.Shutdown, state.Maintenance}
	for range 500 {
		var changes []state.Change
		d := time.Duration(0)
		for range r.IntN(20) {
			d += time.Duration(r.IntN(3600)) * time.Second
			changes = append(changes, ch(d, states[r.IntN(len(states))]))
		}
		var gaps []Span
		for range r.IntN(3) {
			s := time.Duration(r.IntN(20*3600)) * time.Second
			gaps = append(gaps, Span{at(s), at(s + time.Duration(r.IntN(7200))*time.Second)})
		}
		w := Span{at(0), at(24 * time.Hour)}
		whole := Compute(w, state.Up, changes, gaps)
		if whole.Up+whole.Down+whole.Excluded != 24*time.Hour {
			t.Fatalf("parts %s+%s+%s do not add up to the window", whole.Up, whole.Down, whole.Excluded)
		}
		if e := whole.ErrorRatio(); e < 0 || e > 1 {
			t.Fatalf("error ratio %v out of [0,1]", e)
		}
		mid := at(time.Duration(r.IntN(24*3600)) * time.Second)
		// The state at mid is the last change before it.
		initial := state.Up
		for _, c := range changes {
			if c.At.Before(mid) {
				initial = c.To
			}
		}
		a := Compute(Span{w.From, mid}, state.Up, changes, gaps)
		b := Compute(Span{mid, w.To}, initial, changes, gaps)
		if a.Down+b.Down != whole.Down || a.Up+b.Up != whole.Up {
			t.Fatalf("split at %s: down %s+%s != %s", mid.Sub(t0), a.Down, b.Down, whole.Down)
		}
	}
}
