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
	EveryOr(ctx, interval, nil, func(ctx context.Context, _ bool) { job(ctx) }, skipped)
}

// EveryOr is Every that also runs job(ctx, true) whenever the channel
// wake returns is closed (a Waker's C), between its slots and without
// moving them; the runs on the interval are job(ctx, false). wake may
// be nil.
func EveryOr(ctx context.Context, interval time.Duration, wake func() <-chan struct{}, job func(ctx context.Context, woken bool), skipped func(n int64)) {
	first := time.Duration(rand.Int64N(int64(interval)/2 + 1))
	t := time.NewTimer(first)
	defer t.Stop()
	next := time.Now().Add(first)
	for {
		var w <-chan struct{}
		if wake != nil {
			w = wake()
		}
		woken := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-w:
			woken = true
		}
		job(ctx, woken)
		if ctx.Err() != nil {
			return
		}
		if !woken {
			next = next.Add(interval)
		}
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

// Waker wakes every EveryOr that waits on its C at once. The zero Waker
// is ready; it is safe for concurrent use.
type Waker struct {
	mu sync.Mutex
	ch chan struct{}
}

// C returns a channel closed at the next Wake.
func (w *Waker) C() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// Wake closes the channel C returned, and C returns a new one.
func (w *Waker) Wake() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch != nil {
		close(w.ch)
	}
	w.ch = make(chan struct{})
}

// Handover says, at each slot or wake of a probe whose owner can
// change (collectors sharing the probing: collector/shard), whether to
// probe now: at a slot while it is this collector's; at a wake when it
// just became this collector's (so it waits no slot after its previous
// owner left); and once more at the first slot after it moved away (so
// the new owner's first probe, within its first half interval, comes
// within an interval of the last one here). A zero Handover is a probe
// not owned yet; one Handover per probe loop, used from its goroutine.
type Handover struct{ owned bool }

// Probe reports whether to probe now; mine is whether the probe is this
// collector's now, woken whether this is a wake rather than a slot.
func (h *Handover) Probe(mine, woken bool) bool {
	if woken {
		if !mine || h.owned {
			return false
		}
		h.owned = true
		return true
	}
	handover := h.owned && !mine
	h.owned = mine
	return mine || handover
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
