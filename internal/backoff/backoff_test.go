package backoff

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeClock fires every timer at once and records the delays asked for;
// with hang set its timers never fire.
type fakeClock struct {
	slept []time.Duration
	hang  bool
}

func (c *fakeClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.slept = append(c.slept, d)
	ch := make(chan time.Time, 1)
	if !c.hang {
		ch <- time.Time{}
	}
	return ch, func() bool { return true }
}

func TestDelay(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // the largest value rand may return
	zero := func(int64) int64 { return 0 }
	for _, tc := range []struct {
		name    string
		jitter  Jitter
		rand    func(int64) int64
		attempt int
		want    time.Duration
	}{
		{"first, no jitter", None, nil, 0, time.Second},
		{"doubles", None, nil, 3, 8 * time.Second},
		{"capped", None, nil, 10, 30 * time.Second},
		{"no overflow far past the cap", None, nil, 1000, 30 * time.Second},
		{"negative attempt is the first", None, nil, -1, time.Second},
		{"equal jitter low", Equal, zero, 2, 2 * time.Second},
		{"equal jitter high", Equal, top, 2, 4 * time.Second},
		{"full jitter low", Full, zero, 2, 0},
		{"full jitter high", Full, top, 2, 4 * time.Second},
		{"full jitter capped", Full, top, 20, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &Backoff{Min: time.Second, Max: 30 * time.Second, Jitter: tc.jitter, Rand: tc.rand}
			if got := b.Delay(tc.attempt); got != tc.want {
				t.Errorf("Delay(%d): got %v, want %v", tc.attempt, got, tc.want)
			}
		})
	}
}

// TestJitterBounds: with the real random source every delay stays in its
// mode's range.
func TestJitterBounds(t *testing.T) {
	for _, j := range []Jitter{Equal, Full} {
		b := &Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second, Jitter: j}
		for attempt := range 12 {
			d := min(100*time.Millisecond<<attempt, 5*time.Second)
			lo := d / 2
			if j == Full {
				lo = 0
			}
			for range 50 {
				if got := b.Delay(attempt); got < lo || got > d {
					t.Fatalf("jitter %d attempt %d: %v outside [%v, %v]", j, attempt, got, lo, d)
				}
			}
		}
	}
}

func TestWaitGrowsAndResets(t *testing.T) {
	clock := &fakeClock{}
	b := &Backoff{Min: time.Second, Max: 4 * time.Second, Jitter: None, Clock: clock}
	ctx := context.Background()
	for range 4 {
		if err := b.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if b.Failures() != 4 {
		t.Errorf("failures: got %d, want 4", b.Failures())
	}
	b.Reset()
	if err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, time.Second}
	if len(clock.slept) != len(want) {
		t.Fatalf("slept %v, want %v", clock.slept, want)
	}
	for i := range want {
		if clock.slept[i] != want[i] {
			t.Errorf("sleep %d: got %v, want %v", i, clock.slept[i], want[i])
		}
	}
}

// TestSleepEndsWithContext: a cancelled context ends the sleep with its
// cause, and a done context ends even a zero sleep.
func TestSleepEndsWithContext(t *testing.T) {
	b := &Backoff{Min: time.Second, Max: time.Minute, Clock: &fakeClock{hang: true}}
	cause := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(cause)
	if err := b.Sleep(ctx, time.Hour); !errors.Is(err, cause) {
		t.Errorf("sleep after cancel: got %v, want %v", err, cause)
	}
	if err := b.Sleep(ctx, 0); !errors.Is(err, cause) {
		t.Errorf("zero sleep after cancel: got %v, want %v", err, cause)
	}
	if err := b.Sleep(context.Background(), 0); err != nil {
		t.Errorf("zero sleep: got %v", err)
	}
}

// TestRealClock: without an injected clock, Sleep uses a real timer.
func TestRealClock(t *testing.T) {
	b := New(time.Millisecond, time.Millisecond)
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
