package leader

import (
	"context"
	"errors"
	"testing"
	"time"
)

// fakeDB is one lock shared by fake lockers, with the database's side of
// the lease: a holder silent for takeover is dropped (as PostgreSQL's
// idle_session_timeout ends its session).
type fakeDB struct {
	now      *time.Time
	takeover time.Duration
	holder   *fakeLocker
	lastSeen time.Time // the holder's last round trip
	epoch    int64
	down     bool
}

type fakeLocker struct{ db *fakeDB }

var errDown = errors.New("database down")

func (db *fakeDB) expire() {
	if db.holder != nil && db.now.Sub(db.lastSeen) >= db.takeover {
		db.holder = nil
	}
}

func (f *fakeLocker) Acquire(context.Context) (int64, bool, error) {
	if f.db.down {
		return 0, false, errDown
	}
	f.db.expire()
	if f.db.holder != nil && f.db.holder != f {
		return f.db.epoch, false, nil
	}
	f.db.holder, f.db.lastSeen = f, *f.db.now
	f.db.epoch++
	return f.db.epoch, true, nil
}

func (f *fakeLocker) Renew(context.Context) error {
	if f.db.down {
		return errDown
	}
	f.db.expire()
	if f.db.holder != f {
		return errors.New("connection closed by the server")
	}
	f.db.lastSeen = *f.db.now
	return nil
}

func (f *fakeLocker) Release(context.Context) error {
	if f.db.holder == f {
		f.db.holder = nil
	}
	return nil
}

func newPair(t *testing.T) (*fakeDB, *Lease, *Lease, *time.Time) {
	t.Helper()
	now := time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)
	db := &fakeDB{now: &now, takeover: 10 * time.Second}
	mk := func() *Lease {
		return New(Options{Locker: &fakeLocker{db}, TTL: 5 * time.Second, RenewEvery: time.Second, RetryEvery: time.Second,
			Now: func() time.Time { return now }})
	}
	return db, mk(), mk(), &now
}

func TestOneLeader(t *testing.T) {
	ctx := context.Background()
	_, a, b, now := newPair(t)
	a.Step(ctx)
	b.Step(ctx)
	if ea, ok := a.Leader(); !ok || ea != 1 {
		t.Fatalf("a: leader %v epoch %d, want leader with epoch 1", ok, ea)
	}
	if b.IsLeader() {
		t.Fatal("b leads beside a")
	}
	// A minute of steady renewals: nothing changes.
	for range 60 {
		*now = now.Add(time.Second)
		a.Step(ctx)
		b.Step(ctx)
		if !a.IsLeader() || b.IsLeader() {
			t.Fatalf("at %s: a %v, b %v", now.Format(time.TimeOnly), a.IsLeader(), b.IsLeader())
		}
	}
}

// TestLeaderGone: a leader that goes away (its connection closed, as
// kill -9 does) is replaced at the other's next try, with a new epoch.
func TestLeaderGone(t *testing.T) {
	ctx := context.Background()
	db, a, b, now := newPair(t)
	a.Step(ctx)
	db.holder = nil // the process died; the server saw its socket close
	*now = now.Add(time.Second)
	b.Step(ctx)
	if eb, ok := b.Leader(); !ok || eb != 2 {
		t.Fatalf("b: leader %v epoch %d, want leader with epoch 2", ok, eb)
	}
}

// TestFrozenLeader: a leader frozen (SIGSTOP) stops leading when its
// lease runs out, before the database lets the other take the lock; on
// waking it finds the lock gone and follows.
func TestFrozenLeader(t *testing.T) {
	ctx := context.Background()
	_, a, b, now := newPair(t)
	a.Step(ctx)
	b.Step(ctx)
	frozenAt := *now
	lastA := frozenAt // a's last renewal started then
	for *now = frozenAt; now.Sub(frozenAt) <= 20*time.Second; *now = now.Add(100 * time.Millisecond) {
		aLeads, bLeads := a.IsLeader(), b.IsLeader()
		if aLeads && bLeads {
			t.Fatalf("both lead at +%s", now.Sub(frozenAt))
		}
		if aLeads != now.Before(lastA.Add(5*time.Second)) {
			t.Fatalf("a leads %v at +%s, want only before its lease ends (+5s)", aLeads, now.Sub(frozenAt))
		}
		if now.Sub(frozenAt)%time.Second == 0 {
			b.Step(ctx) // b keeps trying; a is frozen
		}
	}
	eb, ok := b.Leader()
	if !ok || eb != 2 {
		t.Fatalf("b after the takeover delay: leader %v epoch %d", ok, eb)
	}
	// a wakes: its lease has run out; it gives up and follows.
	if a.IsLeader() {
		t.Fatal("a leads on waking")
	}
	a.Step(ctx)
	a.Step(ctx)
	if ea, ok := a.Leader(); ok || ea != 1 {
		t.Errorf("a after waking: leader %v epoch %d, want follower with epoch 1", ok, ea)
	}
	if !b.IsLeader() {
		t.Error("b lost the lead when a woke")
	}
}

// TestDatabaseDown: the leader stops leading at its first failed renewal;
// when the database is back, one of the two leads with a new epoch.
func TestDatabaseDown(t *testing.T) {
	ctx := context.Background()
	db, a, b, now := newPair(t)
	a.Step(ctx)
	db.down, db.holder = true, nil // a restart ends every session
	*now = now.Add(time.Second)
	a.Step(ctx)
	if a.IsLeader() {
		t.Fatal("a leads with the database down")
	}
	*now = now.Add(time.Second)
	b.Step(ctx)
	if b.IsLeader() {
		t.Fatal("b leads with the database down")
	}
	db.down = false
	*now = now.Add(time.Second)
	b.Step(ctx)
	a.Step(ctx)
	if eb, ok := b.Leader(); !ok || eb != 2 || a.IsLeader() {
		t.Errorf("after the restart: b leader %v epoch %d, a leader %v", ok, eb, a.IsLeader())
	}
}

// TestOnLeadFails: a takeover whose loading fails gives the lock back,
// so the other may lead.
func TestOnLeadFails(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)
	db := &fakeDB{now: &now, takeover: 10 * time.Second}
	var calls int
	var l *Lease
	l = New(Options{Locker: &fakeLocker{db}, TTL: 5 * time.Second, RenewEvery: time.Second, RetryEvery: time.Second,
		Now: func() time.Time { return now },
		OnLead: func(context.Context, int64) error {
			if leads := l.IsLeader(); leads || !l.Holds() {
				t.Errorf("in OnLead: Leader %v, Holds %v; want false, true", leads, l.Holds())
			}
			calls++
			if calls == 1 {
				return errors.New("store unreachable")
			}
			return nil
		}})
	l.Step(ctx)
	if l.IsLeader() || db.holder != nil {
		t.Fatalf("after a failed takeover: leader %v, lock held %v", l.IsLeader(), db.holder != nil)
	}
	l.Step(ctx)
	if e, ok := l.Leader(); !ok || e != 2 {
		t.Errorf("second try: leader %v epoch %d", ok, e)
	}
}

func TestAlways(t *testing.T) {
	l := Always()
	if e, ok := l.Leader(); !ok || e != 0 {
		t.Errorf("Always: leader %v epoch %d", ok, e)
	}
}

// TestSlowTakeover: loading what the previous leader decided may take
// longer than the lease; the lease then counts from a renewal after it.
func TestSlowTakeover(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)
	db := &fakeDB{now: &now, takeover: 10 * time.Second}
	l := New(Options{Locker: &fakeLocker{db}, TTL: 5 * time.Second, RenewEvery: time.Second, RetryEvery: time.Second,
		Now: func() time.Time { return now },
		OnLead: func(context.Context, int64) error {
			now = now.Add(7 * time.Second) // a long load, within the server's takeover delay
			return nil
		}})
	l.Step(ctx)
	if !l.IsLeader() {
		t.Fatal("not leading after a slow takeover")
	}
	now = now.Add(4 * time.Second)
	if !l.IsLeader() {
		t.Fatal("the lease ran out 4 s after the renewal that followed the takeover")
	}
}
