package schedule

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestEverySkipsOverruns: on a fake clock, the first run comes within
// the first half interval, later runs on the interval, and a run that
// overruns three slots makes exactly those skipped, not stacked.
func TestEverySkipsOverruns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 20 * time.Millisecond
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		var runs []time.Duration
		var skipped []int64
		go Every(ctx, interval, func(context.Context) {
			runs = append(runs, time.Since(start))
			if len(runs) == 2 {
				time.Sleep(70 * time.Millisecond) // to start+first+90ms: covers the slots at 40, 60 and 80
			}
			if len(runs) == 4 {
				cancel()
			}
		}, func(n int64) { skipped = append(skipped, n) })
		<-ctx.Done()
		synctest.Wait() // Every has returned
		if len(runs) != 4 {
			t.Fatalf("runs: got %v, want 4", runs)
		}
		first := runs[0]
		if first < 0 || first > interval/2 {
			t.Errorf("first run at %s, want within the first half interval", first)
		}
		want := []time.Duration{first, first + 20*time.Millisecond, first + 100*time.Millisecond, first + 120*time.Millisecond}
		if !slices.Equal(runs, want) {
			t.Errorf("runs at %v, want %v", runs, want)
		}
		if !slices.Equal(skipped, []int64{3}) {
			t.Errorf("skipped: got %v, want [3]", skipped)
		}
	})
}

// TestEveryStopsWithContext: Every returns when ctx is done, also while
// waiting for the first run.
func TestEveryStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			Every(ctx, time.Hour, func(context.Context) { t.Error("ran before its first slot") }, nil)
			close(done)
		}()
		synctest.Wait()
		cancel()
		<-done
	})
}

// TestGroupRestartsOnChange: each item's job runs until a change, then
// every job is stopped (and waited for) before the current items start.
func TestGroupRestartsOnChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		changed := make(chan struct{})
		var mu sync.Mutex
		items := []string{"a", "b"}
		var started, stopped []string
		done := make(chan struct{})
		go func() {
			Group(ctx, changed, func() []string {
				mu.Lock()
				defer mu.Unlock()
				return slices.Clone(items)
			}, func(ctx context.Context, it *string) {
				mu.Lock()
				started = append(started, *it)
				mu.Unlock()
				<-ctx.Done()
				mu.Lock()
				stopped = append(stopped, *it)
				mu.Unlock()
			})
			close(done)
		}()
		synctest.Wait()
		mu.Lock()
		items = []string{"c"}
		mu.Unlock()
		changed <- struct{}{}
		synctest.Wait()
		mu.Lock()
		slices.Sort(started[:2])
		slices.Sort(stopped)
		if !slices.Equal(started, []string{"a", "b", "c"}) || !slices.Equal(stopped, []string{"a", "b"}) {
			t.Errorf("after a change: started %v, stopped %v; want a, b then c, and a, b stopped", started, stopped)
		}
		mu.Unlock()
		cancel()
		<-done
		if !slices.Equal(stopped[2:], []string{"c"}) {
			t.Errorf("after cancel: stopped %v, want c last", stopped)
		}
	})
}

// TestEveryOrWakes: a wake runs the job at once, between slots, and the
// slots stay where they were.
func TestEveryOrWakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = time.Second
		ctx, cancel := context.WithCancel(t.Context())
		start := time.Now()
		var w Waker
		type run struct {
			at    time.Duration
			woken bool
		}
		var runs []run
		done := make(chan struct{})
		go func() {
			EveryOr(ctx, interval, w.C, func(_ context.Context, woken bool) {
				runs = append(runs, run{time.Since(start), woken})
			}, nil)
			close(done)
		}()
		time.Sleep(1700 * time.Millisecond)
		w.Wake()
		time.Sleep(1300 * time.Millisecond)
		cancel()
		<-done
		if len(runs) != 4 {
			t.Fatalf("runs: got %v, want 4 (3 slots, 1 wake)", runs)
		}
		first := runs[0].at
		want := []run{{first, false}, {first + interval, false}, {1700 * time.Millisecond, true}, {first + 2*interval, false}}
		if first > interval/2 {
			t.Errorf("first run at %s", first)
		}
		if first+interval > 1700*time.Millisecond { // the wake falls before the second slot
			want[1], want[2] = want[2], want[1]
		}
		if !slices.Equal(runs, want) {
			t.Errorf("runs: got %v, want %v", runs, want)
		}
	})
}

// TestHandover: when a probe whose owner changes is probed.
func TestHandover(t *testing.T) {
	type step struct {
		mine, woken, want bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"owned from the start", []step{{true, false, true}, {true, false, true}}},
		{"never owned", []step{{false, false, false}, {false, true, false}, {false, false, false}}},
		{"gained between slots: probed at once, then on the slots", []step{{false, false, false}, {true, true, true}, {true, false, true}}},
		{"a wake while owned probes nothing", []step{{true, false, true}, {true, true, false}, {true, false, true}}},
		{"lost: one more probe at the next slot, then none", []step{{true, false, true}, {false, true, false}, {false, false, true}, {false, false, false}}},
		{"lost and gained back before the slot", []step{{true, false, true}, {false, true, false}, {true, true, false}, {true, false, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h Handover
			for i, s := range tc.steps {
				if got := h.Probe(s.mine, s.woken); got != s.want {
					t.Errorf("step %d (mine %v, woken %v): got %v, want %v", i, s.mine, s.woken, got, s.want)
				}
			}
		})
	}
}
