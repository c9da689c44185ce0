package servicelevel

import (
	"slices"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/state"
)

const catalogue = `
services:
  - {name: webshop, components: {targets: [lb1], selector: {role: web}, services: [database]}}
  - {name: database, components: {targets: [db1]}}
  - {name: mail, components: {targets: [mx1]}}
`

// TestAffected derives an incident's services from the catalogue: a
// target listed, matched by selector, or needed through a service.
func TestAffected(t *testing.T) {
	cfg := loadConfig(t, catalogue)
	targets := []state.Target{{Name: "web3", Labels: map[string]string{"role": "web"}}, {Name: "db1"}, {Name: "lb1"}, {Name: "lone"}}
	by := ServicesByTarget(cfg, targets)
	for _, tc := range []struct {
		inc  alerting.Incident
		want []string
	}{
		{alerting.Incident{Target: "web3"}, []string{"webshop"}},
		{alerting.Incident{Target: "db1"}, []string{"database", "webshop"}},
		{alerting.Incident{Target: "lone"}, nil},
		{alerting.Incident{Target: "lone", Service: "mail"}, []string{"mail"}},
		{alerting.Incident{Target: "lb1", Service: "mail"}, []string{"mail", "webshop"}},
	} {
		if got := Affected(by, tc.inc); !slices.Equal(got, tc.want) {
			t.Errorf("Affected(%+v) = %v, want %v", tc.inc, got, tc.want)
		}
	}
}

// TestReportCountsHostIncidents: a host incident with no service counts
// for every service the host is part of.
func TestReportCountsHostIncidents(t *testing.T) {
	st := newReportFixture(t, map[string][][2]string{
		"db1":  {{"2026-09-01T00:00:00Z", "up"}, {"2026-11-05T10:00:00Z", "down"}, {"2026-11-05T10:30:00Z", "up"}},
		"web3": {{"2026-09-01T00:00:00Z", "up"}},
		"lb1":  {{"2026-09-01T00:00:00Z", "up"}},
		"mx1":  {{"2026-09-01T00:00:00Z", "up"}},
	})
	st.incidents = []alerting.Incident{{ID: 3, Target: "db1", Priority: alerting.P3, OpenedAt: utc("2026-11-05T10:01:00Z"),
		ResolvedAt: ptr(utc("2026-11-05T10:31:00Z"))}}
	cfg := loadConfig(t, catalogue)
	r := build(t, st, cfg, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
	for _, s := range r.Services {
		want := 1
		if s.Name == "mail" {
			want = 0
		}
		if s.Incidents.Total != want {
			t.Errorf("%s: %d incidents counted, want %d", s.Name, s.Incidents.Total, want)
		}
		if s.Name == "webshop" && (len(s.Outages) != 1 || !slices.Equal(s.Outages[0].Incidents, []int64{3})) {
			t.Errorf("webshop outages %+v, want one linked to incident 3", s.Outages)
		}
	}
}

func TestBudgetAndRisk(t *testing.T) {
	// Two minutes of data, 24 s down, objective 99.9 %: the budget is
	// 0.12 s, overspent by 23.88 s (not "-19900 %").
	res := availability.Result{Up: 96 * time.Second, Down: 24 * time.Second}
	b := BudgetOf(res, 0.999)
	if !b.Exhausted() || b.Remaining() != 0 || b.Overrun() != 23880*time.Millisecond {
		t.Errorf("budget %+v: exhausted %v remaining %v overrun %v", b, b.Exhausted(), b.Remaining(), b.Overrun())
	}
	half := BudgetOf(availability.Result{Up: 30 * 24 * time.Hour, Down: 21*time.Minute + 36*time.Second}, 0.999)
	if half.Exhausted() || half.Remaining() < 0.49 || half.Remaining() > 0.51 {
		t.Errorf("half-spent budget %+v: remaining %v", half, half.Remaining())
	}
	quiet := Figures{Objective: 0.999, Windows: map[time.Duration]availability.Result{
		time.Hour: {Up: time.Hour}, 6 * time.Hour: {Up: 6 * time.Hour}, 24 * time.Hour: {Up: 24 * time.Hour}, 30 * 24 * time.Hour: {Up: 30 * 24 * time.Hour}}}
	if risk, _ := quiet.AtRisk(); risk {
		t.Errorf("a service with no downtime is at risk")
	}
	// 1 minute down in the last hour: burn rate 16.7 > 14.4.
	fast := Figures{Objective: 0.999, Windows: map[time.Duration]availability.Result{
		time.Hour: {Up: 59 * time.Minute, Down: time.Minute}, 6 * time.Hour: {Up: 6 * time.Hour}, 24 * time.Hour: {Up: 24 * time.Hour},
		30 * 24 * time.Hour: {Up: 30 * 24 * time.Hour, Down: time.Minute}}}
	if risk, rate := fast.AtRisk(); !risk || rate < 16 || rate > 17 {
		t.Errorf("fast burn: at risk %v, rate %v", risk, rate)
	}
}
