package ingest

import (
	"context"
	"sync"
	"time"
)

// budget bounds the bytes of request bodies held in memory at once,
// counted after decompression, across every concurrent request: 64 gzip
// bombs each cut at MaxBodyBytes would otherwise hold 64 such bodies
// (issue 16 item 6). A request that needs more than is left waits a
// little for others to finish, then is refused (503, Retry-After).
// Methods are safe for concurrent use.
type budget struct {
	max int64

	mu   sync.Mutex
	used int64
	peak int64         // highest used, for tests and the gauge
	wake chan struct{} // closed (and replaced) when bytes are released
}

func newBudget(max int64) *budget { return &budget{max: max, wake: make(chan struct{})} }

// acquire takes n bytes, waiting at most wait for them (or until ctx is
// done); false means they were not taken.
func (b *budget) acquire(ctx context.Context, n int64, wait time.Duration) bool {
	var timeout <-chan time.Time
	for {
		b.mu.Lock()
		if b.used+n <= b.max {
			b.used += n
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return true
		}
		wake := b.wake
		b.mu.Unlock()
		if timeout == nil {
			if wait <= 0 {
				return false
			}
			t := time.NewTimer(wait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// release returns n bytes.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// inUse returns the bytes held now and the most ever held.
func (b *budget) inUse() (used, peak int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.peak
}

// reservation is what one request holds of the budget; release it once
// the body is no longer needed.
type reservation struct {
	b *budget
	n int64
}

func (r *reservation) grow(ctx context.Context, n int64, wait time.Duration) bool {
	if !r.b.acquire(ctx, n, wait) {
		return false
	}
	r.n += n
	return true
}

func (r *reservation) release() {
	r.b.release(r.n)
	r.n = 0
}
