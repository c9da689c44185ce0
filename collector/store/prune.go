package store

import (
	"context"
	"log/slog"
	"time"
)

// Pruner is the part of Store that RunPrune needs.
type Pruner interface {
	Prune(ctx context.Context, now time.Time, r Retention) (int64, error)
}

// RunPrune calls s.Prune at once and then every interval until ctx ends,
// with the retention current at each call (it follows reloads). A failure
// is logged and retried at the next interval; the rows pruned are logged
// at Info when there were any.
func RunPrune(ctx context.Context, s Pruner, interval time.Duration, retention func() Retention, logger *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := s.Prune(ctx, start, retention())
		switch {
		case err != nil && ctx.Err() == nil:
			logger.Error("prune the store", "err", err)
		case n > 0:
			logger.Info("pruned the store", "rows", n, "duration_seconds", time.Since(start).Seconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
