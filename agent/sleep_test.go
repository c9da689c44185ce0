package agent

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ninesmon/nines/agent/config"
	"github.com/ninesmon/nines/agent/power"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// fakePusher records what the agent asks of its sender, in order.
type fakePusher struct {
	mu     sync.Mutex
	events []string
}

func (f *fakePusher) add(ev string) {
	f.mu.Lock()
	f.events = append(f.events, ev)
	f.mu.Unlock()
}

// since returns the events from index i on.
func (f *fakePusher) since(i int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events[i:])
}

func (f *fakePusher) Enqueue([]byte) error { f.add("enqueue"); return nil }
func (f *fakePusher) Run(ctx context.Context) error {
	f.add("run")
	<-ctx.Done()
	f.add("stop")
	return nil
}
func (f *fakePusher) Flush(context.Context) int { f.add("flush"); return 0 }
func (f *fakePusher) Goodbye(ctx context.Context) error {
	if _, ok := ctx.Deadline(); ok {
		f.add("goodbye")
	} else {
		f.add("goodbye without a deadline")
	}
	return nil
}
func (f *fakePusher) Update([]string, yamlconf.Secret, map[string]string, time.Duration) {}
func (f *fakePusher) Pending() int                                                       { return 0 }

// TestSleepAndWake, on synctest's fake clock: before a sleep the agent
// stops its sender, flushes the queue and says goodbye, in that order;
// while asleep no collection is queued however long it lasts; on wake
// the sender runs again and a collection is queued at once, not an
// interval later.
func TestSleepAndWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg, err := config.Load("agent.yml", []byte(`
interval: 10s
collectors: {disable: [diskstats, filesystem, hwmon, netdev, processes]}
push: {urls: ["http://127.0.0.1:9/api/v1/push"], token: test-token, spool_dir: ""}
`))
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(cfg, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		fp := &fakePusher{}
		a.sender = fp
		ctx, cancel := context.WithCancel(t.Context())
		a.startSending()
		done := make(chan error, 1)
		go func() { done <- a.loop(ctx, nil) }()

		time.Sleep(25 * time.Second) // collections at 0, 10 and 20 s
		synctest.Wait()
		awake := fp.since(0)
		if n := count(awake, "enqueue"); n != 3 || count(awake, "run") != 1 || len(awake) != 4 {
			t.Fatalf("awake for 25 s at a 10 s interval: got %q, want the sender running and 3 batches", awake)
		}

		sctx, scancel := context.WithTimeout(ctx, power.SleepBudget)
		a.Sleep(sctx)
		scancel()
		if got, want := fp.since(len(awake)), []string{"stop", "flush", "goodbye"}; !slices.Equal(got, want) {
			t.Fatalf("going to sleep: got %q, want %q", got, want)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		asleep := len(awake) + 3
		if got := fp.since(asleep); len(got) != 0 {
			t.Fatalf("asleep for an hour: got %d events (%q...), want none", len(got), got[:min(len(got), 3)])
		}

		woke := time.Now()
		a.Wake()
		synctest.Wait()
		got := fp.since(asleep)
		slices.Sort(got) // the sender and the loop race; both must be there
		if want := []string{"enqueue", "run"}; !slices.Equal(got, want) {
			t.Errorf("on wake: got %q, want %q", got, want)
		}
		if d := time.Since(woke); d != 0 {
			t.Errorf("the collection on wake came %s later, want at once", d)
		}

		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		a.pauseSending()
	})
}

func count(events []string, ev string) int {
	n := 0
	for _, e := range events {
		if e == ev {
			n++
		}
	}
	return n
}
