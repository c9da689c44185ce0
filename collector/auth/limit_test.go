package auth

import (
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
