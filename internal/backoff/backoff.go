// Package backoff spaces out retries: exponential delays from Min,
// doubling per consecutive failure up to Max, with jitter so that many
// clients (a fleet of agents, the collector's receivers) do not retry in
// step. It follows tailscale's util/backoff: the delay is computed, then
// slept through the context, and Reset starts over after a success. The
// agent's sender, the collector's forwarder and the alert dispatcher
// share it.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jitter says how a delay is randomised.
type Jitter int

// The jitter modes.
const (
	// Equal: half the delay, plus a random share of the other half
	// ([d/2, d]). Delays still grow, and retries spread. The default.
	Equal Jitter = iota
	// Full: a random share of the whole delay ([0, d]); spreads most,
	// may retry at once.
	Full
	// None: exactly the exponential delay (tests, stored schedules).
	None
)

// Clock makes timers; tests inject one that fires at once and records
// the delays asked for.
type Clock interface {
	// NewTimer returns a channel that receives once d has passed, and a
	// function that stops the timer.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type realClock struct{}

func (realClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// Backoff is the retry state of one loop. The zero value is not useful:
// set Min and Max (New does). A Backoff is not safe for concurrent use;
// each retrying goroutine owns its own.
type Backoff struct {
	// Min is the first delay; Max caps every delay (before jitter).
	Min, Max time.Duration
	Jitter   Jitter
	// Clock sleeps (nil: real timers). Rand returns a number in [0, n)
	// (nil: math/rand/v2).
	Clock Clock
	Rand  func(n int64) int64

	failures int
}

// New returns a Backoff from min doubling to max, with Equal jitter.
func New(min, max time.Duration) *Backoff {
	return &Backoff{Min: min, Max: max}
}

// Delay is the delay after the attempt-th consecutive failure (0 for the
// first): Min·2^attempt capped at Max, jittered. It keeps no state, so a
// caller that stores its attempt count (the notification outbox) uses
// it directly.
func (b *Backoff) Delay(attempt int) time.Duration {
	d := b.Min
	if d <= 0 {
		return 0
	}
	for range max(attempt, 0) {
		if d >= b.Max || d > b.Max/2 {
			d = b.Max
			break
		}
		d *= 2
	}
	d = min(d, b.Max)
	if d <= 0 {
		return 0
	}
	rnd := b.Rand
	if rnd == nil {
		rnd = rand.Int64N
	}
	switch b.Jitter {
	case Full:
		return time.Duration(rnd(int64(d) + 1))
	case None:
		return d
	default:
		return d/2 + time.Duration(rnd(int64(d/2)+1))
	}
}

// Next returns the delay before the next attempt and counts a failure.
func (b *Backoff) Next() time.Duration {
	d := b.Delay(b.failures)
	if b.failures < 64 {
		b.failures++
	}
	return d
}

// Failures is the number of failures counted since the last Reset.
func (b *Backoff) Failures() int { return b.failures }

// Reset starts over from Min: call it after a success.
func (b *Backoff) Reset() { b.failures = 0 }

// Sleep waits d, or until ctx is done; then it returns the context's
// cause. A non-positive d returns at once (nil unless ctx is done).
func (b *Backoff) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	clock := b.Clock
	if clock == nil {
		clock = realClock{}
	}
	c, stop := clock.NewTimer(d)
	defer stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-c:
		return nil
	}
}

// Wait sleeps the next delay (see Next and Sleep).
func (b *Backoff) Wait(ctx context.Context) error {
	return b.Sleep(ctx, b.Next())
}
