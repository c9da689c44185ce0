// Package schedule runs a periodic job the way probes want it: the first
// run at a random offset in the first half of the interval (so a fleet of
// jobs spreads out), then on the interval; a run that overruns makes the
// runs it covered skipped and reported, never stacked.
package schedule

import (
	"context"
	"math/rand/v2"
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
