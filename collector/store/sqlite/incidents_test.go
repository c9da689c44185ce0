package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// TestIncidentsBoundedByTimeAndScope: a filter on a period keeps the
// incidents that overlap it (opened before its end, not resolved by its
// start), and one on targets and services keeps those about either.
func TestIncidentsBoundedByTimeAndScope(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "n.db"))
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	h := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Hour) }
	for _, c := range []struct {
		name, target, service string
		opened                int
		resolved              int // hours; -1: still active
	}{
		{"before", "web1", "", 0, 1},       // over before the period
		{"ends-at-from", "web1", "", 1, 2}, // resolved exactly at its start
		{"across-from", "db1", "erp", 1, 3},
		{"inside", "web2", "", 3, 4},
		{"across-to", "web1", "", 4, 6},
		{"at-to", "web1", "", 5, -1}, // opened exactly at its end
		{"after", "web1", "", 6, -1},
		{"active", "app1", "erp", 0, -1}, // open since before it, still open
	} {
		inc := &alerting.Incident{DedupKey: c.name, Group: "g", Rule: "R", Title: c.name, Target: c.target, Service: c.service,
			Priority: alerting.P3, Status: alerting.StatusOpen, OpenedAt: h(c.opened)}
		if err := s.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		if c.resolved >= 0 {
			ev := alerting.Event{IncidentID: inc.ID, At: h(c.resolved), Actor: "nines", Action: "resolved"}
			if err := s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved, ev); err != nil {
				t.Fatal(err)
			}
		}
	}
	titles := func(f alerting.Filter) string {
		t.Helper()
		list, err := s.Incidents(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, inc := range list {
			out = append(out, inc.Title)
		}
		slices.Sort(out)
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		name string
		f    alerting.Filter
		want string
	}{
		{"period [2h, 5h)", alerting.Filter{ActiveAfter: h(2), OpenedBefore: h(5)}, "[across-from across-to active inside]"},
		{"opened before 1h", alerting.Filter{OpenedBefore: h(1)}, "[active before]"},
		{"active after 5h", alerting.Filter{ActiveAfter: h(5)}, "[across-to active after at-to]"},
		{"targets", alerting.Filter{Targets: []string{"web2", "db1"}}, "[across-from inside]"},
		{"services", alerting.Filter{Services: []string{"erp"}}, "[across-from active]"},
		{"target or service, in a period", alerting.Filter{Targets: []string{"web1"}, Services: []string{"erp"}, ActiveAfter: h(2), OpenedBefore: h(5)},
			"[across-from across-to active]"},
		{"with status", alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}, ActiveAfter: h(2), OpenedBefore: h(5)}, "[active]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := titles(tc.f); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
