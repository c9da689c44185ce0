package rules_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/rules"
)

type recordingSink struct {
	calls [][]rules.Alert
}

func (s *recordingSink) Alerts(_ context.Context, _ time.Time, _ string, alerts []rules.Alert) {
	s.calls = append(s.calls, append([]rules.Alert(nil), alerts...))
}

func (s *recordingSink) last() []rules.Alert { return s.calls[len(s.calls)-1] }

const diskRules = `
groups:
  - name: disk
    interval: 10s
    rules:
      - record: fs:used:ratio
        expr: 1 - avail / size
      - alert: DiskFull
        expr: fs:used:ratio > 0.9
        for: 30s
        keep_firing_for: 20s
        labels: {severity: warning}
        annotations:
          summary: "{{ $labels.mount }} is {{ $value | humanizePercentage }} used"
`

// TestAlertLifecycle walks an alert through pending, firing, held by
// keep_firing_for, resolved, with an injected clock.
func TestAlertLifecycle(t *testing.T) {
	f, err := rules.Parse("disk.yml", []byte(diskRules))
	if err != nil {
		t.Fatal(err)
	}
	store := samples.New(time.Hour, 0, 0)
	sink := &recordingSink{}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	m := rules.NewManager(rules.Options{Queryable: store, Appender: store, Sink: sink, Now: func() time.Time { return t0 }})
	m.Update([]*rules.File{f})

	avail := labels.FromStrings("__name__", "avail", "mount", "/data")
	size := labels.FromStrings("__name__", "size", "mount", "/data")
	step := func(at time.Duration, availV float64) []rules.Alert {
		t.Helper()
		now := t0.Add(at)
		if err := store.Append(avail, now.UnixMilli(), availV); err != nil {
			t.Fatal(err)
		}
		if err := store.Append(size, now.UnixMilli(), 100); err != nil {
			t.Fatal(err)
		}
		m.EvalDue(context.Background(), now)
		return sink.last()
	}
	type want struct {
		at    time.Duration
		avail float64
		state string // "" for no alert
	}
	for _, w := range []want{
		{0, 50, ""},
		{10 * time.Second, 5, "pending"},
		{20 * time.Second, 5, "pending"},
		{40 * time.Second, 5, "firing"},  // 30s after first seen
		{50 * time.Second, 50, "firing"}, // cleared, held by keep_firing_for
		{70 * time.Second, 50, "inactive"},
		{80 * time.Second, 50, "inactive"}, // resolved alerts stay visible for a while
	} {
		alerts := step(w.at, w.avail)
		got := ""
		if len(alerts) > 0 {
			got = alerts[0].State.String()
		}
		if got != w.state {
			t.Fatalf("at %s: got state %q, want %q (%+v)", w.at, got, w.state, alerts)
		}
		if w.at == 40*time.Second {
			a := alerts[0]
			if got, want := a.Annotations["summary"], "/data is 95% used"; got != want {
				t.Errorf("summary: got %q, want %q", got, want)
			}
			if got, want := a.Labels.String(), `{alertname="DiskFull", mount="/data", severity="warning"}`; got != want {
				t.Errorf("labels: got %s, want %s", got, want)
			}
			if !a.FiredAt.Equal(t0.Add(40 * time.Second)) {
				t.Errorf("fired at: got %s", a.FiredAt)
			}
		}
	}
	// A pending alert that clears before 'for' elapses never fires.
	for _, w := range []want{{100 * time.Second, 5, "pending"}, {110 * time.Second, 50, "inactive"}} {
		alerts := step(w.at, w.avail)
		for _, a := range alerts {
			if a.State == rules.StatePending && w.state != "pending" {
				t.Errorf("at %s: a cleared pending alert is still pending", w.at)
			}
		}
	}
}

// TestReloadKeepsState checks that an unchanged rule keeps its firing alert
// across Update, and a changed one starts afresh.
func TestReloadKeepsState(t *testing.T) {
	f, err := rules.Parse("disk.yml", []byte(diskRules))
	if err != nil {
		t.Fatal(err)
	}
	store := samples.New(time.Hour, 0, 0)
	sink := &recordingSink{}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	m := rules.NewManager(rules.Options{Queryable: store, Appender: store, Sink: sink, Now: func() time.Time { return t0 }})
	m.Update([]*rules.File{f})
	for i := range 5 {
		now := t0.Add(time.Duration(i) * 10 * time.Second)
		_ = store.Append(labels.FromStrings("__name__", "avail", "mount", "/"), now.UnixMilli(), 1)
		_ = store.Append(labels.FromStrings("__name__", "size", "mount", "/"), now.UnixMilli(), 100)
		m.EvalDue(context.Background(), now)
	}
	if got := m.Alerts(); len(got) != 1 || got[0].State != rules.StateFiring {
		t.Fatalf("before reload: got %+v, want one firing alert", got)
	}
	m.Update([]*rules.File{f})
	if got := m.Alerts(); len(got) != 1 || got[0].State != rules.StateFiring {
		t.Fatalf("after reload with the same rules: got %+v, want the firing alert kept", got)
	}
	changed, _ := rules.Parse("disk.yml", []byte(diskRules+"      - alert: Other\n        expr: vector(1)\n"))
	changed.Groups[0].Rules[1].Expr = "fs:used:ratio > 0.95"
	m.Update([]*rules.File{changed})
	if got := m.Alerts(); len(got) != 0 {
		t.Fatalf("after changing the expression: got %+v, want no carried-over alert", got)
	}
}

// TestQueryRange evaluates a rate over the window at each step.
func TestQueryRange(t *testing.T) {
	store := samples.New(time.Hour, 0, 0)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ls := labels.FromStrings("__name__", "bytes_total", "host", "a")
	for i := 0; i <= 60; i++ { // 10 per second
		if err := store.Append(ls, t0.Add(time.Duration(i)*time.Second).UnixMilli(), float64(10*i)); err != nil {
			t.Fatal(err)
		}
	}
	m := rules.NewManager(rules.Options{Queryable: store, Appender: store})
	mat, err := m.QueryRange(context.Background(), `rate(bytes_total{host="a"}[20s])`, t0.Add(30*time.Second), t0.Add(60*time.Second), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(mat) != 1 || len(mat[0].Floats) != 4 {
		t.Fatalf("matrix = %v; want one series of 4 points", mat)
	}
	for _, p := range mat[0].Floats {
		if p.F < 9.99 || p.F > 10.01 {
			t.Errorf("rate at %d = %v, want 10", p.T, p.F)
		}
	}
	if _, err := m.QueryRange(context.Background(), `rate(bytes_total[`, t0, t0.Add(time.Minute), time.Second); err == nil {
		t.Error("a bad expression gave no error")
	}
}

// TestGroupTimings: a group evaluated late reports its lag from the slot
// it was due at and the slots it skipped; a group removed by an update is
// no longer reported.
func TestGroupTimings(t *testing.T) {
	f, err := rules.Parse("disk.yml", []byte(diskRules))
	if err != nil {
		t.Fatal(err)
	}
	store := samples.New(time.Hour, 0, 0)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := t0
	m := rules.NewManager(rules.Options{Queryable: store, Appender: store, Now: func() time.Time { return clock }})
	m.Update([]*rules.File{f})

	// Due at t0 (the update), evaluated 25 s later: the slots of t0+10s
	// and t0+20s are skipped.
	clock = t0.Add(25 * time.Second)
	m.EvalDue(context.Background(), clock)
	want := `
# HELP nines_rule_group_iterations_missed_total Evaluations of the rule group skipped because the previous ones ran late.
# TYPE nines_rule_group_iterations_missed_total counter
nines_rule_group_iterations_missed_total{group="disk"} 2
# HELP nines_rule_group_last_lag_seconds From when the last evaluation of the rule group was due to when it ended: its duration plus how late it started (other groups evaluating before it, a busy machine).
# TYPE nines_rule_group_last_lag_seconds gauge
nines_rule_group_last_lag_seconds{group="disk"} 25
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "nines_rule_group_iterations_missed_total", "nines_rule_group_last_lag_seconds"); err != nil {
		t.Error(err)
	}
	// On time: no lag, nothing more missed.
	clock = t0.Add(35 * time.Second)
	m.EvalDue(context.Background(), clock)
	want = strings.Replace(strings.Replace(want, `"disk"} 25`, `"disk"} 0`, 1), `"disk"} 2`, `"disk"} 2`, 1)
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "nines_rule_group_iterations_missed_total", "nines_rule_group_last_lag_seconds"); err != nil {
		t.Error(err)
	}
	m.Update(nil)
	if n := testutil.CollectAndCount(m); n != 0 {
		t.Errorf("after removing the group: %d series, want 0", n)
	}
}
