package ingest

import (
	"context"
	"math/bits"
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

// reservation is what one request holds of the budget, and the body
// buffers it took from bodyBufs; release it once the body is no longer
// needed.
type reservation struct {
	b    *budget
	n    int64
	bufs [][]byte // returned to bodyBufs at release
}

// hold keeps b (from bodyBufs) until release.
func (r *reservation) hold(b []byte) { r.bufs = append(r.bufs, b) }

func (r *reservation) grow(ctx context.Context, n int64, wait time.Duration) bool {
	if !r.b.acquire(ctx, n, wait) {
		return false
	}
	r.n += n
	return true
}

func (r *reservation) release() {
	for _, b := range r.bufs {
		bodyBufs.put(b)
	}
	r.bufs = nil
	r.b.release(r.n)
	r.n = 0
}

// bodyBufs are the body buffers of requests done, for the next: a
// 5,000-line /write body costs a megabyte, which without reuse is most
// of what ingest allocates, and what makes the garbage collector run.
var bodyBufs bufPool

// Buffers are pooled in size classes from 1<<minBufShift to
// 1<<maxBufShift bytes, four per power of two (8 KiB, 10 KiB, 12 KiB,
// 14 KiB, 16 KiB, 20 KiB...), so a buffer holds at most a quarter more
// than asked for (the budget counts what it holds); larger ones are
// allocated as needed and not kept.
const (
	minBufShift = 13 // budgetChunk
	maxBufShift = 24 // 16 MiB
)

// bufPool keeps byte slices in size classes. Its methods are safe for
// concurrent use. A buffer put back must no longer be used, nor anything
// that views its bytes.
type bufPool struct {
	classes [(maxBufShift-minBufShift)*4 + 1]sync.Pool
}

// class returns the size class of n bytes: its index and capacity, or
// ok false beyond the largest.
func (p *bufPool) class(n int64) (i int, size int64, ok bool) {
	if n > 1<<maxBufShift {
		return 0, n, false
	}
	if n <= 1<<minBufShift {
		return 0, 1 << minBufShift, true
	}
	sh := bits.Len64(uint64(n-1)) - 1 // 1<<sh < n <= 2<<sh
	base, step := int64(1)<<sh, int64(1)<<(sh-2)
	k := (n - base + step - 1) / step // 1 to 4
	if k == 4 {
		sh, k, base = sh+1, 0, base*2
		step *= 2
	}
	return (sh-minBufShift)*4 + int(k), base + k*step, true
}

// size returns the capacity get(n) gives.
func (p *bufPool) size(n int64) int64 {
	_, size, _ := p.class(n)
	return size
}

// get returns an empty buffer of capacity p.size(n).
func (p *bufPool) get(n int64) []byte {
	i, size, ok := p.class(n)
	if ok {
		if b, _ := p.classes[i].Get().(*[]byte); b != nil {
			return (*b)[:0]
		}
	}
	return make([]byte, 0, size)
}

// put keeps b for a later get if its capacity is that of a class.
func (p *bufPool) put(b []byte) {
	if i, size, ok := p.class(int64(cap(b))); ok && size == int64(cap(b)) {
		b = b[:0]
		p.classes[i].Put(&b)
	}
}
