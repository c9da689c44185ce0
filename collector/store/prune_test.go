package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

type fakePruner struct {
	mu    sync.Mutex
	calls []Retention
	done  chan struct{}
}

func (f *fakePruner) Prune(_ context.Context, _ time.Time, r Retention) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r)
	if len(f.calls) == 3 {
		close(f.done)
	}
	if len(f.calls) == 2 {
		return 0, errors.New("disk I/O error")
	}
	return 1, nil
}

// RunPrune prunes at once, then every interval (also after a failure),
// with the retention of the moment, and returns when ctx ends.
func TestRunPrune(t *testing.T) {
	f := &fakePruner{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var n time.Duration // the retention changes at each call, as on reload
	retention := func() Retention { n++; return Retention{Audit: n} }
	returned := make(chan struct{})
	go func() {
		RunPrune(ctx, f, time.Millisecond, retention, slog.New(slog.DiscardHandler))
		close(returned)
	}()
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		t.Fatal("not called three times")
	}
	cancel()
	<-returned
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.calls {
		if want := time.Duration(i + 1); r.Audit != want {
			t.Errorf("call %d: retention %v, want %v (the one of the moment)", i+1, r.Audit, want)
		}
	}
}
