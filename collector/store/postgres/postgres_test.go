package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
	"github.com/ninesmon/nines/rules"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRestart: everything written before the store is closed is there
// when it is opened again on the same database (a collector restarted),
// timestamps exact to the millisecond and in UTC, and the migrations do
// not run twice.
func TestRestart(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	s, err := Open(ctx, dsn)
	must(t, err)

	// Sub-millisecond parts are dropped, as the SQLite store drops them;
	// a time in another zone comes back as the same instant in UTC.
	paris := time.FixedZone("CET", 3600)
	at := t0.Add(1500 * time.Microsecond).In(paris)
	want := t0.Add(time.Millisecond)

	change := state.Change{Target: "web1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at, Cause: "data"}
	must(t, s.RecordChange(ctx, change))
	must(t, s.SaveTarget(ctx, state.Info{Name: "web1", Kind: state.KindHost, ID: "m-1", Labels: map[string]string{"site": "lab"},
		Interval: 15 * time.Second, MetricsAddress: "192.0.2.1:9991"}))
	runID, _, err := s.StartRun(ctx, at)
	must(t, err)
	must(t, s.Alive(ctx, runID, at.Add(time.Minute)))
	inc := &alerting.Incident{DedupKey: "k", Group: "hosts", Rule: "HostDown", Title: "web1 down", Priority: alerting.P2,
		Status: alerting.StatusOpen, Labels: map[string]string{"host": "web1"}, Value: 2, OpenedAt: at, Notify: []string{"desk"}}
	must(t, s.InsertIncident(ctx, inc))
	must(t, s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusAcknowledged,
		alerting.Event{At: at.Add(time.Second), Actor: "alice", Action: "acknowledged"}))
	must(t, s.LinkTicket(ctx, inc.ID, alerting.Ticket{Receiver: "desk", ID: "42", URL: "https://desk/42"}))
	must(t, s.SaveAlerts(ctx, "hosts", []rules.SavedAlert{{Group: "hosts", Rule: "HostDown", RuleHash: "h", Labels: map[string]string{"host": "web1"},
		State: rules.StateFiring, ActiveAt: at, FiredAt: at.Add(time.Second), Value: 1}}))
	w := state.Window{Name: "patch", Targets: []string{"web1"}, From: at, To: at.Add(time.Hour), CreatedBy: "bob", CreatedAt: at}
	must(t, s.AddMaintenance(ctx, &w))
	must(t, s.Record(ctx, audit.Entry{At: at, Principal: "alice", Action: "incident.acknowledge", Object: "incident/1"}))
	secret, err := s.Secret(ctx, "session", 32)
	must(t, err)
	must(t, s.Close())

	s = open(t, dsn)
	hist, err := s.History(ctx, "web1", t0, t0.Add(time.Hour))
	must(t, err)
	if len(hist) != 1 || hist[0].At != want || hist[0].Cause != "data" {
		t.Errorf("history after a restart: got %+v, want one change at %v (UTC)", hist, want)
	}
	initial, changes, err := s.HistorySince(ctx, "web1", t0, t0.Add(time.Hour))
	must(t, err)
	if initial != state.Unknown || len(changes) != 1 || changes[0].At != want {
		t.Errorf("HistorySince after a restart: got %s %+v", initial, changes)
	}
	targets, err := s.Targets(ctx)
	must(t, err)
	if len(targets) != 1 || targets[0].Labels["site"] != "lab" || targets[0].Interval != 15*time.Second {
		t.Errorf("targets after a restart: got %+v", targets)
	}
	_, prev, err := s.StartRun(ctx, at.Add(time.Hour))
	must(t, err)
	if prev != want.Add(time.Minute) {
		t.Errorf("previous run's last sign of life: got %v, want %v", prev, want.Add(time.Minute))
	}
	got, err := s.Incident(ctx, inc.ID)
	must(t, err)
	if got.Status != alerting.StatusAcknowledged || got.OpenedAt != want || got.AcknowledgedAt == nil || *got.AcknowledgedAt != want.Add(time.Second) ||
		got.AcknowledgedBy != "alice" || got.Labels["host"] != "web1" {
		t.Errorf("incident after a restart: got %+v", got)
	}
	evs, err := s.Events(ctx, inc.ID)
	must(t, err)
	if len(evs) != 2 || evs[0].At != want || evs[1].Action != "acknowledged" {
		t.Errorf("events after a restart: got %+v", evs)
	}
	due, err := s.DueNotifications(ctx, at, 10)
	must(t, err)
	if len(due) != 1 || due[0].Receiver != "desk" || due[0].At != want {
		t.Errorf("outbox after a restart: got %+v", due)
	}
	tickets, err := s.Tickets(ctx, inc.ID)
	must(t, err)
	if len(tickets) != 1 || tickets[0].ID != "42" {
		t.Errorf("tickets after a restart: got %+v", tickets)
	}
	alerts, err := s.LoadAlerts(ctx)
	must(t, err)
	if len(alerts) != 1 || alerts[0].ActiveAt != want || alerts[0].FiredAt != want.Add(time.Second) {
		t.Errorf("alert state after a restart: got %+v", alerts)
	}
	windows, err := s.MaintenanceWindows(ctx, t0)
	must(t, err)
	if len(windows) != 1 || windows[0].ID != w.ID || windows[0].From != want || !slices.Equal(windows[0].Targets, []string{"web1"}) {
		t.Errorf("maintenance after a restart: got %+v", windows)
	}
	entries, err := s.Entries(ctx, audit.Filter{})
	must(t, err)
	if len(entries) != 1 || entries[0].At != want {
		t.Errorf("audit after a restart: got %+v", entries)
	}
	again, err := s.Secret(ctx, "session", 32)
	must(t, err)
	if !bytes.Equal(again, secret) {
		t.Error("the session secret changed across a restart")
	}
	var v int
	must(t, s.pool.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v))
	var rows int
	must(t, s.pool.QueryRow(ctx, `SELECT count(*) FROM schema_version`).Scan(&rows))
	if v != len(migrations) || rows != 1 {
		t.Errorf("schema_version: version %d in %d rows, want %d in 1", v, rows, len(migrations))
	}
}

// TestSchemaTooNew: a database migrated by a newer binary is refused,
// and left as it was.
func TestSchemaTooNew(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	s, err := Open(ctx, dsn)
	must(t, err)
	must(t, s.RecordChange(ctx, state.Change{Target: "web1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: t0, Cause: "data"}))
	must(t, s.Close())
	db := dsn[strings.LastIndex(dsn, "dbname=")+len("dbname=") : strings.LastIndex(dsn, " ")]
	srv.Exec(t, db, fmt.Sprintf(`UPDATE schema_version SET version = %d`, len(migrations)+1))

	_, err = Open(ctx, dsn)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("schema version %d is newer than this binary knows (%d)", len(migrations)+1, len(migrations))) {
		t.Fatalf("opening a newer schema: got %v, want a refusal naming both versions", err)
	}
	// Back to the version this binary knows: the data is untouched.
	srv.Exec(t, db, fmt.Sprintf(`UPDATE schema_version SET version = %d`, len(migrations)))
	s = open(t, dsn)
	if hist, err := s.History(ctx, "", t0, t0); err != nil || len(hist) != 1 {
		t.Errorf("history after the refusal: got %+v, %v; want the one change", hist, err)
	}
}

// TestSharedDatabase: two stores on one database, as two collectors of
// an HA pair, writing at once. What SQLite's single writer guaranteed,
// locks and constraints guarantee here; the conformance suite drives one
// store only.
func TestSharedDatabase(t *testing.T) {
	ctx := context.Background()
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)

	// Both start on an empty database at once: the migrations run once.
	stores := make([]*Store, 2)
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, dsn) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	a, b := stores[0], stores[1]

	// race runs f on both stores at once, n times each, and returns the
	// errors.
	race := func(n int, f func(s *Store, i int) error) []error {
		var mu sync.Mutex
		var out []error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, s := range stores {
			for i := range n {
				wg.Go(func() {
					<-start
					err := f(s, i)
					mu.Lock()
					out = append(out, err)
					mu.Unlock()
				})
			}
		}
		close(start)
		wg.Wait()
		return out
	}
	count := func(errs []error, target error) (ok, matched int) {
		t.Helper()
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, target):
				matched++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		return ok, matched
	}

	t.Run("OneActiveIncidentPerKey", func(t *testing.T) {
		errs := race(4, func(s *Store, i int) error {
			return s.InsertIncident(ctx, &alerting.Incident{DedupKey: "web1", Group: "hosts", Rule: "HostDown", Priority: alerting.P2,
				Status: alerting.StatusOpen, OpenedAt: t0, Notify: []string{"desk"}})
		})
		if ok, conflicts := count(errs, alerting.ErrConflict); ok != 1 || conflicts != 7 {
			t.Errorf("8 concurrent opens of one key: %d opened, %d conflicts; want 1 and 7", ok, conflicts)
		}
		active, err := b.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}})
		must(t, err)
		if len(active) != 1 {
			t.Fatalf("active incidents: got %d, want 1", len(active))
		}
		if due, err := a.DueNotifications(ctx, t0, 10); err != nil || len(due) != 1 {
			t.Errorf("queued notifications: got %+v, %v; want the one of the incident that opened", due, err)
		}
	})

	t.Run("OneTransition", func(t *testing.T) {
		inc := &alerting.Incident{DedupKey: "db1", Group: "hosts", Rule: "HostDown", Priority: alerting.P2, Status: alerting.StatusOpen, OpenedAt: t0}
		must(t, a.InsertIncident(ctx, inc))
		live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
		errs := race(4, func(s *Store, i int) error {
			return s.Transition(ctx, inc.ID, live, alerting.StatusResolved,
				alerting.Event{At: t0.Add(time.Minute), Actor: alerting.Automatic, Action: "resolved", Notify: []string{"desk"}})
		})
		if ok, conflicts := count(errs, alerting.ErrConflict); ok != 1 || conflicts != 7 {
			t.Errorf("8 concurrent resolves: %d applied, %d conflicts; want 1 and 7", ok, conflicts)
		}
		evs, err := b.Events(ctx, inc.ID)
		must(t, err)
		if got := len(evs); got != 2 {
			t.Errorf("events: got %d, want opened and one resolved", got)
		}
		if n, err := a.Pending(ctx, inc.ID, "desk"); err != nil || n != 1 {
			t.Errorf("pending notifications: got %d, %v; want the one resolve", n, err)
		}
	})

	t.Run("OneMaintenanceEnd", func(t *testing.T) {
		w := state.Window{Name: "patch", From: t0, To: t0.Add(time.Hour), CreatedBy: "alice", CreatedAt: t0}
		must(t, a.AddMaintenance(ctx, &w))
		errs := race(4, func(s *Store, i int) error {
			return s.EndMaintenance(ctx, w.ID, fmt.Sprint("user", i), t0.Add(time.Minute))
		})
		if ok, over := count(errs, store.ErrMaintenanceOver); ok != 1 || over != 7 {
			t.Errorf("8 concurrent ends: %d applied, %d over; want 1 and 7", ok, over)
		}
	})

	t.Run("OneSecret", func(t *testing.T) {
		var mu sync.Mutex
		seen := map[string]bool{}
		errs := race(4, func(s *Store, i int) error {
			v, err := s.Secret(ctx, "session", 32)
			mu.Lock()
			seen[string(v)] = true
			mu.Unlock()
			return err
		})
		count(errs, nil)
		if len(seen) != 1 {
			t.Errorf("concurrent first use of a secret: %d different secrets, want 1", len(seen))
		}
	})

	t.Run("AlertStateReplaced", func(t *testing.T) {
		errs := race(10, func(s *Store, i int) error {
			var alerts []rules.SavedAlert
			for j := range 3 {
				alerts = append(alerts, rules.SavedAlert{Group: "hosts", Rule: "HostDown", RuleHash: "h",
					Labels: map[string]string{"host": fmt.Sprint("web", j)}, State: rules.StateFiring, ActiveAt: t0, Value: float64(i)})
			}
			return s.SaveAlerts(ctx, "hosts", alerts)
		})
		count(errs, nil)
		got, err := a.LoadAlerts(ctx)
		must(t, err)
		if len(got) != 3 {
			t.Errorf("alert state after concurrent saves of one group: got %d rows, want 3 (one save's)", len(got))
		}
	})

	t.Run("HistoryAcrossStores", func(t *testing.T) {
		// b has read the target's history before a records a change:
		// b's cache fetches what a wrote.
		if _, changes, err := b.HistorySince(ctx, "sw1", t0, t0.Add(time.Hour)); err != nil || len(changes) != 0 {
			t.Fatalf("empty history: got %+v, %v", changes, err)
		}
		must(t, a.RecordChange(ctx, state.Change{Target: "sw1", Kind: state.KindDevice, From: state.Unknown, To: state.Down, At: t0, Cause: "snmp"}))
		if initial, changes, err := b.HistorySince(ctx, "sw1", t0, t0.Add(time.Hour)); err != nil || initial != state.Unknown || len(changes) != 1 {
			t.Errorf("history written by the other store: got %s %+v, %v; want the change", initial, changes, err)
		}
	})
}

// TestHostileText: NUL bytes and invalid UTF-8, which PostgreSQL's text
// refuses and SQLite stores, never make a write fail: they are stored as
// U+FFFD, and lookups by the same raw value still find the row.
func TestHostileText(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Start(t).NewDatabase(t))
	const bad = "web\x001\xff"
	const stored = "web\uFFFD1\uFFFD"

	must(t, s.RecordChange(ctx, state.Change{Target: bad, Kind: state.KindHost, From: state.Unknown, To: state.Down, At: t0, Cause: "HTTP 500: " + bad}))
	hist, err := s.History(ctx, bad, t0, t0)
	must(t, err)
	if len(hist) != 1 || hist[0].Target != stored || hist[0].Cause != "HTTP 500: "+stored {
		t.Errorf("history of a hostile name: got %+v", hist)
	}
	if _, changes, err := s.HistorySince(ctx, bad, t0, t0); err != nil || len(changes) != 1 {
		t.Errorf("HistorySince of a hostile name: got %+v, %v", changes, err)
	}
	must(t, s.SaveTarget(ctx, state.Info{Name: bad, Kind: state.KindHost, Labels: map[string]string{bad: bad}}))
	targets, err := s.Targets(ctx)
	must(t, err)
	if len(targets) != 1 || targets[0].Name != stored || targets[0].Labels[stored] != stored {
		t.Errorf("target with hostile labels: got %+v", targets)
	}
	inc := &alerting.Incident{DedupKey: bad, Group: "g", Rule: "r", Title: bad, Description: bad, Priority: alerting.P3,
		Status: alerting.StatusOpen, Labels: map[string]string{"host": bad}, OpenedAt: t0, Notify: []string{bad}}
	must(t, s.InsertIncident(ctx, inc))
	due, err := s.DueNotifications(ctx, t0, 10)
	must(t, err)
	if len(due) != 1 {
		t.Fatalf("due: got %+v, want one", due)
	}
	must(t, s.MarkNotification(ctx, due[0].ID, alerting.Outcome{At: t0, Next: t0.Add(time.Minute), Error: "HTTP 502: \x00\xfe"}))
	if n, err := s.Pending(ctx, inc.ID, bad); err != nil || n != 1 {
		t.Errorf("pending to a hostile receiver name: got %d, %v; want 1", n, err)
	}
	must(t, s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved, alerting.Event{At: t0, Actor: bad, Action: "resolved", Text: bad}))
	if got, err := s.LastResolved(ctx, bad, t0); err != nil || got.Title != stored || got.Labels["host"] != stored {
		t.Errorf("resolved incident with a hostile key: got %+v, %v", got, err)
	}
	w := state.Window{Name: bad, Targets: []string{bad}, Selector: map[string]string{"site": bad}, From: t0, To: t0.Add(time.Hour), CreatedBy: bad, CreatedAt: t0}
	must(t, s.AddMaintenance(ctx, &w))
	must(t, s.Record(ctx, audit.Entry{At: t0, Principal: bad, Action: "x", Detail: bad}))
	if es, err := s.Entries(ctx, audit.Filter{Principal: bad}); err != nil || len(es) != 1 || es[0].Detail != stored {
		t.Errorf("audit of a hostile principal: got %+v, %v", es, err)
	}
}

// TestOpenBadDSN: a malformed DSN is refused with pgx's message, which
// quotes it with the password redacted, so the password stays out of
// logs.
func TestOpenBadDSN(t *testing.T) {
	for _, dsn := range []string{
		"postgres://nines:s3cret@db.example:notaport/nines",
		"host=db.example password=s3cret port=notaport",
		"postgres://nines:s3cret@[::1/nines",
		"host=db.example password='s3cret port=5432",
		"postgres://nines:s3c ret@db/x?sslmode=bogus",
	} {
		_, err := Open(context.Background(), dsn)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): got %v, want an error that does not show the password", dsn, err)
		}
	}
}

// TestOutOfOrderCommit: a change numbered before another but committed
// after it (a slow writer, another collector) is still seen by a
// timeline read that came between: the history cache keeps its default
// margin here. With no margin (SQLite's setting) the late change would
// be lost for good.
func TestOutOfOrderCommit(t *testing.T) {
	ctx := context.Background()
	s := open(t, pgtest.Start(t).NewDatabase(t))
	slow, err := s.pool.Begin(ctx)
	must(t, err)
	defer slow.Rollback(ctx)
	_, err = slow.Exec(ctx, insertChange, changeArgs(state.Change{Target: "web1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: t0, Cause: "slow"})...)
	must(t, err)
	must(t, s.RecordChange(ctx, state.Change{Target: "web1", Kind: state.KindHost, From: state.Up, To: state.Down, At: t0.Add(time.Minute), Cause: "fast"}))
	// Two reads: the second one's floor could be the first one's
	// highest number if the cache trusted commits to come in order.
	for range 2 {
		if _, changes, err := s.HistorySince(ctx, "web1", t0, t0.Add(time.Hour)); err != nil || len(changes) != 1 || changes[0].To != state.Down {
			t.Fatalf("before the slow commit: got %+v, %v; want the fast change only", changes, err)
		}
	}
	must(t, slow.Commit(ctx))
	_, changes, err := s.HistorySince(ctx, "web1", t0, t0.Add(time.Hour))
	must(t, err)
	if len(changes) != 2 || changes[0].To != state.Up || changes[1].To != state.Down {
		t.Errorf("after the slow commit: got %+v, want up then down", changes)
	}
}
