package collector

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/config"
)

// TestSlowSLADoesNotDelayStateChecks: while an SLA computation is stuck,
// the deadline checks (and the other duties) keep their schedule. The
// clock's timers fire at once and the SLA task blocks until released, so
// nothing here waits on real time.
func TestSlowSLADoesNotDelayStateChecks(t *testing.T) {
	cfg, err := config.Load("c.yml", []byte("storage: {path: "+filepath.Join(t.TempDir(), "n.db")+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.store.Close()
	slaStuck, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	checked := make(chan time.Time)
	tasks := c.tasks()
	found := 0
	for i := range tasks {
		switch run := tasks[i].run; tasks[i].name {
		case "sla":
			found++
			tasks[i].run = func(ctx context.Context, now time.Time) error {
				once.Do(func() { close(slaStuck) })
				select {
				case <-release:
				case <-ctx.Done():
				}
				return run(ctx, now)
			}
		case "states":
			found++
			tasks[i].run = func(ctx context.Context, now time.Time) error {
				err := run(ctx, now)
				select {
				case <-slaStuck: // count only the checks made while it is
					select {
					case checked <- now:
					case <-ctx.Done():
					}
				default:
				}
				return err
			}
		}
	}
	if found != 2 {
		t.Fatalf("found %d of the sla and states tasks", found)
	}
	clk := clock{
		now: func() time.Time { return time.Unix(1_800_000_000, 0) },
		after: func(time.Duration) <-chan time.Time {
			ch := make(chan time.Time, 1)
			ch <- time.Unix(1_800_000_000, 0)
			return ch
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		runTasks(ctx, tasks, clk, slog.New(slog.DiscardHandler))
		close(done)
	}()
	defer func() {
		cancel()
		<-done
	}()
	<-slaStuck
	for i := range 5 {
		select {
		case <-checked:
		case <-time.After(10 * time.Second): // a failure bound, not a synchronisation
			t.Fatalf("state check %d did not run while the SLA computation was stuck", i+1)
		}
	}
	close(release)
}

// TestAlignedTasks: the service level computations run at the multiples
// of their interval on the wall clock, with now at the multiple, so the
// two collectors of a pair compute at the same instants; other tasks
// pause their interval after each run.
func TestAlignedTasks(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 7, 500_000_000, time.UTC)
	sla := task{name: "sla", every: fixed(30 * time.Second)}
	if got := sla.wait(at); got != 22500*time.Millisecond {
		t.Errorf("sla waits %s after a run ending at :07.5, want 22.5s (to :30)", got)
	}
	states := task{name: "states", every: fixed(30 * time.Second)}
	if got := states.wait(at); got != 30*time.Second {
		t.Errorf("states waits %s, want 30s", got)
	}
	ran := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	clk := clock{now: func() time.Time { return at }, after: func(time.Duration) <-chan time.Time { return make(chan time.Time) }}
	done := make(chan struct{})
	go func() {
		runTasks(ctx, []task{{"sla", fixed(30 * time.Second), func(_ context.Context, now time.Time) error { ran <- now; return nil }}}, clk, slog.New(slog.DiscardHandler))
		close(done)
	}()
	if got, want := <-ran, time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("sla ran with now %s, want the multiple %s", got, want)
	}
	cancel()
	<-done
}
