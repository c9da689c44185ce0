package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// TestIncidentWhoAndServices: every incident row says who has it and
// which services it hits; the incident page adds the target's state now,
// the services' states and the due times.
func TestIncidentWhoAndServices(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	for _, inc := range []*alerting.Incident{
		{DedupKey: "a", Title: "web1 down", Target: "web1", Priority: alerting.P2, Status: alerting.StatusOpen, OpenedAt: now.Add(-time.Hour)},
		{DedupKey: "b", Title: "db down", Target: "db9", Priority: alerting.P3, Status: alerting.StatusOpen, OpenedAt: now.Add(-time.Hour)},
	} {
		if err := f.store.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.Transition(ctx, 1, []alerting.Status{alerting.StatusOpen}, alerting.StatusAcknowledged,
		alerting.Event{IncidentID: 1, At: now, Actor: "alice", Action: "acknowledged"}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Assign(ctx, 2, "dba team", alerting.Event{IncidentID: 2, At: now, Actor: "bob", Action: "assigned", Text: "dba team"}); err != nil {
		t.Fatal(err)
	}
	_, viewer := f.login(t, "view", "")
	_, body := f.get(t, "/ui/incidents", viewer)
	for _, want := range []string{`<td class="who">acknowledged by alice</td>`, `<td class="who">assigned to dba team</td>`,
		`<td class="services"><a href="/ui/services/ERP">ERP</a> </td>`} {
		if !strings.Contains(body, want) {
			t.Errorf("incident list lacks %s:\n%s", want, body)
		}
	}
	_, page := f.get(t, "/ui/incidents/1", viewer)
	for _, want := range []string{`id="incident-who">acknowledged by alice`, `<a href="/ui/services/ERP">ERP</a> <span class="badge st-degraded">degraded</span> <strong class="at-risk">SLA at risk</strong>`,
		`now <span class="badge st-down">down</span>`, `id="resolve-due"`} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %s:\n%s", want, page)
		}
	}
}
