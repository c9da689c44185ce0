package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// startCollector runs a collector from cfgYAML (listen_address is set to a
// free loopback address) with files written into a fresh directory, and
// stops it when the test ends. It returns the collector and its base URL.
func startCollector(t *testing.T, cfgYAML string, files map[string]string) (*Collector, string) {
	t.Helper()
	return startCollectorIn(t, t.TempDir(), cfgYAML, files)
}

// startCollectorIn is startCollector with the configuration written to
// dir/c.yml (which POST /-/reload reads again).
func startCollectorIn(t *testing.T, dir, cfgYAML string, files map[string]string) (*Collector, string) {
	t.Helper()
	addr := freeAddr(t)
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(path, []byte("web: {listen_address: \""+addr+"\"}\nstorage: {path: n.db}\n"+cfgYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), func() (*config.Config, error) { return config.LoadFile(path) })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-c.Listening():
	case err := <-done:
		t.Fatalf("the collector stopped before listening: %v", err)
	}
	return c, "http://" + addr
}

func send(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkState runs the tracker's deadline check at now, as the collector's
// schedule does, and wants the named target in the state.
func checkState(t *testing.T, c *Collector, now time.Time, name string, want state.State) {
	t.Helper()
	if err := c.tracker.Check(context.Background(), now); err != nil {
		t.Fatal(err)
	}
	for _, tg := range c.tracker.Snapshot() {
		if tg.Name == name {
			if tg.State != want {
				t.Fatalf("%s is %s at %s, want %s", name, tg.State, now.Format(time.RFC3339Nano), want)
			}
			return
		}
	}
	t.Fatalf("%s is not tracked: %+v", name, c.tracker.Snapshot())
}

// TestMaintenanceAPI: an operator puts a host into maintenance through the
// API and ends the window; a viewer may only list; bad requests name the
// field; windows outlive a restart of the store.
func TestMaintenanceAPI(t *testing.T) {
	// The test runs the deadline checks itself (check_interval keeps the
	// schedule's out of the way).
	c, base := startCollector(t, `availability: {check_interval: 1h}
auth:
  tokens:
    - {name: alice, role: operator, token_file: op.token}
    - {name: noc, role: viewer, token_file: view.token}
maintenance:
  - {name: planned, targets: [other], start: "2030-01-01T00:00:00Z", end: "2030-01-01T02:00:00Z"}
`, map[string]string{"op.token": "op", "view.token": "view"})
	ctx := context.Background()
	if err := c.tracker.Observe(ctx, state.Observation{Name: "web1", Interval: time.Hour}, time.Now()); err != nil {
		t.Fatal(err)
	}
	checkState(t, c, time.Now(), "web1", state.Up)

	if code, _ := send(t, "POST", base+"/api/v1/maintenance", "view", `{"name":"x","targets":["web1"],"duration":"1h"}`); code != http.StatusForbidden {
		t.Errorf("viewer creating a window: %d, want 403", code)
	}
	for body, want := range map[string]string{
		`{"targets":["web1"],"duration":"1h"}`:                                                        "name: required",
		`{"name":"x","duration":"1h"}`:                                                                "targets, selector or services",
		`{"name":"x","targets":["web1"]}`:                                                             "end or duration: required",
		`{"name":"x","targets":["web1"],"duration":"-1h"}`:                                            `duration: invalid duration \"-1h\"`,
		`{"name":"x","targets":["web1"],"duration":"2 days"}`:                                         `duration: invalid duration \"2 days\": want a value such as`,
		`{"name":"x","targets":["web1"],"end":"tomorrow"}`:                                            "end: want an RFC 3339 time",
		`{"name":"x","targets":["web1"],"duration":"1h","x":1}`:                                       "unknown field",
		`{"name":"x","targets":["web1"],"duration":"2000h"}`:                                          "at most",
		`{"name":"x","targets":["web1"],"end":"2020-01-01T00:00:00Z","start":"2019-12-31T00:00:00Z"}`: "over already",
	} {
		code, got := send(t, "POST", base+"/api/v1/maintenance", "op", body)
		if code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s; want 400 naming %q", body, code, got, want)
		}
	}
	code, body := send(t, "POST", base+"/api/v1/maintenance", "op", `{"name":"kernel update","targets":["web1"],"duration":"1h"}`)
	if code != http.StatusCreated || !strings.Contains(body, `"created_by":"alice"`) || !strings.Contains(body, `"id":1`) {
		t.Fatalf("create: %d %s", code, body)
	}
	checkState(t, c, time.Now(), "web1", state.Maintenance)

	code, body = send(t, "GET", base+"/api/v1/maintenance", "view", "")
	if code != 200 || !strings.Contains(body, `"kernel update"`) || !strings.Contains(body, `"source":"config"`) || !strings.Contains(body, `"source":"api"`) {
		t.Errorf("list: %d %s", code, body)
	}
	code, body = send(t, "GET", base+"/api/v1/maintenance?active=true", "view", "")
	if code != 200 || strings.Contains(body, `"planned"`) || !strings.Contains(body, `"kernel update"`) {
		t.Errorf("active list: %d %s", code, body)
	}

	if code, _ := send(t, "POST", base+"/api/v1/maintenance/1/end", "view", ""); code != http.StatusForbidden {
		t.Errorf("viewer ending: %d, want 403", code)
	}
	if code, body := send(t, "POST", base+"/api/v1/maintenance/1/end", "op", ""); code != 200 {
		t.Fatalf("end: %d %s", code, body)
	}
	if err := c.tracker.Observe(ctx, state.Observation{Name: "web1", Interval: time.Hour}, time.Now()); err != nil {
		t.Fatal(err)
	}
	checkState(t, c, time.Now(), "web1", state.Up)
	if code, _ := send(t, "POST", base+"/api/v1/maintenance/1/end", "op", ""); code != http.StatusConflict {
		t.Errorf("ending twice: %d, want 409", code)
	}
	if code, _ := send(t, "POST", base+"/api/v1/maintenance/42/end", "op", ""); code != http.StatusNotFound {
		t.Errorf("ending an unknown window: %d, want 404", code)
	}
	_, body = send(t, "GET", base+"/api/v1/maintenance", "view", "")
	if !strings.Contains(body, `"ended_by":"alice"`) {
		t.Errorf("list after end: %s", body)
	}

	// Durations read as in the configuration: days and weeks too.
	code, body = send(t, "POST", base+"/api/v1/maintenance", "op", `{"name":"move","targets":["web1"],"start":"2030-01-01T00:00:00Z","duration":"2d"}`)
	var created struct {
		Data struct{ Start, End time.Time }
	}
	if err := json.Unmarshal([]byte(body), &created); code != http.StatusCreated || err != nil || created.Data.End.Sub(created.Data.Start) != 48*time.Hour {
		t.Errorf("a 2d window: %d %s (%v); want 201 and 48h from start to end", code, body, err)
	}
}

// TestRecurringAndServiceWindows: a window on a calendar is in force
// whenever the calendar is, and a window naming a service covers its
// targets, through the services it needs.
func TestRecurringAndServiceWindows(t *testing.T) {
	now := time.Now().UTC()
	c, base := startCollector(t, fmt.Sprintf(`availability: {check_interval: 1h}
auth:
  tokens:
    - {name: alice, role: operator, token_file: op.token}
calendars:
  - {name: always, hours: {mon-sun: ["00:00-24:00"]}}
  - {name: never-today, hours: {%s: ["00:00-00:01"]}}
services:
  - {name: erp, components: {targets: [app1], services: [database]}}
  - {name: database, components: {targets: [db1]}}
maintenance:
  - {name: weekly patching, targets: [web1], schedule: always}
  - {name: not now, targets: [web2], schedule: never-today}
  - {name: erp upgrade, services: [erp], start: %q, end: %q}
`, strings.ToLower(now.Add(72 * time.Hour).Weekday().String()[:3]), now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)), map[string]string{"op.token": "op"})
	ctx := context.Background()
	for _, h := range []string{"web1", "web2", "app1", "db1"} {
		if err := c.tracker.Observe(ctx, state.Observation{Name: h, Interval: time.Hour}, now); err != nil {
			t.Fatal(err)
		}
	}
	checkState(t, c, now, "web1", state.Maintenance)
	checkState(t, c, now, "app1", state.Maintenance)
	checkState(t, c, now, "db1", state.Maintenance)
	checkState(t, c, now, "web2", state.Up)
	ws, err := maintenanceBook{c}.Windows(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	// An always-on calendar is one stretch, laid out a week ahead.
	var weekly []state.Window
	for _, w := range ws {
		if w.Name == "weekly patching" {
			weekly = append(weekly, w)
		}
	}
	if len(weekly) != 1 || weekly[0].From.After(now) || weekly[0].To.Before(now.Add(7*24*time.Hour)) {
		t.Errorf("recurring window laid out as %+v; want one from before now to a week ahead", weekly)
	}

	// Through the API: a recurring window by service, and refusals.
	for body, want := range map[string]string{
		`{"name":"x","services":["nope"],"duration":"1h"}`:                  "services: unknown service",
		`{"name":"x","targets":["web2"],"schedule":"nope","duration":"1h"}`: "schedule: unknown calendar",
		`{"name":"x","targets":["web2"],"duration":"2000h"}`:                "at most",
	} {
		if code, got := send(t, "POST", base+"/api/v1/maintenance", "op", body); code != http.StatusBadRequest || !strings.Contains(got, want) {
			t.Errorf("POST %s: %d %s; want 400 naming %q", body, code, got, want)
		}
	}
	code, got := send(t, "POST", base+"/api/v1/maintenance", "op", `{"name":"nightly","services":["database"],"schedule":"always","duration":"2000h"}`)
	if code != http.StatusCreated || !strings.Contains(got, `"schedule":"always"`) {
		t.Fatalf("recurring window by service: %d %s", code, got)
	}
	ws, _ = maintenanceBook{c}.Windows(ctx, now)
	found := false
	for _, w := range ws {
		if w.Name == "nightly" && slices.Contains(w.Targets, "db1") && w.Active(time.Now()) {
			found = true
		}
	}
	if !found {
		t.Errorf("the API's recurring window by service is not laid out over db1 now: %+v", ws)
	}
}

// TestAuditLog: changes through the API and reloads are recorded with who
// and when, and only an admin reads them back.
func TestAuditLog(t *testing.T) {
	c, base := startCollector(t, `rules: {files: [r.yml]}
auth:
  tokens:
    - {name: alice, role: operator, token_file: op.token}
    - {name: root, role: admin, token_file: admin.token}
`, map[string]string{"op.token": "op", "admin.token": "adm",
		"r.yml": "groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: A\n        expr: vector(1)\n"})
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if list, _ := c.store.Incidents(ctx, alerting.Filter{}); len(list) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no incident")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, body := send(t, "POST", base+"/api/v1/incidents/1/acknowledge", "op", `{"comment": "mine"}`); code != 200 {
		t.Fatalf("ack: %d %s", code, body)
	}
	if code, body := send(t, "POST", base+"/api/v1/maintenance", "op", `{"name": "patch", "targets": ["h"], "duration": "1h"}`); code != 201 {
		t.Fatalf("maintenance: %d %s", code, body)
	}
	if code, body := send(t, "POST", base+"/-/reload", "adm", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	c.Audit("signal", "config.reload", "SIGHUP")
	if code, _ := send(t, "GET", base+"/api/v1/audit", "op", ""); code != http.StatusForbidden {
		t.Errorf("operator reading the audit log: %d, want 403", code)
	}
	code, body := send(t, "GET", base+"/api/v1/audit", "adm", "")
	for _, want := range []string{`"principal":"alice","action":"incident.acknowledge","object":"incident/1","detail":"mine"`,
		`"principal":"alice","action":"maintenance.create","object":"maintenance/1"`,
		`"principal":"root","action":"config.reload","object":"config"`,
		`"principal":"signal","action":"config.reload"`} {
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("audit log lacks %s:\n%s", want, body)
		}
	}
	_, body = send(t, "GET", base+"/api/v1/audit?action=incident.&principal=alice", "adm", "")
	if strings.Contains(body, "maintenance") || !strings.Contains(body, "incident.acknowledge") {
		t.Errorf("filtered audit log: %s", body)
	}
	if code, _ := send(t, "GET", base+"/api/v1/audit?since=yesterday", "adm", ""); code != http.StatusBadRequest {
		t.Errorf("bad since: %d", code)
	}
}

// TestNotificationsAPI: an incident's notifications and their delivery
// state are readable, failures included.
func TestNotificationsAPI(t *testing.T) {
	c, base := startCollector(t, `rules: {files: [r.yml]}
auth:
  tokens:
    - {name: noc, role: viewer, token_file: view.token}
receivers:
  - {name: hook, webhook: {url: "http://127.0.0.1:1/", secret: s, timeout: 1s}}
`, map[string]string{"view.token": "view",
		"r.yml": "groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: A\n        expr: vector(1)\n"})
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, _ := c.store.Incidents(ctx, alerting.Filter{})
		if len(list) == 1 {
			if ds, _ := c.store.Deliveries(ctx, list[0].ID); len(ds) == 1 && ds[0].LastError != "" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no failed delivery attempt")
		}
		time.Sleep(50 * time.Millisecond)
	}
	code, body := send(t, "GET", base+"/api/v1/incidents/1/notifications", "view", "")
	if code != 200 || !strings.Contains(body, `"receiver":"hook","action":"opened"`) || !strings.Contains(body, `"status":"pending"`) ||
		!strings.Contains(body, `"last_error":"POST webhook`) || !strings.Contains(body, `"tickets":[]`) {
		t.Errorf("notifications: %d %s", code, body)
	}
	if code, _ := send(t, "GET", base+"/api/v1/incidents/9/notifications", "view", ""); code != http.StatusNotFound {
		t.Errorf("unknown incident: %d", code)
	}
}

// TestNoIncidentInMaintenance: an alert about a target in a maintenance
// window (by name or by label) opens no incident and is counted; another
// target's does.
func TestNoIncidentInMaintenance(t *testing.T) {
	now := time.Now().UTC()
	c, _ := startCollector(t, fmt.Sprintf(`rules: {files: [r.yml]}
maintenance:
  - {name: patching, targets: [web1], start: %q, end: %q}
  - {name: site move, selector: {site: branch}, start: %q, end: %q}
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339),
		now.Add(-time.Hour).Format(time.RFC3339), now.Add(time.Hour).Format(time.RFC3339)), map[string]string{
		"r.yml": `groups:
  - name: g
    interval: 100ms
    rules:
      - {alert: DiskFull, expr: 'label_replace(vector(1), "host", "web1", "", "")'}
      - {alert: DiskFull2, expr: 'label_replace(label_replace(vector(1), "host", "pc7", "", ""), "site", "branch", "", "")'}
      - {alert: DiskFull3, expr: 'label_replace(vector(1), "host", "db1", "", "")'}
`})
	ctx := context.Background()
	// The rule group evaluates its alerts in one pass, in order: once
	// db1's incident is there, web1's and pc7's alerts were decided.
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, _ := c.store.Incidents(ctx, alerting.Filter{})
		if slices.ContainsFunc(list, func(inc alerting.Incident) bool { return inc.Target == "db1" }) {
			if len(list) != 1 {
				t.Fatalf("incidents %+v; want only db1's", list)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no incident for db1")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fams, _ := c.registry.Gather()
	for _, mf := range fams {
		if mf.GetName() == "nines_alerts_suppressed_total" {
			if v := mf.GetMetric()[0].GetCounter().GetValue(); v < 2 {
				t.Errorf("suppressed %v, want at least 2", v)
			}
			return
		}
	}
	t.Error("no nines_alerts_suppressed_total")
}
