package servicelevel

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/state"
)

// blockingHistory answers like the store does for a client that went
// away: each read waits until its context ends, then fails with it.
type blockingHistory struct{ started chan string }

func (h blockingHistory) HistorySince(ctx context.Context, target string, _, _ time.Time) (state.State, []state.Change, error) {
	h.started <- target
	<-ctx.Done()
	return state.Unknown, nil, ctx.Err()
}

// TestPrefetchStopsWithTheClient: when the request's context ends (the
// client of /api/v1/reports/sla disconnected), prefetch returns and
// leaves no worker behind, blocked on a result nobody reads.
func TestPrefetchStopsWithTheClient(t *testing.T) {
	before := runtime.NumGoroutine()
	h := blockingHistory{started: make(chan string, 16)}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	tl := &timelines{history: h, window: availability.Span{From: now.Add(-time.Hour), To: now}, cache: map[string][]availability.Segment{}}
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("t%d", i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- tl.prefetch(ctx, names, 4) }()
	for range 4 {
		<-h.started // every worker is reading
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("prefetch after the client left: got %v, want context.Canceled", err)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines left behind by prefetch:\n%s", n-before, buf[:runtime.Stack(buf, true)])
	}
}
