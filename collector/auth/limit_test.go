package auth

import (
	"math/rand"
	"strconv"
	"testing"
	"time"
)

func TestLimiterPerAddress(t *testing.T) {
	l := NewLimiter(LimitOptions{PerAddressBurst: 3, PerAddressRate: 1, TotalBurst: 100, TotalRate: 100, MaxAddresses: 10})
	t0 := time.Unix(1_000_000, 0)
	for i := range 3 {
		if _, ok := l.Allow("a", t0); !ok {
			t.Fatalf("try %d refused", i+1)
		}
		l.Fail("a", t0)
	}
	wait, ok := l.Allow("a", t0)
	if ok || wait != time.Second {
		t.Fatalf("fourth try: got %v %v, want refused for 1s", wait, ok)
	}
	if _, ok := l.Allow("b", t0); !ok {
		t.Error("another address refused")
	}
	if _, ok := l.Allow("a", t0.Add(time.Second)); !ok {
		t.Error("a try not given back after 1s")
	}
}

func TestLimiterTotal(t *testing.T) {
	l := NewLimiter(LimitOptions{PerAddressBurst: 5, PerAddressRate: 1, TotalBurst: 4, TotalRate: 2, MaxAddresses: 3})
	t0 := time.Unix(1_000_000, 0)
	for i := range 4 {
		if _, ok := l.Fail(strconv.Itoa(i), t0); !ok {
			t.Fatalf("failure %d refused", i+1)
		}
	}
	if wait, ok := l.Fail("x", t0); ok || wait != 500*time.Millisecond {
		t.Fatalf("fifth failure: %v %v, want refused for 500ms", wait, ok)
	}
	if len(l.addrs) > 3 {
		t.Errorf("%d addresses remembered, want at most 3", len(l.addrs))
	}
	if _, ok := l.Fail("y", t0.Add(time.Second)); !ok {
		t.Error("total not refilled")
	}
}

func TestLimiterShouldLog(t *testing.T) {
	l := NewLimiter(DefaultLimitOptions())
	t0 := time.Unix(1_000_000, 0)
	if !l.ShouldLog("a", t0) || l.ShouldLog("a", t0.Add(59*time.Second)) || !l.ShouldLog("b", t0) || !l.ShouldLog("a", t0.Add(time.Minute)) {
		t.Error("want one line per address per minute")
	}
}

// Random tries from a few addresses on an injected clock: over any run,
// the failures let through per address and in total never exceed the
// burst plus the rate times the time elapsed (the oracle), and an address
// is never refused while it has never failed. Replay a failure by its seed.
func TestLimiterRandom(t *testing.T) {
	for seed := int64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewSource(seed))
		opts := LimitOptions{PerAddressBurst: float64(1 + rng.Intn(5)), PerAddressRate: rng.Float64(), TotalBurst: float64(1 + rng.Intn(10)), TotalRate: 2 * rng.Float64(), MaxAddresses: 100}
		l := NewLimiter(opts)
		t0 := time.Unix(1_000_000, 0)
		now := t0
		passed := map[string]int{}
		total := 0
		failed := map[string]bool{}
		for range 500 {
			now = now.Add(time.Duration(rng.Intn(500)) * time.Millisecond)
			addr := "10.0.0." + strconv.Itoa(rng.Intn(4))
			if _, ok := l.Allow(addr, now); !ok {
				if !failed[addr] {
					t.Fatalf("seed %d: %s refused before it ever failed", seed, addr)
				}
				continue
			}
			failed[addr] = true
			if _, ok := l.Fail(addr, now); ok {
				passed[addr]++
				total++
			}
			el := now.Sub(t0).Seconds()
			if limit := opts.TotalBurst + el*opts.TotalRate; float64(total) > limit+1e-9 {
				t.Fatalf("seed %d: %d failures let through in %.1fs, limit %.1f", seed, total, el, limit)
			}
			if limit := opts.PerAddressBurst + el*opts.PerAddressRate; float64(passed[addr]) > limit+1e-9 {
				t.Fatalf("seed %d: %s: %d failures let through in %.1fs, limit %.1f", seed, addr, passed[addr], el, limit)
			}
		}
	}
}
