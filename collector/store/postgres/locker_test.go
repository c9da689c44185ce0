package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
)

// TestLocker: one holder at a time; each acquisition raises the epoch; a
// released lock is taken at the other's next try.
func TestLocker(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	s, err := Open(ctx, dsn) // creates the leader table
	must(t, err)
	defer s.Close()
	a, err := NewLocker(dsn, "a", 10*time.Second)
	must(t, err)
	b, err := NewLocker(dsn, "b", 10*time.Second)
	must(t, err)
	defer a.Release(ctx)
	defer b.Release(ctx)
	if e, ok, err := a.Acquire(ctx); err != nil || !ok || e != 1 {
		t.Fatalf("a.Acquire: epoch %d, ok %v, %v; want epoch 1", e, ok, err)
	}
	if e, ok, err := b.Acquire(ctx); err != nil || ok || e != 1 {
		t.Fatalf("b.Acquire while a holds it: epoch %d, ok %v, %v; want a's epoch 1, not ok", e, ok, err)
	}
	must(t, a.Renew(ctx))
	must(t, a.Release(ctx))
	if e, ok, err := b.Acquire(ctx); err != nil || !ok || e != 2 {
		t.Fatalf("b.Acquire after a let go: epoch %d, ok %v, %v; want epoch 2", e, ok, err)
	}
	if err := a.Renew(ctx); err == nil {
		t.Error("a.Renew after releasing: no error")
	}
}

// TestLockerSilentHolder: the server ends the session of a holder silent
// for the takeover delay (a frozen process), so the other takes the
// lock, and the silent one's renewal fails.
func TestLockerSilentHolder(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	s, err := Open(ctx, dsn)
	must(t, err)
	defer s.Close()
	a, err := NewLocker(dsn, "a", time.Second)
	must(t, err)
	b, err := NewLocker(dsn, "b", time.Second)
	must(t, err)
	defer a.Release(ctx)
	defer b.Release(ctx)
	if _, ok, err := a.Acquire(ctx); err != nil || !ok {
		t.Fatalf("a.Acquire: ok %v, %v", ok, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, ok, err := b.Acquire(ctx)
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b never took the lock of a silent holder (last error %v)", err)
		}
		time.Sleep(200 * time.Millisecond) // b's retry pace; the server's timer is what is waited for
	}
	if err := a.Renew(ctx); err == nil {
		t.Error("the silent holder's renewal succeeded after the server ended its session")
	}
}

// TestFencing: with a fence set, incident, outbox and ticket writes pass
// only with the database's current epoch; the deposed leader's are
// refused with alerting.ErrFenced, and so are a follower's.
func TestFencing(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	old, err := Open(ctx, dsn)
	must(t, err)
	defer old.Close()
	cur, err := Open(ctx, dsn)
	must(t, err)
	defer cur.Close()
	a, err := NewLocker(dsn, "old", 10*time.Second)
	must(t, err)
	defer a.Release(ctx)
	b, err := NewLocker(dsn, "new", 10*time.Second)
	must(t, err)
	defer b.Release(ctx)

	ea, _, err := a.Acquire(ctx)
	must(t, err)
	old.SetFence(func() (int64, bool) { return ea, true }) // believes it leads, as a frozen leader would on waking
	inc := &alerting.Incident{DedupKey: "k", Group: "hosts", Rule: "HostDown", Title: "web1 down", Priority: alerting.P2,
		Status: alerting.StatusOpen, OpenedAt: t0, Notify: []string{"desk"}}
	must(t, old.InsertIncident(ctx, inc))

	// The old leader's session ends (frozen past the takeover delay);
	// the other takes over with a new epoch.
	must(t, a.Release(ctx))
	eb, ok, err := b.Acquire(ctx)
	if err != nil || !ok {
		t.Fatalf("takeover: ok %v, %v", ok, err)
	}
	cur.SetFence(func() (int64, bool) { return eb, true })

	refused := map[string]error{
		"insert": old.InsertIncident(ctx, &alerting.Incident{DedupKey: "k2", Group: "hosts", Rule: "HostDown", Title: "web2 down",
			Priority: alerting.P2, Status: alerting.StatusOpen, OpenedAt: t0}),
		"transition": old.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved,
			alerting.Event{At: t0.Add(time.Minute), Actor: alerting.Automatic, Action: "resolved"}),
		"event":  old.AddEvent(ctx, alerting.Event{IncidentID: inc.ID, At: t0, Actor: "x", Action: "commented", Text: "hi"}),
		"ticket": old.LinkTicket(ctx, inc.ID, alerting.Ticket{Receiver: "desk", ID: "1"}),
		"assign": old.Assign(ctx, inc.ID, "bob", alerting.Event{At: t0, Actor: "x", Action: "assigned"}),
	}
	due, err := cur.DueNotifications(ctx, t0.Add(time.Hour), 10)
	must(t, err)
	if len(due) != 1 {
		t.Fatalf("due notifications: %d, want 1", len(due))
	}
	refused["outbox"] = old.MarkNotification(ctx, due[0].ID, alerting.Outcome{At: t0, Delivered: true})
	for what, err := range refused {
		if !errors.Is(err, alerting.ErrFenced) {
			t.Errorf("deposed leader's %s: %v, want ErrFenced", what, err)
		}
	}
	if got, err := cur.Incident(ctx, inc.ID); err != nil || got.Status != alerting.StatusOpen || got.Assignee != "" {
		t.Errorf("the incident after the refused writes: %+v, %v", got, err)
	}
	if tk, err := cur.Tickets(ctx, inc.ID); err != nil || len(tk) != 0 {
		t.Errorf("tickets after the refused link: %+v, %v", tk, err)
	}

	// The new leader's writes pass.
	must(t, cur.MarkNotification(ctx, due[0].ID, alerting.Outcome{At: t0, Delivered: true}))
	must(t, cur.LinkTicket(ctx, inc.ID, alerting.Ticket{Receiver: "desk", ID: "1"}))
	must(t, cur.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved,
		alerting.Event{At: t0.Add(time.Minute), Actor: alerting.Automatic, Action: "resolved"}))

	// A follower (its lease says it does not lead) is refused too.
	cur.SetFence(func() (int64, bool) { return eb, false })
	if err := cur.AddEvent(ctx, alerting.Event{IncidentID: inc.ID, At: t0, Actor: "x", Action: "commented", Text: "hi"}); !errors.Is(err, alerting.ErrFenced) {
		t.Errorf("follower's write: %v, want ErrFenced", err)
	}
}
