package leader

import (
	"context"
	"testing"
	"time"
)

// TestPairEpoch: a follower knows the pair's epoch from its attempts to
// take the lock (no query of its own), follows a takeover, and says it
// does not know while the database is down (keeping the last one read);
// a leader's is its own.
func TestPairEpoch(t *testing.T) {
	ctx := context.Background()
	db, a, b, now := newPair(t)
	if e, ok := b.PairEpoch(); ok || e != 0 {
		t.Errorf("before any attempt: %d, %v; want 0, unknown", e, ok)
	}
	a.Step(ctx)
	b.Step(ctx)
	for name, l := range map[string]*Lease{"leader a": a, "follower b": b} {
		if e, ok := l.PairEpoch(); !ok || e != 1 {
			t.Errorf("%s: pair epoch %d, %v; want 1", name, e, ok)
		}
	}
	if e := b.Epoch(); e != 0 {
		t.Errorf("b's own epoch: %d, want 0 (it never led)", e)
	}
	// a is gone; b takes over (epoch 2), and a, back, follows it.
	*now = now.Add(11 * time.Second)
	b.Step(ctx)
	a.Step(ctx) // its lease ran out: it lets go
	*now = now.Add(time.Second)
	a.Step(ctx) // and tries again: b holds the lock
	if !b.IsLeader() || a.IsLeader() {
		t.Fatalf("after the takeover: a leads %v, b leads %v", a.IsLeader(), b.IsLeader())
	}
	for name, l := range map[string]*Lease{"leader b": b, "follower a": a} {
		if e, ok := l.PairEpoch(); !ok || e != 2 {
			t.Errorf("after the takeover, %s: pair epoch %d, %v; want 2", name, e, ok)
		}
	}
	// The database down: the follower no longer knows, and keeps 2.
	db.down = true
	*now = now.Add(time.Second)
	a.Step(ctx)
	if e, ok := a.PairEpoch(); ok || e != 2 {
		t.Errorf("database down: pair epoch %d, %v; want 2, unknown", e, ok)
	}
}
