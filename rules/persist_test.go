package rules_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/rules"
)

type memStateStore struct {
	mu     sync.Mutex
	groups map[string][]rules.SavedAlert
	saves  int
}

func (m *memStateStore) SaveAlerts(_ context.Context, group string, alerts []rules.SavedAlert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.groups == nil {
		m.groups = map[string][]rules.SavedAlert{}
	}
	m.groups[group] = alerts
	m.saves++
	return nil
}

func (m *memStateStore) LoadAlerts(context.Context) ([]rules.SavedAlert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []rules.SavedAlert
	for _, l := range m.groups {
		out = append(out, l...)
	}
	return out, nil
}

const restartRules = `
groups:
  - name: g
    interval: 10s
    rules:
      - alert: Slow
        expr: latency > 1
        for: 1m
      - alert: Broken
        expr: broken == 1
        for: 20s
`

// TestRestore simulates a restart: a new manager over the same state store
// finds the firing alert firing at once, and the pending alert with its
// elapsed time (the outage not counted).
func TestRestore(t *testing.T) {
	f, err := rules.Parse("r.yml", []byte(restartRules))
	if err != nil {
		t.Fatal(err)
	}
	st := &memStateStore{}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	data := samples.New(time.Hour, 0, 0)
	feed := func(at time.Time) {
		_ = data.Append(labels.FromStrings("__name__", "latency", "svc", "erp"), at.UnixMilli(), 5)
		_ = data.Append(labels.FromStrings("__name__", "broken", "svc", "mail"), at.UnixMilli(), 1)
	}
	now := t0
	m := rules.NewManager(rules.Options{Queryable: data, StateStore: st, Now: func() time.Time { return now }})
	m.Update([]*rules.File{f})
	for i := range 4 { // 0s..30s: Broken fires at 20s, Slow is pending since 0s
		now = t0.Add(time.Duration(i) * 10 * time.Second)
		feed(now)
		m.EvalDue(context.Background(), now)
	}
	savesBefore := st.saves
	m.EvalDue(context.Background(), now.Add(time.Second)) // nothing due, nothing changed
	if st.saves != savesBefore {
		t.Errorf("state saved again without a change")
	}

	// The collector is away for 5 minutes, then a new one starts.
	restart := now.Add(5 * time.Minute)
	now = restart
	m2 := rules.NewManager(rules.Options{Queryable: data, StateStore: st, Now: func() time.Time { return now }})
	m2.Update([]*rules.File{f})
	n, err := m2.Restore(context.Background(), 5*time.Minute, time.Hour)
	if err != nil || n != 2 {
		t.Fatalf("restored %d alerts (%v), want 2", n, err)
	}
	feed(now)
	m2.EvalDue(context.Background(), now)
	byName := map[string]rules.Alert{}
	for _, a := range m2.Alerts() {
		byName[a.Rule] = a
	}
	if a := byName["Broken"]; a.State != rules.StateFiring || !a.FiredAt.Equal(t0.Add(20*time.Second)) {
		t.Errorf("Broken after restart: got %s fired at %s, want still firing since %s", a.State, a.FiredAt, t0.Add(20*time.Second))
	}
	// Slow had been pending for 30s of its 1m; it needs 30s more, not 1m.
	if a := byName["Slow"]; a.State != rules.StatePending {
		t.Fatalf("Slow right after restart: got %s, want pending", a.State)
	}
	for _, d := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second} {
		now = restart.Add(d)
		feed(now)
		m2.EvalDue(context.Background(), now)
	}
	for _, a := range m2.Alerts() {
		if a.Rule == "Slow" && a.State != rules.StateFiring {
			t.Errorf("Slow 30s after restart: got %s, want firing (elapsed kept)", a.State)
		}
	}

	// Away longer than the tolerance: nothing is restored.
	m3 := rules.NewManager(rules.Options{Queryable: data, StateStore: st, Now: func() time.Time { return now }})
	m3.Update([]*rules.File{f})
	if n, _ := m3.Restore(context.Background(), 2*time.Hour, time.Hour); n != 0 {
		t.Errorf("restored %d alerts after an outage over the tolerance, want 0", n)
	}
	// A changed rule does not inherit state.
	changed, _ := rules.Parse("r.yml", []byte(restartRules))
	changed.Groups[0].Rules[1].Expr = "broken == 2"
	m4 := rules.NewManager(rules.Options{Queryable: data, StateStore: st, Now: func() time.Time { return now }})
	m4.Update([]*rules.File{changed})
	n, _ = m4.Restore(context.Background(), time.Minute, time.Hour)
	if n != 1 {
		t.Errorf("restored %d alerts with one rule changed, want 1 (only Slow)", n)
	}
}

// TestHoldAfterRestart: until HoldUntil, a restored firing alert whose data
// has not come back is kept firing; after it, it resolves.
func TestHoldAfterRestart(t *testing.T) {
	f, _ := rules.Parse("r.yml", []byte(restartRules))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	st := &memStateStore{groups: map[string][]rules.SavedAlert{}}
	now := t0
	m := rules.NewManager(rules.Options{Queryable: samples.New(time.Hour, 0, 0), StateStore: st, Now: func() time.Time { return now }})
	m.Update([]*rules.File{f})
	// Compute the saved form of a firing Broken alert through a first manager.
	data := samples.New(time.Hour, 0, 0)
	m0 := rules.NewManager(rules.Options{Queryable: data, StateStore: st, Now: func() time.Time { return now }})
	m0.Update([]*rules.File{f})
	for i := range 3 {
		now = t0.Add(time.Duration(i) * 10 * time.Second)
		_ = data.Append(labels.FromStrings("__name__", "broken", "svc", "mail"), now.UnixMilli(), 1)
		m0.EvalDue(context.Background(), now)
	}
	restart := now.Add(time.Minute)
	now = restart
	m = rules.NewManager(rules.Options{Queryable: samples.New(time.Hour, 0, 0), StateStore: st, Now: func() time.Time { return now },
		HoldUntil: restart.Add(30 * time.Second)})
	m.Update([]*rules.File{f})
	if n, _ := m.Restore(context.Background(), time.Minute, time.Hour); n != 1 {
		t.Fatalf("restored %d, want 1", n)
	}
	state := func() rules.AlertState {
		for _, a := range m.Alerts() {
			return a.State
		}
		return -1
	}
	for _, d := range []time.Duration{0, 10 * time.Second, 20 * time.Second} {
		now = restart.Add(d)
		m.EvalDue(context.Background(), now)
		if got := state(); got != rules.StateFiring {
			t.Fatalf("%s after restart, no data yet: got %s, want firing (held)", d, got)
		}
	}
	now = restart.Add(40 * time.Second)
	m.EvalDue(context.Background(), now)
	if got := state(); got != rules.StateInactive {
		t.Errorf("after the hold, still no data: got %s, want resolved", got)
	}
}

// leftOut is a state store that leaves writes out (as a collector
// following its HA pair's leader does) until it is told to write.
type leftOut struct {
	memStateStore
	writes bool
}

func (l *leftOut) SaveAlerts(ctx context.Context, group string, alerts []rules.SavedAlert) error {
	if !l.writes {
		return rules.ErrNotSaved
	}
	return l.memStateStore.SaveAlerts(ctx, group, alerts)
}

// TestStateLeftOut: a save the store leaves out is tried again at the
// next evaluation, even when nothing changed, so a collector that takes
// the lead writes its alert state at once.
func TestStateLeftOut(t *testing.T) {
	f, err := rules.Parse("r.yml", []byte(restartRules))
	if err != nil {
		t.Fatal(err)
	}
	st := &leftOut{}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	data := samples.New(time.Hour, 0, 0)
	now := t0
	var logged bytes.Buffer
	m := rules.NewManager(rules.Options{Queryable: data, StateStore: st, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	m.Update([]*rules.File{f})
	for i := range 4 { // Broken fires at 20s
		now = t0.Add(time.Duration(i) * 10 * time.Second)
		_ = data.Append(labels.FromStrings("__name__", "broken", "svc", "mail"), now.UnixMilli(), 1)
		m.EvalDue(context.Background(), now)
	}
	if st.saves != 0 || logged.Len() > 0 {
		t.Fatalf("%d saves while the store left them out; logged: %s", st.saves, logged.String())
	}
	st.writes = true
	now = now.Add(10 * time.Second)
	_ = data.Append(labels.FromStrings("__name__", "broken", "svc", "mail"), now.UnixMilli(), 1)
	m.EvalDue(context.Background(), now)
	saved, _ := st.LoadAlerts(context.Background())
	if st.saves != 1 || len(saved) != 1 || saved[0].State != rules.StateFiring || !saved[0].FiredAt.Equal(t0.Add(20*time.Second)) {
		t.Errorf("after the store took writes again: %d saves, %+v; want the firing alert saved once, fired at 20s", st.saves, saved)
	}
}
