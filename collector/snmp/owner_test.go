package snmp

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
)

type countingWriter struct {
	mu      sync.Mutex
	results map[string]int
}

func (w *countingWriter) Append(labels.Labels, int64, float64) error { return nil }

func (w *countingWriter) ProbeResult(_ context.Context, p state.Probe, _ time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.results[p.Name]++
	return nil
}

// TestPollerPollsOnlyOwned: with an owner, only the devices it says are
// this collector's are polled, asked at every slot; told the owners
// changed, a device that moved here is polled at once, and one that
// moved away is polled once more at its next slot (the handover), then
// not again.
func TestPollerPollsOnlyOwned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := NewPoller([]Device{{Name: "a", Interval: time.Second, Modules: []string{"system"}},
			{Name: "b", Interval: time.Second, Modules: []string{"system"}}}, 4, slog.New(slog.DiscardHandler))
		p.dial = func(Target) (Conn, error) { return nil, errors.New("unreachable") }
		var mine atomic.Value
		mine.Store("a")
		p.SetOwner(func(d string) bool { return d == mine.Load().(string) })
		w := &countingWriter{results: map[string]int{}}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() { _ = p.Run(ctx, w); close(done) }()
		time.Sleep(10*time.Second + time.Millisecond)
		synctest.Wait()
		if got := p.Polled(); got["a"] != 10 || got["b"] != 0 {
			t.Errorf("polls after 10 intervals owning a: got %v, want a 10, b 0", got)
		}
		mine.Store("b")
		p.OwnersChanged()
		synctest.Wait()
		if got := p.Polled(); got["a"] != 10 || got["b"] != 1 {
			t.Errorf("polls right after b moved here and a away: got %v, want a 10, b 1 (at once)", got)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := p.Polled(); got["a"] != 11 || got["b"] != 11 {
			t.Errorf("polls 10 intervals after b moved here and a away: got %v, want a 11 (one handover poll), b 11", got)
		}
		cancel()
		<-done
	})
}
