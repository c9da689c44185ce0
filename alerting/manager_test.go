package alerting_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/rules"
)

func TestManagerOpensOnceAndResolves(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	m, err := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	alert := func(state rules.AlertState, host string) rules.Alert {
		return rules.Alert{Group: "availability", Rule: "HostDown", State: state, FiredAt: t0,
			Labels:      labels.FromStrings("alertname", "HostDown", "host", host, "severity", "critical", "priority", "P3"),
			Annotations: map[string]string{"summary": host + " is down"}}
	}
	// Pending opens nothing; firing opens one; firing again opens no second.
	m.Alerts(ctx, t0, "availability", []rules.Alert{alert(rules.StatePending, "web1")})
	m.Alerts(ctx, t0, "availability", []rules.Alert{alert(rules.StateFiring, "web1"), alert(rules.StateFiring, "web2")})
	m.Alerts(ctx, t0.Add(time.Second), "availability", []rules.Alert{alert(rules.StateFiring, "web1"), alert(rules.StateFiring, "web2")})
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if len(list) != 2 {
		t.Fatalf("incidents: got %d, want 2", len(list))
	}
	if got := m.OpenByPriority()[alerting.P3]; got != 2 {
		t.Errorf("open P3: got %d, want 2", got)
	}
	if list[1].Title != "web1 is down" || list[1].Target != "web1" || list[1].Priority != alerting.P3 {
		t.Errorf("incident fields: got %+v", list[1])
	}

	// A restart: a new manager finds the open incidents in the store, and
	// resolves web2's when its group is evaluated without it.
	m2, err := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	m2.Alerts(ctx, t0.Add(time.Minute), "other-group", nil) // other groups leave it alone
	m2.Alerts(ctx, t0.Add(2*time.Minute), "availability", []rules.Alert{alert(rules.StateFiring, "web1")})
	open, _ := store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}})
	if len(open) != 1 || open[0].Target != "web1" {
		t.Fatalf("open after web2 cleared: got %+v", open)
	}
	resolved, _ := store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusResolved}})
	if len(resolved) != 1 || !resolved[0].ResolvedAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("resolved: got %+v", resolved)
	}
}

func TestPriorityFor(t *testing.T) {
	for _, tc := range []struct {
		labels map[string]string
		want   alerting.Priority
	}{
		{map[string]string{"priority": "p1"}, alerting.P1},
		{map[string]string{"severity": "critical"}, alerting.P2},
		{map[string]string{"severity": "warning"}, alerting.P4},
		{map[string]string{}, alerting.P3},
		{map[string]string{"priority": "P7", "severity": "critical"}, alerting.P2},
	} {
		if got := alerting.PriorityFor(tc.labels); got != tc.want {
			t.Errorf("PriorityFor(%v): got %s, want %s", tc.labels, got, tc.want)
		}
	}
}

func TestDedupKeyStable(t *testing.T) {
	a := alerting.DedupKey("g", "R", map[string]string{"a": "1", "b": "2"})
	b := alerting.DedupKey("g", "R", map[string]string{"b": "2", "a": "1"})
	c := alerting.DedupKey("g", "R", map[string]string{"a": "1", "b": "3"})
	if a != b || a == c {
		t.Errorf("keys: %s %s %s", a, b, c)
	}
}

// TestSeverityChangeKeepsOneIncident: a multi-severity rule's alert that
// turns critical updates its incident instead of opening another.
func TestSeverityChangeKeepsOneIncident(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	alert := func(sev, prio string) []rules.Alert {
		return []rules.Alert{{Group: "fs", Rule: "FilesystemFull", State: rules.StateFiring, FiredAt: t0,
			Labels: labels.FromStrings("alertname", "FilesystemFull", "mount", "/data", "severity", sev, "priority", prio, "service", "erp")}}
	}
	m.Alerts(ctx, t0, "fs", alert("warning", "P4"))
	m.Alerts(ctx, t0.Add(time.Minute), "fs", alert("critical", "P2"))
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if len(list) != 1 {
		t.Fatalf("incidents: got %d, want 1", len(list))
	}
	if list[0].Severity != "critical" || list[0].Priority != alerting.P2 {
		t.Errorf("after the change: got %s/%s, want critical/P2", list[0].Severity, list[0].Priority)
	}
	if got := m.OpenByPriority(); got[alerting.P2] != 1 || got[alerting.P4] != 0 {
		t.Errorf("open by priority: got %v", got)
	}
	if got := m.OpenByService(); len(got) != 1 || got[[2]string{"P2", "erp"}] != 1 {
		t.Errorf("open by service: got %v", got)
	}
}

// TestActionsAndReopen: acknowledge, comment, resolve by hand, close and
// reopen with who and when in the timeline; an alert firing again within
// the reopen window reopens its incident, unacknowledged, instead of
// opening another.
func TestActionsAndReopen(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	firing := []rules.Alert{{Group: "g", Rule: "HostDown", State: rules.StateFiring, FiredAt: t0,
		Labels: labels.FromStrings("alertname", "HostDown", "host", "db1")}}
	m.Alerts(ctx, t0, "g", firing)
	list, _ := store.Incidents(ctx, alerting.Filter{})
	id := list[0].ID

	if err := m.Close(ctx, id, "alice", "", t0); !errors.Is(err, alerting.ErrConflict) {
		t.Errorf("closing an open incident: got %v, want ErrConflict", err)
	}
	if err := m.Acknowledge(ctx, id, "alice", "on it", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.Acknowledge(ctx, id, "bob", "", t0.Add(2*time.Minute)); !errors.Is(err, alerting.ErrConflict) {
		t.Errorf("acknowledging twice: got %v, want ErrConflict", err)
	}
	if err := m.Comment(ctx, id, "bob", "disk replaced", t0.Add(3*time.Minute)); err != nil {
		t.Fatal(err)
	}
	inc, _ := store.Incident(ctx, id)
	if inc.Status != alerting.StatusAcknowledged || inc.AcknowledgedBy != "alice" || !inc.AcknowledgedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("acknowledged incident: got %+v", inc)
	}
	// The alert clears: resolved automatically.
	m.Alerts(ctx, t0.Add(10*time.Minute), "g", nil)
	// It fires again 20 minutes later: the same incident, reopened and
	// unacknowledged.
	firing[0].FiredAt = t0.Add(30 * time.Minute)
	m.Alerts(ctx, t0.Add(30*time.Minute), "g", firing)
	list, _ = store.Incidents(ctx, alerting.Filter{})
	if len(list) != 1 || list[0].Status != alerting.StatusOpen || list[0].AcknowledgedAt != nil {
		t.Fatalf("after firing again: got %+v, want the one incident reopened and unacknowledged", list)
	}
	if err := m.Resolve(ctx, id, "carol", "fixed", t0.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx, id, "carol", "", t0.Add(41*time.Minute)); err != nil {
		t.Fatal(err)
	}
	evs, _ := store.Events(ctx, id)
	var got []string
	for _, e := range evs {
		got = append(got, e.Action+"/"+e.Actor)
	}
	want := "opened/nines acknowledged/alice commented/bob resolved/nines reopened/nines resolved/carol closed/carol"
	if strings.Join(got, " ") != want {
		t.Errorf("timeline:\ngot  %s\nwant %s", strings.Join(got, " "), want)
	}
	// Much later the same problem is a new incident.
	m.Alerts(ctx, t0.Add(4*time.Hour), "g", nil)
	firing[0].FiredAt = t0.Add(5 * time.Hour)
	m.Alerts(ctx, t0.Add(5*time.Hour), "g", firing)
	if list, _ := store.Incidents(ctx, alerting.Filter{}); len(list) != 2 {
		t.Errorf("incidents after the reopen window: got %d, want 2", len(list))
	}
}

func TestPolicyPriority(t *testing.T) {
	p := alerting.DefaultPolicy()
	for _, tc := range []struct {
		labels map[string]string
		want   alerting.Priority
	}{
		{map[string]string{"impact": "high", "urgency": "high"}, alerting.P1},
		{map[string]string{"impact": "medium", "urgency": "high"}, alerting.P2},
		{map[string]string{"impact": "low", "urgency": "low", "severity": "critical"}, alerting.P4},
		{map[string]string{"impact": "high", "urgency": "high", "priority": "P3"}, alerting.P3},
		{map[string]string{"impact": "huge", "severity": "critical"}, alerting.P2},
	} {
		if got := p.Priority(tc.labels); got != tc.want {
			t.Errorf("%v: got %s, want %s", tc.labels, got, tc.want)
		}
	}
}

// TestTimers: near-breach and breach of the response and resolution
// targets are recorded once each, and an acknowledgement meets the
// response target.
func TestTimers(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	m.Alerts(ctx, t0, "g", []rules.Alert{{Group: "g", Rule: "ERPDown", State: rules.StateFiring, FiredAt: t0,
		Labels: labels.FromStrings("alertname", "ERPDown", "impact", "high", "urgency", "high")}})
	list, _ := store.Incidents(ctx, alerting.Filter{})
	inc := list[0]
	if inc.Priority != alerting.P1 {
		t.Fatalf("priority: got %s, want P1 (high impact, high urgency)", inc.Priority)
	}
	for _, d := range []time.Duration{5 * time.Minute, 12 * time.Minute, 13 * time.Minute, 16 * time.Minute} {
		m.CheckTimers(ctx, t0.Add(d))
	}
	_ = m.Acknowledge(ctx, inc.ID, "alice", "", t0.Add(20*time.Minute))
	for _, d := range []time.Duration{time.Hour, 3*time.Hour + 20*time.Minute, 4*time.Hour + time.Minute, 5 * time.Hour} {
		m.CheckTimers(ctx, t0.Add(d))
	}
	evs, _ := store.Events(ctx, inc.ID)
	var got []string
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "target_") {
			got = append(got, e.Action+"@"+e.At.Sub(t0).String())
		}
	}
	want := "target_near_respond@12m0s target_respond@16m0s target_near_resolve@3h20m0s target_resolve@4h1m0s"
	if strings.Join(got, " ") != want {
		t.Errorf("timer events:\ngot  %s\nwant %s", strings.Join(got, " "), want)
	}
	// A restarted manager does not record them again.
	m2, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m2.CheckTimers(ctx, t0.Add(6*time.Hour))
	if evs2, _ := store.Events(ctx, inc.ID); len(evs2) != len(evs) {
		t.Errorf("events after a restart: %d, want %d", len(evs2), len(evs))
	}
}

// TestFlapping: an alert that comes and goes at every evaluation is marked
// flapping and its one incident stays open, without an open/resolve storm,
// until the problem settles.
func TestFlapping(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	lbl := labels.FromStrings("alertname", "LinkFlap", "device", "sw1")
	key := alerting.DedupKey("g", "LinkFlap", lbl.Map())
	eval := func(i int, firing bool) {
		var alerts []rules.Alert
		if firing {
			alerts = []rules.Alert{{Group: "g", Rule: "LinkFlap", State: rules.StateFiring, FiredAt: t0.Add(time.Duration(i) * time.Minute), Labels: lbl}}
		}
		m.Alerts(ctx, t0.Add(time.Duration(i)*time.Minute), "g", alerts)
	}
	i := 0
	for ; i < 30; i++ {
		eval(i, i%2 == 0)
	}
	if !m.Flapping(key) {
		t.Fatal("an alert changing at every evaluation is not flapping")
	}
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if len(list) != 1 || list[0].Status != alerting.StatusOpen {
		t.Fatalf("while flapping: got %+v, want one open incident", list)
	}
	evs, _ := store.Events(ctx, list[0].ID)
	resolves, flapping := 0, 0
	for _, e := range evs {
		switch e.Action {
		case "resolved":
			resolves++
		case "flapping":
			flapping++
		}
	}
	if flapping != 1 || resolves > 3 {
		t.Errorf("timeline: %d flapping events (want 1), %d resolves (want few: only before it was detected)", flapping, resolves)
	}
	// The problem goes away for good: it settles, then resolves.
	for ; i < 60; i++ {
		eval(i, false)
	}
	if m.Flapping(key) {
		t.Error("still flapping after 30 quiet evaluations")
	}
	list, _ = store.Incidents(ctx, alerting.Filter{})
	if list[0].Status != alerting.StatusResolved {
		t.Errorf("after settling: got %s, want resolved", list[0].Status)
	}
}

// TestDependencies: servers behind a switch that go down with it are
// attached to the switch's incident instead of opening their own; when
// the switch's incident resolves, a server still down gets its own.
func TestDependencies(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetDependencies(map[string][]string{"web1": {"sw1"}, "web2": {"sw1"}, "sw1": {"router"}})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	down := func(targets ...string) []rules.Alert {
		var out []rules.Alert
		for _, tg := range targets {
			out = append(out, rules.Alert{Group: "availability", Rule: "HostDown", State: rules.StateFiring, FiredAt: t0,
				Labels: labels.FromStrings("alertname", "HostDown", "target", tg)})
		}
		return out
	}
	// web1 sorts before sw1: the parent must still come first.
	m.Alerts(ctx, t0, "availability", down("web1", "web2", "sw1"))
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if len(list) != 1 || list[0].Target != "sw1" {
		t.Fatalf("incidents: got %+v, want only the switch's", list)
	}
	evs, _ := store.Events(ctx, list[0].ID)
	attached := 0
	for _, e := range evs {
		if e.Action == "child_attached" {
			attached++
		}
	}
	if attached != 2 {
		t.Errorf("children attached: got %d, want 2", attached)
	}
	// The switch comes back, web2 stays down: web2 gets its own incident.
	m.Alerts(ctx, t0.Add(time.Minute), "availability", down("web2"))
	m.Alerts(ctx, t0.Add(2*time.Minute), "availability", down("web2"))
	open, _ := store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}})
	if len(open) != 1 || open[0].Target != "web2" {
		t.Errorf("open after the switch recovered: got %+v, want web2's own incident", open)
	}
}

// TestCloseAfterDelay: a resolved incident closes by itself once it has
// stayed resolved for the policy's delay, not before; 0 turns it off.
func TestCloseAfterDelay(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetPolicy(alerting.DefaultPolicy())
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	firing := []rules.Alert{{Group: "g", Rule: "R", State: rules.StateFiring, FiredAt: t0, Labels: labels.FromStrings("alertname", "R")}}
	m.Alerts(ctx, t0, "g", firing)
	m.Alerts(ctx, t0.Add(time.Minute), "g", nil) // cleared: resolved
	status := func() alerting.Status {
		list, _ := store.Incidents(ctx, alerting.Filter{})
		return list[0].Status
	}
	if s := status(); s != alerting.StatusResolved {
		t.Fatalf("status %s, want resolved", s)
	}
	if err := m.CloseResolved(ctx, t0.Add(23*time.Hour)); err != nil || status() != alerting.StatusResolved {
		t.Errorf("after 23 h: %s, %v; want still resolved", status(), err)
	}
	p := alerting.DefaultPolicy()
	p.CloseAfter = 0
	m.SetPolicy(p)
	if m.CloseResolved(ctx, t0.Add(48*time.Hour)); status() != alerting.StatusResolved {
		t.Errorf("close_after 0: %s, want resolved", status())
	}
	m.SetPolicy(alerting.DefaultPolicy())
	if err := m.CloseResolved(ctx, t0.Add(25*time.Hour)); err != nil || status() != alerting.StatusClosed {
		t.Errorf("after 25 h: %s, %v; want closed", status(), err)
	}
	list, _ := store.Incidents(ctx, alerting.Filter{})
	evs, _ := store.Events(ctx, list[0].ID)
	if last := evs[len(evs)-1]; last.Action != "closed" || last.Actor != alerting.Automatic {
		t.Errorf("last event %+v", last)
	}
}

// TestRoutes: routes pick receivers by priority and labels; a receiver
// told of an incident hears of its end even when it no longer matches.
func TestRoutes(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetPolicy(alerting.DefaultPolicy())
	m.SetReceivers([]string{"desk", "pager", "erp-team"})
	m.SetRoutes([]alerting.Route{
		{Receiver: "desk"},
		{Receiver: "pager", Priorities: []alerting.Priority{alerting.P1}},
		{Receiver: "erp-team", Match: map[string]string{"service": "erp"}},
	})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	alert := func(prio, service string) []rules.Alert {
		return []rules.Alert{{Group: "g", Rule: "R", State: rules.StateFiring, FiredAt: t0,
			Labels: labels.FromStrings("alertname", "R", "priority", prio, "service", service, "host", "h1")}}
	}
	told := func() string {
		list, _ := store.Incidents(ctx, alerting.Filter{})
		r, _ := store.Told(ctx, list[0].ID)
		return strings.Join(r, ",")
	}
	m.Alerts(ctx, t0, "g", alert("P3", "mail"))
	if got := told(); got != "desk" {
		t.Errorf("P3 mail incident told %q, want desk", got)
	}
	m.Alerts(ctx, t0.Add(time.Minute), "g", alert("P1", "mail")) // raised to P1: the pager joins
	if got := told(); got != "desk,pager" {
		t.Errorf("after the raise to P1: %q, want desk,pager", got)
	}
	m.Alerts(ctx, t0.Add(2*time.Minute), "g", alert("P3", "mail")) // back to P3
	m.Alerts(ctx, t0.Add(3*time.Minute), "g", nil)                 // resolved
	list, _ := store.Incidents(ctx, alerting.Filter{})
	ds, _ := store.Deliveries(ctx, list[0].ID)
	var resolvedTo []string
	for _, d := range ds {
		if d.Action == "resolved" {
			resolvedTo = append(resolvedTo, d.Receiver)
		}
	}
	slices.Sort(resolvedTo)
	if strings.Join(resolvedTo, ",") != "desk,pager" {
		t.Errorf("resolution told %v, want desk and pager (the pager heard of it at P1)", resolvedTo)
	}
}

// TestReminders: a route's repeat interval reminds its receiver of an open,
// unacknowledged incident, and stops once it is acknowledged; a manager
// started again picks the schedule up from the timeline.
func TestReminders(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	routes := []alerting.Route{{Receiver: "pager", Priorities: []alerting.Priority{alerting.P1}, Repeat: 10 * time.Minute}, {Receiver: "desk"}}
	newManager := func() *alerting.Manager {
		m, err := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		m.SetPolicy(alerting.DefaultPolicy())
		m.SetRoutes(routes)
		return m
	}
	m := newManager()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	m.Alerts(ctx, t0, "g", []rules.Alert{{Group: "g", Rule: "R", State: rules.StateFiring, FiredAt: t0, Labels: labels.FromStrings("alertname", "R", "priority", "P1")}})
	reminders := func() int {
		list, _ := store.Incidents(ctx, alerting.Filter{})
		evs, _ := store.Events(ctx, list[0].ID)
		n := 0
		for _, e := range evs {
			if e.Action == "reminder" {
				n++
			}
		}
		return n
	}
	for s := 0; s <= 25*60; s += 30 {
		m.CheckTimers(ctx, t0.Add(time.Duration(s)*time.Second))
	}
	if n := reminders(); n != 2 {
		t.Errorf("reminders after 25 min: %d, want 2 (at 10 and 20 min)", n)
	}
	m = newManager() // a restart: the next is due at 30 min, not at once
	m.CheckTimers(ctx, t0.Add(26*time.Minute))
	if n := reminders(); n != 2 {
		t.Errorf("reminders right after a restart: %d, want still 2", n)
	}
	m.CheckTimers(ctx, t0.Add(30*time.Minute))
	if n := reminders(); n != 3 {
		t.Errorf("reminders at 30 min: %d, want 3", n)
	}
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if err := m.Acknowledge(ctx, list[0].ID, "alice", "", t0.Add(31*time.Minute)); err != nil {
		t.Fatal(err)
	}
	m.CheckTimers(ctx, t0.Add(45*time.Minute))
	if n := reminders(); n != 3 {
		t.Errorf("reminders after the acknowledgement: %d, want 3", n)
	}
	ds, _ := store.Deliveries(ctx, list[0].ID)
	for _, d := range ds {
		if d.Action == "reminder" && d.Receiver != "pager" {
			t.Errorf("a reminder went to %s", d.Receiver)
		}
	}
}

// TestResolvePendingConfirmation: a rule labelled resolve: manual keeps
// its incident when the alert clears, until an operator resolves it.
func TestResolvePendingConfirmation(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	firing := []rules.Alert{{Group: "g", Rule: "BackupFailed", State: rules.StateFiring, FiredAt: t0,
		Labels: labels.FromStrings("alertname", "BackupFailed", "resolve", "manual")}}
	m.Alerts(ctx, t0, "g", firing)
	m.Alerts(ctx, t0.Add(time.Minute), "g", nil)
	m.Alerts(ctx, t0.Add(2*time.Minute), "g", nil) // still cleared: one event only
	m.Alerts(ctx, t0.Add(3*time.Minute), "g", firing)
	m.Alerts(ctx, t0.Add(4*time.Minute), "g", nil)
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if len(list) != 1 || list[0].Status != alerting.StatusOpen {
		t.Fatalf("incidents %+v, want one, still open", list)
	}
	evs, _ := store.Events(ctx, list[0].ID)
	var actions []string
	for _, e := range evs {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "opened,cleared,fired_again,cleared" {
		t.Errorf("timeline %s", got)
	}
	if err := m.Resolve(ctx, list[0].ID, "alice", "backup re-run fine", t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := m.OpenByPriority()[list[0].Priority]; got != 0 {
		t.Errorf("still active after the operator resolved it: %d", got)
	}
}

// hours is a schedule of whole UTC hours [from, to).
type hours struct{ from, to int }

func (h hours) Contains(t time.Time) bool { return t.UTC().Hour() >= h.from && t.UTC().Hour() < h.to }

// TestSchedules: a rule's schedule label holds its incident until the
// calendar allows it; a route's schedule picks its receiver only inside.
func TestSchedules(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	office := hours{8, 18}
	m.SetSchedules(map[string]alerting.Schedule{"office": office})
	m.SetRoutes([]alerting.Route{{Receiver: "desk", Schedule: office}, {Receiver: "on-call", Schedule: hours{0, 8}}})
	night := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	printer := []rules.Alert{{Group: "g", Rule: "PrinterOut", State: rules.StateFiring, FiredAt: night,
		Labels: labels.FromStrings("alertname", "PrinterOut", "schedule", "office")}}
	server := []rules.Alert{{Group: "s", Rule: "ServerDown", State: rules.StateFiring, FiredAt: night, Labels: labels.FromStrings("alertname", "ServerDown")}}
	m.Alerts(ctx, night, "g", printer)
	m.Alerts(ctx, night, "s", server)
	list, _ := store.Incidents(ctx, alerting.Filter{})
	if len(list) != 1 || list[0].Rule != "ServerDown" {
		t.Fatalf("at 03:00: %+v; want only the server's incident", list)
	}
	if told, _ := store.Told(ctx, list[0].ID); strings.Join(told, ",") != "on-call" {
		t.Errorf("at night the server incident went to %v, want on-call", told)
	}
	morning := time.Date(2026, 11, 2, 8, 30, 0, 0, time.UTC)
	m.Alerts(ctx, morning, "g", printer)
	list, _ = store.Incidents(ctx, alerting.Filter{})
	if len(list) != 2 {
		t.Fatalf("at 08:30: %d incidents, want the printer's too", len(list))
	}
	for _, inc := range list {
		if inc.Rule == "PrinterOut" {
			if told, _ := store.Told(ctx, inc.ID); strings.Join(told, ",") != "desk" {
				t.Errorf("the printer incident went to %v, want desk", told)
			}
		}
	}
}

// openStore is a fresh SQLite store, closed when the test ends.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// TestHandResolutionWinsWhileFiring: an incident resolved by hand (in
// Nines, or by closing its ticket) while its alert still fires stays
// resolved: no reopening, no second incident, nothing sent, also after a
// restart, until the alert clears; a new firing then reopens it.
func TestHandResolutionWinsWhileFiring(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetReceivers([]string{"redmine"})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	firing := []rules.Alert{{Group: "g", Rule: "HostDown", State: rules.StateFiring, FiredAt: t0,
		Labels: labels.FromStrings("alertname", "HostDown", "host", "db1")}}
	m.Alerts(ctx, t0, "g", firing)
	list, _ := store.Incidents(ctx, alerting.Filter{})
	id := list[0].ID
	if err := m.Resolve(ctx, id, "ticket:redmine", "ticket #7 set to Closed", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	check := func(when string, wantStatus alerting.Status, wantEvents string) {
		t.Helper()
		list, _ := store.Incidents(ctx, alerting.Filter{})
		if len(list) != 1 || list[0].Status != wantStatus {
			t.Fatalf("%s: incidents %+v, want one, %s", when, list, wantStatus)
		}
		evs, _ := store.Events(ctx, id)
		var got []string
		for _, e := range evs {
			got = append(got, e.Action)
		}
		if strings.Join(got, " ") != wantEvents {
			t.Errorf("%s: timeline %q, want %q", when, strings.Join(got, " "), wantEvents)
		}
	}
	for i := 2; i < 10; i++ {
		m.Alerts(ctx, t0.Add(time.Duration(i)*time.Minute), "g", firing)
	}
	check("still firing", alerting.StatusResolved, "opened resolved")
	// A restarted manager (rule state, FiredAt included, is restored).
	m, _ = alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetReceivers([]string{"redmine"})
	m.Alerts(ctx, t0.Add(11*time.Minute), "g", firing)
	check("after a restart", alerting.StatusResolved, "opened resolved")
	// The alert clears, then fires again: a new fault, the incident reopens.
	m.Alerts(ctx, t0.Add(12*time.Minute), "g", nil)
	firing[0].FiredAt = t0.Add(13 * time.Minute)
	m.Alerts(ctx, t0.Add(13*time.Minute), "g", firing)
	check("fired again", alerting.StatusOpen, "opened resolved reopened")
}

// failingStore is a real store whose chosen writes fail while armed.
type failingStore struct {
	*sqlite.Store
	failEvent    string // AddEvent of this action fails
	failSeverity bool
	failTold     bool
}

var errInjected = errors.New("injected store failure")

func (f *failingStore) AddEvent(ctx context.Context, ev alerting.Event) error {
	if ev.Action == f.failEvent {
		return errInjected
	}
	return f.Store.AddEvent(ctx, ev)
}

func (f *failingStore) SetSeverity(ctx context.Context, id int64, sev string, prio alerting.Priority, ev alerting.Event) error {
	if f.failSeverity {
		return errInjected
	}
	return f.Store.SetSeverity(ctx, id, sev, prio, ev)
}

func (f *failingStore) Told(ctx context.Context, id int64) ([]string, error) {
	if f.failTold {
		return nil, errInjected
	}
	return f.Store.Told(ctx, id)
}

// storeErrors reads nines_incident_store_errors_total{op} from reg.
func storeErrors(t *testing.T, reg *prometheus.Registry, op string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "nines_incident_store_errors_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "op" && l.GetValue() == op {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// TestSeverityChangeAtEvaluationTime: the severity event and its
// notification carry the evaluation's time, not the wall clock's, and
// commit with the change.
func TestSeverityChangeAtEvaluationTime(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetReceivers([]string{"desk"})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	alert := func(sev string) []rules.Alert {
		return []rules.Alert{{Group: "fs", Rule: "FilesystemFull", State: rules.StateFiring, FiredAt: t0,
			Labels: labels.FromStrings("alertname", "FilesystemFull", "severity", sev)}}
	}
	m.Alerts(ctx, t0, "fs", alert("warning"))
	at := t0.Add(time.Minute)
	m.Alerts(ctx, at, "fs", alert("critical"))
	list, _ := store.Incidents(ctx, alerting.Filter{})
	evs, _ := store.Events(ctx, list[0].ID)
	if len(evs) != 2 || evs[1].Action != "severity" || !evs[1].At.Equal(at) {
		t.Fatalf("timeline %+v; want opened, then severity at %v", evs, at)
	}
	var sevAt []time.Time
	dl, _ := store.Deliveries(ctx, list[0].ID)
	for _, d := range dl {
		if d.Action == "severity" {
			sevAt = append(sevAt, d.At)
		}
	}
	if len(sevAt) != 1 || !sevAt[0].Equal(at) {
		t.Errorf("severity notifications at %v; want one at %v", sevAt, at)
	}
}

// TestStoreErrorsRetried: an incident change the store refuses is logged,
// counted, and tried again at the next evaluation, so it is recorded
// exactly once with its notifications; nothing is half-done in between.
func TestStoreErrorsRetried(t *testing.T) {
	ctx := context.Background()
	store := &failingStore{Store: openStore(t)}
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	m.Register(reg)
	m.SetReceivers([]string{"desk"})
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	firing := func(sev string) []rules.Alert {
		return []rules.Alert{{Group: "g", Rule: "BackupFailed", State: rules.StateFiring, FiredAt: t0,
			Labels: labels.FromStrings("alertname", "BackupFailed", "resolve", "manual", "severity", sev)}}
	}
	actions := func() string {
		t.Helper()
		list, _ := store.Incidents(ctx, alerting.Filter{})
		if len(list) != 1 {
			t.Fatalf("incidents %+v, want one", list)
		}
		evs, _ := store.Events(ctx, list[0].ID)
		var out []string
		for _, e := range evs {
			out = append(out, e.Action)
		}
		return strings.Join(out, ",")
	}
	m.Alerts(ctx, t0, "g", firing("warning"))

	store.failSeverity = true
	m.Alerts(ctx, t0.Add(time.Minute), "g", firing("critical"))
	if got := actions(); got != "opened" {
		t.Errorf("after a refused severity change: %s", got)
	}
	store.failSeverity = false
	m.Alerts(ctx, t0.Add(2*time.Minute), "g", firing("critical"))

	store.failEvent = "cleared"
	m.Alerts(ctx, t0.Add(3*time.Minute), "g", nil)
	store.failEvent = ""
	m.Alerts(ctx, t0.Add(4*time.Minute), "g", nil)

	store.failEvent = "fired_again"
	m.Alerts(ctx, t0.Add(5*time.Minute), "g", firing("critical"))
	store.failEvent = ""
	m.Alerts(ctx, t0.Add(6*time.Minute), "g", firing("critical"))
	if got, want := actions(), "opened,severity,cleared,fired_again"; got != want {
		t.Errorf("timeline %s, want %s", got, want)
	}
	for _, op := range []string{"severity", "cleared", "fired_again"} {
		if got := storeErrors(t, reg, op); got != 1 {
			t.Errorf("store errors of %s: got %v, want 1", op, got)
		}
	}

	// Who was told cannot be read: the resolution waits rather than
	// going to fewer receivers than heard of the opening.
	list, _ := store.Incidents(ctx, alerting.Filter{})
	store.failTold = true
	if err := m.Resolve(ctx, list[0].ID, "alice", "fixed", t0.Add(7*time.Minute)); !errors.Is(err, errInjected) {
		t.Errorf("resolve with an unreadable outbox: got %v, want the store's error", err)
	}
	store.failTold = false
	if err := m.Resolve(ctx, list[0].ID, "alice", "fixed", t0.Add(8*time.Minute)); err != nil {
		t.Fatal(err)
	}
	dl, _ := store.Deliveries(ctx, list[0].ID)
	var got []string
	for _, d := range dl {
		got = append(got, d.Action)
	}
	if want := "opened,severity,cleared,fired_again,resolved"; strings.Join(got, ",") != want {
		t.Errorf("notifications %v, want %s", got, want)
	}
}
