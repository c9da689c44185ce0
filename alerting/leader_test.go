package alerting_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/rules"
)

// TestFollowerDecidesNothing: of two managers on one store, the
// follower opens, resolves and times nothing while the leader does; when
// it takes the lead (Reload), it continues the leader's incident (same
// id, no second one) and resolves it when the alert clears.
func TestFollowerDecidesNothing(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	newManager := func(leads *bool) *alerting.Manager {
		m, err := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		m.SetLeader(func() bool { return *leads })
		m.SetReceivers([]string{"desk"})
		return m
	}
	aLeads, bLeads := false, false
	a, b := newManager(&aLeads), newManager(&bLeads)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	firing := []rules.Alert{{Group: "availability", Rule: "HostDown", State: rules.StateFiring, FiredAt: t0,
		Labels: labels.FromStrings("alertname", "HostDown", "host", "web1", "priority", "P1")}}
	count := func() []alerting.Incident {
		t.Helper()
		list, err := store.Incidents(ctx, alerting.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	// Neither leads yet (the lock is being taken): nothing opens.
	a.Alerts(ctx, t0, "availability", firing)
	b.Alerts(ctx, t0, "availability", firing)
	if n := len(count()); n != 0 {
		t.Fatalf("incidents opened without a leader: %d", n)
	}
	aLeads = true
	a.Alerts(ctx, t0, "availability", firing)
	b.Alerts(ctx, t0, "availability", firing)
	list := count()
	if len(list) != 1 {
		t.Fatalf("incidents with a leader: %d, want 1", len(list))
	}
	id := list[0].ID
	// P1's response target (15 min) passes: only the leader records it.
	b.CheckTimers(ctx, t0.Add(time.Hour))
	if evs, _ := store.Events(ctx, id); len(evs) != 1 {
		t.Fatalf("the follower recorded timer events: %+v", evs)
	}

	// a goes; b takes over.
	aLeads, bLeads = false, true
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	b.Alerts(ctx, t0.Add(time.Minute), "availability", firing)
	if list := count(); len(list) != 1 || list[0].ID != id || list[0].Status != alerting.StatusOpen {
		t.Fatalf("after the takeover, still firing: %+v, want incident %d open and no other", list, id)
	}
	b.CheckTimers(ctx, t0.Add(time.Hour))
	if got := b.OpenByPriority()[alerting.P1]; got != 1 {
		t.Errorf("the new leader's open P1 incidents: %d, want 1", got)
	}
	b.Alerts(ctx, t0.Add(2*time.Minute), "availability", nil)
	inc, err := store.Incident(ctx, id)
	if err != nil || inc.Status != alerting.StatusResolved {
		t.Fatalf("after the alert cleared: %+v, %v; want resolved", inc, err)
	}
	// The old leader, alive but following, resolves or opens nothing.
	a.Alerts(ctx, t0.Add(3*time.Minute), "availability", firing)
	if n := len(count()); n != 1 {
		t.Errorf("the follower opened an incident: %d", n)
	}
	if inc, _ := store.Incident(ctx, id); inc.Status != alerting.StatusResolved {
		t.Errorf("the follower reopened the incident: %s", inc.Status)
	}
}
