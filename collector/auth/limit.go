package auth

import (
	"math"
	"sync"
	"time"
)

// LimitOptions bound failed logins. Each is a token bucket: Burst tries at
// once, refilled at Rate per second.
type LimitOptions struct {
	PerAddressBurst float64
	PerAddressRate  float64
	TotalBurst      float64
	TotalRate       float64
	// MaxAddresses bounds the addresses remembered; beyond it the fullest
	// buckets (addresses that did not fail lately) are forgotten.
	MaxAddresses int
}

// DefaultLimitOptions: 10 failed tries at once per address, then one
// every 6 s; 100 at once over all addresses, then 10 a second.
func DefaultLimitOptions() LimitOptions {
	return LimitOptions{PerAddressBurst: 10, PerAddressRate: 1.0 / 6, TotalBurst: 100, TotalRate: 10, MaxAddresses: 10_000}
}

// Limiter rate-limits failed logins per client address and over all
// addresses, so that unauthenticated clients cannot fill the disk with
// audit rows and log lines, nor guess tokens quickly. Only failures spend
// tries: a valid token is never refused because others failed from the
// same place, unless that address is itself out of tries. Safe for
// concurrent use.
type Limiter struct {
	opts LimitOptions

	mu     sync.Mutex
	addrs  map[string]*bucket
	total  bucket
	logged map[string]time.Time // last log line about an address
}

type bucket struct {
	tokens float64
	at     time.Time
}

// take refills b to now and takes one try if there is one; otherwise it
// says how long until there is.
func (b *bucket) take(now time.Time, burst, rate float64, spend bool) (time.Duration, bool) {
	if b.at.IsZero() {
		b.tokens = burst
	} else if d := now.Sub(b.at).Seconds(); d > 0 {
		b.tokens = math.Min(burst, b.tokens+d*rate)
	}
	if now.After(b.at) {
		b.at = now
	}
	if b.tokens < 1 {
		if rate <= 0 {
			return time.Hour, false
		}
		return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
	}
	if spend {
		b.tokens--
	}
	return 0, true
}

// NewLimiter returns a limiter with opts.
func NewLimiter(opts LimitOptions) *Limiter {
	return &Limiter{opts: opts, addrs: map[string]*bucket{}, logged: map[string]time.Time{}}
}

// Allow reports whether addr may try to log in at now; when not, it says
// how long until it may (for Retry-After).
func (l *Limiter) Allow(addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.addrs[addr]
	if b == nil {
		return 0, true
	}
	return b.take(now, l.opts.PerAddressBurst, l.opts.PerAddressRate, false)
}

// Fail spends one try of addr and one of the total at now. It reports
// false when the total is spent: the failure is then refused like a
// throttled try (429) and not recorded one by one.
func (l *Limiter) Fail(addr string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.addrs[addr]
	if b == nil {
		if len(l.addrs) >= l.opts.MaxAddresses {
			l.forget(now)
		}
		b = &bucket{}
		l.addrs[addr] = b
	}
	b.take(now, l.opts.PerAddressBurst, l.opts.PerAddressRate, true)
	return l.total.take(now, l.opts.TotalBurst, l.opts.TotalRate, true)
}

// forget drops the addresses whose buckets are full again, or failing
// that, the one that failed longest ago.
func (l *Limiter) forget(now time.Time) {
	var oldest string
	for a, b := range l.addrs {
		if b.tokens+now.Sub(b.at).Seconds()*l.opts.PerAddressRate >= l.opts.PerAddressBurst {
			delete(l.addrs, a)
			delete(l.logged, a)
		} else if oldest == "" || b.at.Before(l.addrs[oldest].at) {
			oldest = a
		}
	}
	if len(l.addrs) >= l.opts.MaxAddresses && oldest != "" {
		delete(l.addrs, oldest)
		delete(l.logged, oldest)
	}
}

// ShouldLog reports whether a refusal for addr at now deserves a log
// line: at most one per address per minute, so a flood of failures is
// a few lines (the audit row counts them all).
func (l *Limiter) ShouldLog(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.logged[addr]; ok && now.Sub(last) < time.Minute {
		return false
	}
	if len(l.logged) >= l.opts.MaxAddresses {
		for a, t := range l.logged {
			if now.Sub(t) >= time.Minute {
				delete(l.logged, a)
			}
		}
		if len(l.logged) >= l.opts.MaxAddresses {
			return false
		}
	}
	l.logged[addr] = now
	return true
}
