package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/state"
)

func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStateHistoryAndRuns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	s := open(t, path)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, c := range []state.Change{
		{Target: "a", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: t0, Cause: "data"},
		{Target: "b", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: t0.Add(time.Second), Cause: "data"},
		{Target: "a", Kind: state.KindHost, From: state.Up, To: state.Down, At: t0.Add(time.Minute), Cause: "silent"},
	} {
		if err := s.RecordChange(ctx, c); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	id, prev, err := s.StartRun(ctx, t0)
	if err != nil || !prev.IsZero() {
		t.Fatalf("first run: prev %v, err %v; want zero, nil", prev, err)
	}
	if err := s.Alive(ctx, id, t0.Add(90*time.Second)); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopen: the history is durable, and the next run learns when the
	// previous one was last alive.
	s = open(t, path)
	defer s.Close()
	latest, err := s.LatestChanges(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || latest[0].Target != "a" || latest[0].To != state.Down || latest[1].To != state.Up {
		t.Errorf("latest changes: got %+v", latest)
	}
	hist, _ := s.History(ctx, "a", t0, t0.Add(time.Hour))
	if len(hist) != 2 || !hist[1].At.Equal(t0.Add(time.Minute)) || hist[1].Cause != "silent" {
		t.Errorf("history of a: got %+v", hist)
	}
	_, prev, err = s.StartRun(ctx, t0.Add(time.Hour))
	if err != nil || !prev.Equal(t0.Add(90*time.Second)) {
		t.Errorf("second run: prev %v, err %v; want %v", prev, err, t0.Add(90*time.Second))
	}
	// The second run's newest heartbeat is its start: read within
	// StaleAfter of it, only the hour the collector was away is a gap.
	gaps, err := s.Gaps(ctx, t0, t0.Add(time.Hour+20*time.Second))
	if err != nil || len(gaps) != 1 || !gaps[0][0].Equal(t0.Add(90*time.Second)) || !gaps[0][1].Equal(t0.Add(time.Hour)) {
		t.Errorf("gaps: got %v, %v; want the hour the collector was away", gaps, err)
	}
	// Read an hour later with no heartbeat since (the collector crashed,
	// or is stopped while a report is made): that hour is not observed
	// either.
	gaps, err = s.Gaps(ctx, t0, t0.Add(2*time.Hour))
	if err != nil || len(gaps) != 2 || !gaps[1][0].Equal(t0.Add(time.Hour)) || !gaps[1][1].Equal(t0.Add(2*time.Hour)) {
		t.Errorf("gaps after the last heartbeat: got %v, %v; want the away hour and the hour since the last heartbeat", gaps, err)
	}
	initial, changes, err := s.HistorySince(ctx, "a", t0.Add(30*time.Second), t0.Add(time.Hour))
	if err != nil || initial != state.Up || len(changes) != 1 || changes[0].To != state.Down {
		t.Errorf("history since 30s: got %s, %+v, %v; want up, then the change to down", initial, changes, err)
	}
}

func TestIncidents(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "n.db"))
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inc := &alerting.Incident{DedupKey: "k1", Group: "g", Rule: "HostDown", Title: "web1 down", Target: "web1",
		Priority: alerting.P3, Status: alerting.StatusOpen, Labels: map[string]string{"host": "web1"}, OpenedAt: t0}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if inc.ID == 0 {
		t.Fatal("no id assigned")
	}
	// The database itself refuses a second active incident for one key.
	dup := *inc
	if err := s.InsertIncident(ctx, &dup); err == nil {
		t.Error("second active incident with the same dedup key: got no error")
	}
	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	if err := s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: t0.Add(time.Minute), Actor: "nines", Action: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: t0.Add(2 * time.Minute), Actor: "nines", Action: "resolved"}); !errors.Is(err, alerting.ErrConflict) {
		t.Errorf("resolving twice: got %v, want ErrConflict", err)
	}
	if err := s.Transition(ctx, 999, live, alerting.StatusResolved, alerting.Event{At: t0}); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("resolving a missing incident: got %v, want ErrNotFound", err)
	}
	evs, _ := s.Events(ctx, inc.ID)
	if len(evs) != 2 || evs[0].Action != "opened" || evs[1].Action != "resolved" {
		t.Errorf("timeline: got %+v", evs)
	}
	got, err := s.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != alerting.StatusResolved || got.ResolvedAt == nil || !got.ResolvedAt.Equal(t0.Add(time.Minute)) || got.Labels["host"] != "web1" {
		t.Errorf("resolved incident: got %+v", got)
	}
	// Once resolved, the key can open again.
	again := &alerting.Incident{DedupKey: "k1", Group: "g", Rule: "HostDown", Priority: alerting.P3, Status: alerting.StatusOpen, OpenedAt: t0.Add(time.Hour)}
	if err := s.InsertIncident(ctx, again); err != nil {
		t.Fatal(err)
	}
	active, _ := s.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}})
	if len(active) != 1 || active[0].ID != again.ID {
		t.Errorf("open incidents: got %+v", active)
	}
	all, _ := s.Incidents(ctx, alerting.Filter{Priority: []alerting.Priority{alerting.P3}, Limit: 10})
	if len(all) != 2 || all[0].ID != again.ID {
		t.Errorf("all P3 incidents, newest first: got %d", len(all))
	}
	if _, err := s.Incident(ctx, 999); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("missing incident: got %v, want ErrNotFound", err)
	}
}
