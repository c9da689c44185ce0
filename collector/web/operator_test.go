package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/web"
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

var rowRE = regexp.MustCompile(`<tr class="st-\w+">\s*<td><a href="/ui/incidents/(\d+)">`)

func rowIDs(body string) []string {
	var ids []string
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
	}
	return ids
}

// TestIncidentListOrderAndPages: 153 active incidents with one old P1:
// the P1 is the first row by default, pages keep the filters and order
// in the address, and the service filter finds host incidents.
func TestIncidentListOrderAndPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	p1 := &alerting.Incident{DedupKey: "p1", Title: "core switch down", Target: "sw1", Priority: alerting.P1, Status: alerting.StatusOpen, OpenedAt: now.Add(-48 * time.Hour)}
	if err := f.store.InsertIncident(ctx, p1); err != nil {
		t.Fatal(err)
	}
	for i := range 152 {
		inc := &alerting.Incident{DedupKey: fmt.Sprint("k", i), Title: fmt.Sprint("disk ", i), Target: fmt.Sprint("pc", i), Priority: alerting.P4,
			Status: alerting.StatusOpen, OpenedAt: now.Add(-time.Duration(i) * time.Minute)}
		if i == 7 {
			inc.Target = "web1" // hits ERP
		}
		if err := f.store.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	_, viewer := f.login(t, "view", "")
	_, body := f.get(t, "/ui/incidents", viewer)
	ids := rowIDs(body)
	if len(ids) != 50 || ids[0] != "1" || !strings.Contains(body, "1–50 of 153 incidents") || !strings.Contains(body, "page 1 of 4") {
		t.Fatalf("first page: %d rows starting %v, want 50 starting with the P1:\n%s", len(ids), ids[:min(3, len(ids))], body)
	}
	_, body = f.get(t, "/ui/incidents?priority=P4&sort=newest", viewer)
	if !strings.Contains(body, `href="/ui/incidents?page=2&amp;priority=P4&amp;sort=newest"`) {
		t.Errorf("next-page link does not keep the filter and order:\n%s", body)
	}
	if ids := rowIDs(body); len(ids) != 50 || ids[0] != "2" {
		t.Errorf("newest first: rows start %v, want incident 2", ids[:min(3, len(ids))])
	}
	_, body = f.get(t, "/ui/incidents?priority=P4&sort=newest&page=4", viewer)
	if ids := rowIDs(body); len(ids) != 2 || !strings.Contains(body, "151–152 of 152") {
		t.Errorf("last page: %v", ids)
	}
	_, body = f.get(t, "/ui/incidents?service=ERP", viewer)
	if ids := rowIDs(body); len(ids) != 1 || ids[0] != "9" {
		t.Errorf("service=ERP: rows %v, want web1's incident 9", ids)
	}
	for _, bad := range []string{"sort=size", "page=0", "page=x"} {
		if resp, _ := f.get(t, "/ui/incidents?"+bad, viewer); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// TestTimeZone: pages show times in the configured zone and say which;
// the maintenance form reads its start in that zone.
func TestTimeZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	f := newSecFixture(t, func(o *web.Options) {
		o.Audit, o.Sessions = nil, nil
		o.Location = func() *time.Location { return shanghai }
	})
	f.clock.mu.Lock()
	f.clock.now = time.Date(2026, 12, 4, 14, 0, 0, 0, time.UTC)
	f.clock.mu.Unlock()
	inc := &alerting.Incident{DedupKey: "a", Title: "web1 down", Target: "web1", Priority: alerting.P1, Status: alerting.StatusOpen,
		OpenedAt: time.Date(2026, 12, 4, 13, 0, 0, 0, time.UTC)}
	if err := f.store.InsertIncident(context.Background(), inc); err != nil {
		t.Fatal(err)
	}
	_, op := f.login(t, "op", "")
	_, page := f.get(t, "/ui/incidents/1", op)
	for _, want := range []string{"Times in Asia/Shanghai (CST, UTC&#43;08:00)", "2026-12-04 21:00:00 CST (1h 0m ago)",
		// P1 (fake policy): resolve in 4 h.
		`id="resolve-due">2026-12-05 01:00:00 CST (in 3h 0m)`, `data-confirm="Resolve incident #1?`} {
		if !strings.Contains(page, want) {
			t.Errorf("incident page lacks %q:\n%s", want, page)
		}
	}
	_, page = f.get(t, "/ui/targets/web1", op)
	if want := `<div class="xaxis"><time>21:00</time><time>21:15</time><time>21:30</time><time>21:45</time><time>22:00</time></div>`; !strings.Contains(page, want) {
		t.Errorf("chart has no time axis in the zone (%s):\n%s", want, page)
	}
	_, page = f.get(t, "/ui/maintenance", op)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, "Start, Asia/Shanghai (CST, UTC&#43;08:00)") {
		t.Fatalf("maintenance form does not name its zone:\n%s", page)
	}
	req, _ := http.NewRequest("POST", f.srv.URL+"/ui/maintenance", strings.NewReader(url.Values{"csrf": {m[1]}, "name": {"patch"}, "targets": {"web1"},
		"start": {"2026-12-05T09:00"}, "duration": {"1h"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(op)
	if resp, body := do(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", resp.StatusCode, body)
	}
	if w := f.maint.windows[0]; !w.From.Equal(time.Date(2026, 12, 5, 1, 0, 0, 0, time.UTC)) {
		t.Errorf("09:00 in Shanghai started at %s, want 01:00 UTC", w.From.UTC())
	}
	_, page = f.get(t, "/ui/maintenance", op)
	if !strings.Contains(page, `data-confirm="End the maintenance window patch now?`) || !strings.Contains(page, "2026-12-05 09:00:00 CST") {
		t.Errorf("maintenance list: no confirmation on End now, or not in the zone:\n%s", page)
	}
}
