package servicelevel

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/email"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/internal/golden"
)

// reportFixture is a store with a hand-written history and incidents.
type reportFixture struct {
	*sqlite.Store
	incidents []alerting.Incident
}

func (f reportFixture) Incidents(context.Context, alerting.Filter) ([]alerting.Incident, error) {
	return f.incidents, nil
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func newReportFixture(t *testing.T, history map[string][][2]string) reportFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for target, changes := range history {
		prev := state.Unknown
		for _, c := range changes { // {RFC 3339 time, new state}
			to := state.State(c[1])
			if err := st.RecordChange(context.Background(), state.Change{Target: target, Kind: state.KindHost, From: prev, To: to, At: utc(c[0]), Cause: "test"}); err != nil {
				t.Fatal(err)
			}
			prev = to
		}
	}
	return reportFixture{Store: st}
}

func loadConfig(t *testing.T, yml string) *config.Config {
	t.Helper()
	cfg, err := config.Load("c.yml", []byte(yml))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func build(t *testing.T, st History, cfg *config.Config, from, to string, services ...string) *report.Report {
	t.Helper()
	r, err := BuildReport(context.Background(), st, ReportInput{Config: cfg, Policy: alerting.DefaultPolicy(),
		From: utc(from), To: utc(to), Now: utc("2026-12-15T00:00:00Z"), Services: services})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReportScenarios checks hand-computed figures, to the second.
func TestReportScenarios(t *testing.T) {
	st := newReportFixture(t, map[string][][2]string{
		// Down across the month boundary: 30 min in October, 45 in November.
		"app1": {{"2026-09-01T00:00:00Z", "up"}, {"2026-10-31T23:30:00Z", "down"}, {"2026-11-01T00:45:00Z", "up"}},
		// An outage that maintenance overlaps: 10:00-10:30 counts, the
		// window 10:30-12:00 does not.
		"db1": {{"2026-09-01T00:00:00Z", "up"}, {"2026-10-05T10:00:00Z", "down"}, {"2026-10-05T10:30:00Z", "maintenance"}, {"2026-10-05T12:00:00Z", "up"}},
		// Monday 08:00-11:00 in Shanghai (00:00-03:00 UTC).
		"desk1": {{"2026-09-01T00:00:00Z", "up"}, {"2026-11-02T00:00:00Z", "down"}, {"2026-11-02T03:00:00Z", "up"}},
		// 22:00 local on 24 October to 04:00 local on the 25th in Berlin,
		// across the end of summer time: 7 hours.
		"fw1": {{"2026-09-01T00:00:00Z", "up"}, {"2026-10-24T20:00:00Z", "down"}, {"2026-10-25T03:00:00Z", "up"}},
		// 43 and 44 minutes down in 30 days.
		"mail1": {{"2026-09-01T00:00:00Z", "up"}, {"2026-09-10T00:00:00Z", "down"}, {"2026-09-10T00:43:00Z", "up"}},
		"mail2": {{"2026-09-01T00:00:00Z", "up"}, {"2026-09-10T00:00:00Z", "down"}, {"2026-09-10T00:44:00Z", "up"}},
	})
	st.incidents = []alerting.Incident{
		{ID: 7, Service: "erp", Target: "app1", Priority: alerting.P2, OpenedAt: utc("2026-10-31T23:31:00Z"),
			AcknowledgedAt: ptr(utc("2026-10-31T23:41:00Z")), ResolvedAt: ptr(utc("2026-11-01T00:46:00Z"))},
		{ID: 8, Service: "erp", Priority: alerting.P1, OpenedAt: utc("2026-10-20T10:00:00Z"),
			AcknowledgedAt: ptr(utc("2026-10-20T10:20:00Z")), ResolvedAt: ptr(utc("2026-10-20T16:00:00Z"))},
	}
	cfg := loadConfig(t, `
calendars:
  - {name: shanghai-office, time_zone: Asia/Shanghai, hours: {mon-fri: ["09:00-18:00"]}}
  - {name: berlin-24x7, time_zone: Europe/Berlin, hours: {mon-sun: ["00:00-24:00"]}}
services:
  - {name: erp, components: {targets: [app1], services: [database]}}
  - {name: database, components: {targets: [db1]}}
  - {name: desktops, schedule: shanghai-office, components: {targets: [desk1]}}
  - {name: firewall, schedule: berlin-24x7, components: {targets: [fw1]}}
  - {name: mail-a, components: {targets: [mail1]}}
  - {name: mail-b, components: {targets: [mail2]}}
  - {name: ghost-exclude, components: {targets: [never]}}
  - {name: ghost-down, no_data: down, components: {targets: [never]}}
  - {name: ghost-up, no_data: up, components: {targets: [never]}}
`)
	get := func(r *report.Report, name string) report.Service {
		for _, s := range r.Services {
			if s.Name == name {
				return s
			}
		}
		t.Fatalf("no %s in the report", name)
		return report.Service{}
	}
	d := func(s report.Seconds) time.Duration { return time.Duration(s) }

	oct := build(t, st, cfg, "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")
	erp := get(oct, "erp")
	// app1 30 min at the month's end, plus db1 10:00-10:30 through the
	// database service it needs.
	if d(erp.Downtime) != time.Hour || d(erp.Eligible) != 31*24*time.Hour-90*time.Minute {
		t.Errorf("erp October: down %v eligible %v; want 1h and 31d - 1h30m (the maintenance)", d(erp.Downtime), d(erp.Eligible))
	}
	if d(erp.Planned) != 90*time.Minute || len(erp.Outages) != 2 || erp.Outages[1].Cause != "app1 down" || erp.Outages[0].Cause != "database down" {
		t.Errorf("erp October: planned %v outages %+v", d(erp.Planned), erp.Outages)
	}
	if ids := erp.Outages[1].Incidents; len(ids) != 1 || ids[0] != 7 {
		t.Errorf("the month-end outage links incidents %v, want [7]", ids)
	}
	db := get(oct, "database")
	if d(db.Downtime) != 30*time.Minute || d(db.Planned) != 90*time.Minute {
		t.Errorf("database: down %v planned %v; want 30m and 1h30m", d(db.Downtime), d(db.Planned))
	}
	inc := erp.Incidents
	if inc.Total != 2 || inc.ByPriority["P1"] != 1 || d(inc.MTTA) != 15*time.Minute || d(inc.MTTR) != (75*time.Minute+6*time.Hour)/2 {
		t.Errorf("erp incidents: %+v", inc)
	}
	// P1: acknowledged in 20 min (target 15): missed; resolved in 6 h (4 h): missed. P2: 10 min / 1h15m: met.
	if inc.RespondMet != 0.5 || inc.ResolveMet != 0.5 {
		t.Errorf("compliance respond %v resolve %v, want 0.5 and 0.5", inc.RespondMet, inc.ResolveMet)
	}
	nov := build(t, st, cfg, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z", "erp")
	if len(nov.Services) != 1 || d(nov.Services[0].Downtime) != 45*time.Minute {
		t.Errorf("erp November: %+v", nov.Services)
	}

	// October in Berlin: 1 October 00:00 CEST to 1 November 00:00 CET.
	fw := get(build(t, st, cfg, "2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z", "firewall"), "firewall")
	if d(fw.Downtime) != 7*time.Hour || d(fw.Eligible) != (31*24+1)*time.Hour {
		t.Errorf("firewall (Berlin): down %v eligible %v; want 7h and 745h", d(fw.Downtime), d(fw.Eligible))
	}
	if len(fw.Days) != 31 || d(fw.Days[23].Downtime) != 2*time.Hour || d(fw.Days[24].Downtime) != 5*time.Hour || fw.Days[24].Date != "2026-10-25" {
		t.Errorf("firewall days: %d, 24th %+v, 25th %+v", len(fw.Days), fw.Days[23], fw.Days[24])
	}

	week := build(t, st, cfg, "2026-11-01T16:00:00Z", "2026-11-08T16:00:00Z", "desktops") // Mon 00:00 to Mon 00:00 in Shanghai
	desk := week.Services[0]
	if d(desk.Downtime) != 2*time.Hour || d(desk.Eligible) != 45*time.Hour || d(desk.OutsideSchedule) != (7*24-45)*time.Hour {
		t.Errorf("desktops (Shanghai business hours): down %v eligible %v outside %v; want 2h, 45h, 123h", d(desk.Downtime), d(desk.Eligible), d(desk.OutsideSchedule))
	}
	if len(desk.Outages) != 1 || !desk.Outages[0].From.Equal(utc("2026-11-02T01:00:00Z")) {
		t.Errorf("desktops outage: %+v; want one from 09:00 local", desk.Outages)
	}

	sep := build(t, st, cfg, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "mail-a", "mail-b")
	a, b := sep.Services[0], sep.Services[1]
	if d(a.AllowedDowntime) != 43*time.Minute+12*time.Second || !a.Met || b.Met || sep.Met != 1 || sep.Breached != 1 {
		t.Errorf("99.9 %% over 30 days: allowed %v; 43 min met=%v, 44 min met=%v", d(a.AllowedDowntime), a.Met, b.Met)
	}

	for name, want := range map[string][2]time.Duration{
		"ghost-exclude": {0, 0}, "ghost-down": {30 * 24 * time.Hour, 30 * 24 * time.Hour}, "ghost-up": {30 * 24 * time.Hour, 0},
	} {
		g := get(build(t, st, cfg, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", name), name)
		if d(g.Eligible) != want[0] || d(g.Downtime) != want[1] {
			t.Errorf("%s: eligible %v down %v, want %v and %v", name, d(g.Eligible), d(g.Downtime), want[0], want[1])
		}
	}
	if got := get(build(t, st, cfg, "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z", "ghost-exclude"), "ghost-exclude"); d(got.NoDataTime) != 30*24*time.Hour || got.Known {
		t.Errorf("ghost-exclude: no data %v known %v", d(got.NoDataTime), got.Known)
	}

	// Golden CSV and JSON of October.
	oct.GeneratedAt = utc("2026-12-15T00:00:00Z")
	for _, format := range []string{"csv", "json"} {
		var buf bytes.Buffer
		if err := report.Write(&buf, oct, format); err != nil {
			t.Fatal(err)
		}
		golden.Check(t, filepath.Join("testdata", "report-2026-10."+format), buf.Bytes())
	}
	var html bytes.Buffer
	if err := report.Write(&html, oct, "html"); err != nil || !strings.Contains(html.String(), `<rect x="`) || !strings.Contains(html.String(), "breached") {
		t.Errorf("html report: %v", err)
	}
}

// TestTargetJoiningLater: a host that joins a service (its first state
// comes late in the window) is no component before it: the service's
// earlier time keeps its figures instead of becoming no-data time, and
// the new host's outage counts as it should. A configured component that
// never reported still makes the service's time no data.
func TestTargetJoiningLater(t *testing.T) {
	st := newReportFixture(t, map[string][][2]string{
		"web1": {{"2026-11-01T00:00:00Z", "up"}},
		"web2": {{"2026-11-01T00:00:00Z", "up"}},
		// Joins on the 10th, down for 30 minutes on the 20th.
		"web3": {{"2026-11-10T00:00:00Z", "up"}, {"2026-11-20T00:00:00Z", "down"}, {"2026-11-20T00:30:00Z", "up"}},
	})
	cfg := loadConfig(t, `
services:
  - {name: web, components: {targets: [web1, web2, web3]}}
  - {name: web-any, combine: any, components: {targets: [web3]}}
  - {name: web-ghost, components: {targets: [web1, never]}}
`)
	r := build(t, st, cfg, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")
	byName := map[string]report.Service{}
	for _, s := range r.Services {
		byName[s.Name] = s
	}
	d := func(s report.Seconds) time.Duration { return time.Duration(s) }
	web := byName["web"]
	if d(web.Eligible) != 30*24*time.Hour || d(web.Downtime) != 30*time.Minute || d(web.NoDataTime) != 0 {
		t.Errorf("web: eligible %v down %v no data %v; want 30 days, 30 min, none (web3 was no component before it came)",
			d(web.Eligible), d(web.Downtime), d(web.NoDataTime))
	}
	if any := byName["web-any"]; d(any.NoDataTime) != 9*24*time.Hour || d(any.Downtime) != 30*time.Minute {
		t.Errorf("web-any, whose one component came on the 10th: no data %v down %v; want 9 days and 30 min", d(any.NoDataTime), d(any.Downtime))
	}
	if g := byName["web-ghost"]; d(g.Eligible) != 0 || d(g.NoDataTime) != 30*24*time.Hour {
		t.Errorf("web-ghost (a component that never reported): eligible %v no data %v; want none and 30 days", d(g.Eligible), d(g.NoDataTime))
	}
}

func ptr[T any](v T) *T { return &v }

func TestReportErrors(t *testing.T) {
	st := newReportFixture(t, nil)
	cfg := loadConfig(t, "services:\n  - {name: erp, components: {targets: [a]}}\n")
	in := ReportInput{Config: cfg, Policy: alerting.DefaultPolicy(), From: utc("2027-01-01T00:00:00Z"), To: utc("2027-02-01T00:00:00Z"), Now: utc("2026-12-15T00:00:00Z")}
	if _, err := BuildReport(context.Background(), st, in); err == nil || !strings.Contains(err.Error(), "empty or in the future") {
		t.Errorf("future period: %v", err)
	}
	in.From, in.To, in.Services = utc("2026-11-01T00:00:00Z"), utc("2026-12-01T00:00:00Z"), []string{"nope"}
	if _, err := BuildReport(context.Background(), st, in); err == nil || !strings.Contains(err.Error(), `unknown service "nope"`) {
		t.Errorf("unknown service: %v", err)
	}
}

// serve mounts the service level API as the collector does (without
// its authentication) over st and cfg.
func serve(t *testing.T, st History, cfg *config.Config) string {
	t.Helper()
	a := &API{Sources: Sources{History: st, Config: func() *config.Config { return cfg }, Targets: func() []state.Target { return nil }},
		Logger: slog.New(slog.DiscardHandler), Now: func() time.Time { return utc("2026-12-15T00:00:00Z") }}
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/reports/sla", a.Report())
	mux.Handle("GET /api/v1/services", a.Services())
	mux.Handle("GET /api/v1/services/{name}", a.Services())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReportAPI asks for a month's report in each format, and for bad
// periods.
func TestReportAPI(t *testing.T) {
	st := newReportFixture(t, map[string][][2]string{
		"app1": {{"2026-09-01T00:00:00Z", "up"}, {"2026-10-05T10:00:00Z", "down"}, {"2026-10-05T10:30:00Z", "up"}},
	})
	base := serve(t, st, loadConfig(t, `
calendars:
  - {name: office, time_zone: Europe/Berlin, hours: {mon-fri: ["08:00-18:00"]}}
services:
  - {name: erp, components: {targets: [app1]}}
  - {name: desk, schedule: office, components: {targets: [app1]}}
`))
	code, body := get(t, base+"/api/v1/reports/sla?month=2026-10&service=erp")
	if code != 200 || !strings.Contains(body, `"downtime_seconds": 1800`) || strings.Contains(body, `"name": "desk"`) {
		t.Errorf("json: %d %s", code, body)
	}
	code, body = get(t, base+"/api/v1/reports/sla?month=2026-10&format=csv")
	if code != 200 || !strings.Contains(body, "erp,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,0.999000,") || !strings.Contains(body, "desk,") {
		t.Errorf("csv: %d %s", code, body)
	}
	code, body = get(t, base+"/api/v1/reports/sla?month=2026-10&tz=Europe/Berlin&format=html")
	if code != 200 || !strings.Contains(body, "<h1>Service level report</h1>") || !strings.Contains(body, "2026-09-30 22:00:00 UTC") {
		t.Errorf("html: %d %.400s", code, body)
	}
	for q, want := range map[string]string{
		"month=2026-13": "month: want YYYY-MM",
		"month=2026-10&from=2026-10-01T00:00:00Z": "not both",
		"": "month or from and to: required",
		"from=2026-10-02T00:00:00Z&to=2026-10-01T00:00:00Z": "to: must be after from",
		"month=2026-10&format=pdf":                          "format: unknown",
		"month=2026-10&tz=Mars/Base":                        "tz: unknown time zone",
		"month=2026-10&service=nope":                        `unknown service \"nope\"`,
		"month=2099-01":                                     "in the future",
	} {
		code, body := get(t, base+"/api/v1/reports/sla?"+q)
		if code != http.StatusBadRequest || !strings.Contains(body, want) {
			t.Errorf("?%s: %d %s; want 400 naming %q", q, code, body, want)
		}
	}
	code, body = get(t, base+"/api/v1/services")
	if code != 200 || !strings.Contains(body, `"name":"erp","criticality":"medium","schedule":"24x7","combine":"all","objective":0.999`) ||
		!strings.Contains(body, `"name":"desk","criticality":"medium","schedule":"office"`) || !strings.Contains(body, `"components":[{"name":"app1"`) || !strings.Contains(body, `"at_risk":`) {
		t.Errorf("services: %d %s", code, body)
	}
	if code, body := get(t, base+"/api/v1/services/desk"); code != 200 || !strings.HasPrefix(body, `{"data":{"name":"desk"`) {
		t.Errorf("one service: %d %s", code, body)
	}
	if code, _ := get(t, base+"/api/v1/services/nope"); code != http.StatusNotFound {
		t.Errorf("unknown service: %d", code)
	}
}

// TestMonthlyReports: once November is over (in Berlin), its report is
// written in each format, once; a mail that cannot go out leaves no
// .sent marker, so it is tried again.
func TestMonthlyReports(t *testing.T) {
	dir := t.TempDir()
	st := newReportFixture(t, map[string][][2]string{
		"app1": {{"2026-10-01T00:00:00Z", "up"}, {"2026-11-10T10:00:00Z", "down"}, {"2026-11-10T10:30:00Z", "up"}},
	})
	cfg := loadConfig(t, fmt.Sprintf(`services:
  - {name: erp, components: {targets: [app1]}}
receivers:
  - {name: sla-mail, email: {smtp: "127.0.0.1:1", from: nines@example.org, to: [sla@example.org], timeout: 1s}}
reports:
  monthly: {directory: %q, formats: [html, csv, json], time_zone: Europe/Berlin, email: sla-mail}
`, filepath.Join(dir, "reports")))
	mailer := &email.Notifier{Address: "127.0.0.1:1", From: "nines@example.org", To: []string{"sla@example.org"}, Timeout: time.Second}
	m := &Monthly{Sources: Sources{History: st, Config: func() *config.Config { return cfg }, Targets: func() []state.Target { return nil }},
		Mailer: func(name string) (Mailer, bool) { return mailer, name == "sla-mail" }, Logger: slog.New(slog.DiscardHandler)}
	ctx := context.Background()
	// 30 November 23:02 UTC is already December in Berlin, but only just.
	if err := m.Write(ctx, utc("2026-11-30T23:02:00Z")); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "reports", "sla-2026-11.*")); len(files) != 0 {
		t.Errorf("files written in the month's first minutes: %v", files)
	}
	now := utc("2026-12-01T06:00:00Z")
	err := m.Write(ctx, now)
	if err == nil || !strings.Contains(err.Error(), "mail the monthly report") {
		t.Errorf("unreachable SMTP: %v", err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "reports", "sla-2026-11.csv"))
	if err != nil || !strings.Contains(string(csv), "erp,2026-10-31T23:00:00Z,2026-11-30T23:00:00Z,0.999000,") || !strings.Contains(string(csv), ",1800,") {
		t.Errorf("csv: %v\n%s", err, csv)
	}
	for _, f := range []string{"sla-2026-11.html", "sla-2026-11.json"} {
		if _, err := os.Stat(filepath.Join(dir, "reports", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "reports", "sla-2026-11.sent")); err == nil {
		t.Error("a .sent marker although the mail failed")
	}
	before, _ := os.ReadFile(filepath.Join(dir, "reports", "sla-2026-11.json"))
	_ = m.Write(ctx, now.Add(time.Hour))
	// The JSON carries its generation time: written again, it would differ.
	if after, _ := os.ReadFile(filepath.Join(dir, "reports", "sla-2026-11.json")); !bytes.Equal(after, before) {
		t.Error("the report was written again")
	}
	m.Mailer = func(string) (Mailer, bool) { return nil, false }
	if err := m.Write(ctx, now.Add(2*time.Hour)); err == nil || !strings.Contains(err.Error(), `"sla-mail" is not an email receiver`) {
		t.Errorf("no mailer: %v", err)
	}
}

// heldHistory holds every read until release is closed, and says once
// per report (per request context) that one entered.
type heldHistory struct {
	History
	entered chan struct{}
	release chan struct{}
	mu      *sync.Mutex
	seen    map[context.Context]bool
}

func (b heldHistory) Gaps(ctx context.Context, from, to time.Time) ([][2]time.Time, error) {
	b.mu.Lock()
	first := !b.seen[ctx]
	b.seen[ctx] = true
	b.mu.Unlock()
	if first {
		b.entered <- struct{}{}
	}
	<-b.release
	return b.History.Gaps(ctx, from, to)
}

// TestReportLimits: a report's period is bounded (one from year 1 to 9999
// took 103 MB), and so are the reports made at once (four at once took
// 1.18 GB): the next gets 429 with Retry-After until one ends.
func TestReportLimits(t *testing.T) {
	st := newReportFixture(t, map[string][][2]string{"app1": {{"2026-09-01T00:00:00Z", "up"}}})
	cfg := loadConfig(t, "services:\n  - {name: erp, components: {targets: [app1]}}\n")
	base := serve(t, st, cfg)
	if code, body := get(t, base+"/api/v1/reports/sla?from=0001-01-01T00:00:00Z&to=9999-01-01T00:00:00Z"); code != 400 || !strings.Contains(body, "longer than 400 days") {
		t.Errorf("a report over 9,998 years: %d %s", code, body)
	}
	bh := heldHistory{History: st, entered: make(chan struct{}, 16), release: make(chan struct{}), mu: &sync.Mutex{}, seen: map[context.Context]bool{}}
	base = serve(t, bh, cfg)
	done := make(chan int, MaxConcurrentReports)
	for range MaxConcurrentReports {
		go func() {
			code, _ := get(t, base+"/api/v1/reports/sla?month=2026-10")
			done <- code
		}()
		<-bh.entered
	}
	resp, err := http.Get(base + "/api/v1/reports/sla?month=2026-10")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a report beyond %d at once: %d, Retry-After %q; want 429 with Retry-After", MaxConcurrentReports, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	close(bh.release)
	for range MaxConcurrentReports {
		if code := <-done; code != 200 {
			t.Errorf("a report within the limit: %d", code)
		}
	}
	if code, _ := get(t, base+"/api/v1/reports/sla?month=2026-10"); code != 200 {
		t.Errorf("after the reports ended: %d", code)
	}
}
