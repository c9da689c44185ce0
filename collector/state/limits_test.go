package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"
)

// TestTargetLimits: targets that register themselves are capped in number
// and per minute (issue 16 item 10); declared ones always get in.
func TestTargetLimits(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, &memStore{}, opts, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{Declared: []Declared{{Name: "db"}}, AutoRegister: true, MaxTargets: 5, MaxNewPerMinute: 2}, t0)
	limit := func(err error) string {
		t.Helper()
		var le *LimitError
		if !errors.As(err, &le) {
			t.Fatalf("got %v, want a *LimitError", err)
		}
		return le.Reason
	}
	obs := func(name string, at time.Time) error {
		return tr.Observe(ctx, Observation{Name: name}, at)
	}
	for i := range 2 {
		if err := obs(fmt.Sprint("h", i), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.AdmitAt("h2", t0); limit(err) != LimitNewRate {
		t.Fatalf("third new host in a minute admitted: %v", err)
	}
	if got := limit(obs("h2", t0.Add(10*time.Second))); got != LimitNewRate {
		t.Fatalf("got %s, want %s", got, LimitNewRate)
	}
	// Known and declared targets are never refused.
	if err := obs("h0", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := obs("db", t0.Add(10*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The bucket refills at 2 a minute.
	if err := obs("h2", t0.Add(40*time.Second)); err != nil {
		t.Fatalf("after 40s: %v", err)
	}
	if err := obs("h3", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Devices and checks come from the configuration: neither counted
	// nor refused.
	for _, kind := range []Kind{KindDevice, KindCheck} {
		if err := tr.Observe(ctx, Observation{Name: "x-" + string(kind), Kind: kind}, t0.Add(3*time.Minute)); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	// db, h0..h3: 5 hosts, the limit.
	if got := limit(obs("h4", t0.Add(10*time.Minute))); got != LimitMaxTargets {
		t.Fatalf("got %s, want %s", got, LimitMaxTargets)
	}
	if tr.Admit("h4") {
		t.Fatal("Admit(h4) beyond max_targets")
	}
	if n := len(tr.Snapshot()); n != 7 {
		t.Fatalf("%d targets, want 7 (5 hosts)", n)
	}
	// Declared later: admitted beyond the limit.
	tr.SetInventory(Inventory{Declared: []Declared{{Name: "db"}, {Name: "h4"}}, AutoRegister: true, MaxTargets: 5, MaxNewPerMinute: 2}, t0.Add(11*time.Minute))
	if err := obs("h4", t0.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
}

// TestAliveKeepsHostUp: a refused push's sign of life keeps the host UP
// and brings a DOWN one back; another agent's does not count.
func TestAliveKeepsHostUp(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, &memStore{}, opts, t0, slog.New(slog.DiscardHandler))
	if err := tr.Observe(ctx, Observation{Name: "web", ID: "a1", Interval: 10 * time.Second}, t0.Add(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	for s := 30; s <= 120; s += 10 {
		at := t0.Add(time.Duration(s) * time.Second)
		if ok, err := tr.Alive(ctx, "web", "a1", at); !ok || err != nil {
			t.Fatalf("Alive: %v %v", ok, err)
		}
		if err := tr.Check(ctx, at); err != nil {
			t.Fatal(err)
		}
		if got := tr.Snapshot()[0].State; got != Up {
			t.Fatalf("at %ds: %s, want up", s, got)
		}
	}
	if ok, _ := tr.Alive(ctx, "web", "other", t0.Add(200*time.Second)); ok {
		t.Fatal("another agent's refused push counted as a sign of life")
	}
	if ok, _ := tr.Alive(ctx, "nobody", "", t0.Add(200*time.Second)); ok {
		t.Fatal("unknown host counted")
	}
	_ = tr.Check(ctx, t0.Add(200*time.Second))
	if got := tr.Snapshot()[0].State; got != Down {
		t.Fatalf("got %s, want down", got)
	}
	if ok, _ := tr.Alive(ctx, "web", "a1", t0.Add(201*time.Second)); !ok {
		t.Fatal("not counted")
	}
	if got := tr.Snapshot()[0].State; got != Up {
		t.Fatalf("got %s, want up again", got)
	}
}
