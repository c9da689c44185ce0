package collector

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/state"
)

// TestAffectedServicesInPages: a host incident names no service, yet the
// wall, the incident page and the service page of the DEGRADED service
// built on the host show it, with who has it.
func TestAffectedServicesInPages(t *testing.T) {
	c, _ := startCollector(t, `availability: {check_interval: 1h}
services:
  - {name: webshop, combine: any, components: {selector: {role: web}, services: [database]}}
  - {name: database, components: {targets: [db1]}}
  - {name: mail, components: {targets: [mx1]}}
`, nil)
	ctx := context.Background()
	now := time.Now()
	for _, h := range []struct{ name, role string }{{"web1", "web"}, {"web3", "web"}, {"db1", "db"}, {"mx1", "mail"}} {
		if err := c.tracker.Observe(ctx, state.Observation{Name: h.name, Interval: time.Hour, Labels: map[string]string{"role": h.role}}, now); err != nil {
			t.Fatal(err)
		}
	}
	checkState(t, c, now, "web3", state.Up)
	inc := &alerting.Incident{DedupKey: "web3", Rule: "HostDown", Title: "web3 down", Target: "web3", Priority: alerting.P2,
		Status: alerting.StatusOpen, OpenedAt: now.Add(-time.Minute)}
	if err := c.store.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if err := c.store.Assign(ctx, inc.ID, "network team", alerting.Event{IncidentID: inc.ID, At: now, Actor: "alice", Action: "assigned", Text: "network team"}); err != nil {
		t.Fatal(err)
	}
	b, err := c.board.Board(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Incidents) != 1 || !slices.Equal(b.Incidents[0].Services, []string{"webshop"}) || b.Incidents[0].Assignee != "network team" {
		t.Errorf("wall incidents %+v, want web3's hitting webshop, assigned to the network team", b.Incidents)
	}
	sv, err := c.board.Service(ctx, "webshop", now)
	if err != nil || sv == nil {
		t.Fatal(sv, err)
	}
	if len(sv.Incidents) != 1 || sv.Incidents[0].ID != inc.ID {
		t.Errorf("webshop's open incidents %+v, want web3's", sv.Incidents)
	}
	if mail, _ := c.board.Service(ctx, "mail", now); len(mail.Incidents) != 0 {
		t.Errorf("mail's open incidents %+v, want none", mail.Incidents)
	}
	d, err := c.board.Incident(ctx, inc, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Services) != 1 || d.Services[0].Name != "webshop" || d.Target == nil || d.Target.State != state.Up {
		t.Errorf("incident detail %+v", d)
	}
	if d.RespondDue == nil || d.ResolveDue == nil || !d.ResolveDue.Equal(inc.OpenedAt.Add(24*time.Hour)) {
		t.Errorf("due times %v %v, want the P2 defaults", d.RespondDue, d.ResolveDue)
	}
	if got := c.board.Affected([]alerting.Incident{*inc})[inc.ID]; !slices.Equal(got, []string{"webshop"}) {
		t.Errorf("Affected = %v", got)
	}
}
