// Package schedule runs a periodic job the way probes want it: the first
// run at a random offset in the first half of the interval (so a fleet of
// jobs spreads out), then on the interval; a run that overruns makes the
// runs it covered skipped and reported, never stacked.
package schedule

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Every runs job on interval until ctx is done. skipped, if not nil, is
// told how many runs an overrun cost.
func Every(ctx context.Context, interval time.Duration, job func(ctx context.Context), skipped func(n int64)) {
	first := time.Duration(rand.Int64N(int64(interval)/2 + 1))
	t := time.NewTimer(first)
	defer t.Stop()
	next := time.Now().Add(first)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		job(ctx)
		if ctx.Err() != nil {
			return
		}
		next = next.Add(interval)
		if now := time.Now(); now.After(next) {
			missed := now.Sub(next)/interval + 1
			if skipped != nil {
				skipped(int64(missed))
			}
			next = next.Add(missed * interval)
		}
		t.Reset(time.Until(next))
	}
}

// Group runs job once per item, each in its own goroutine, until ctx is
// done; whenever changed fires, it stops them all and starts again on the
// items current returns then (a reload). It returns when ctx is done and
// every job has returned.
func Group[T any](ctx context.Context, changed <-chan struct{}, current func() []T, job func(ctx context.Context, item *T)) {
	for {
		items := current()
		runCtx, cancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for i := range items {
			wg.Add(1)
			go func(it *T) {
				defer wg.Done()
				job(runCtx, it)
			}(&items[i])
		}
		select {
		case <-ctx.Done():
			cancel()
			wg.Wait()
			return
		case <-changed:
			cancel()
			wg.Wait()
		}
	}
}
