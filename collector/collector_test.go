package collector

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/peertest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func do(t *testing.T, method, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReload: a bad configuration is refused and the running one stays
// (reported by the metric); a good one is swapped in without a restart.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	addr := freeAddr(t)
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("adm"), 0o600)
	os.WriteFile(filepath.Join(dir, "viewer.token"), []byte("view"), 0o600)
	base := "web: {listen_address: \"" + addr + "\"}\nstorage: {path: n.db}\nauth:\n  tokens:\n    - {name: admin, role: admin, token_file: admin.token}\n"
	write(base)
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
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	url := "http://" + addr
	<-c.Listening()

	if code, _ := do(t, "GET", url+"/api/v1/targets", "view"); code != http.StatusUnauthorized {
		t.Fatalf("viewer before reload: got %d, want 401", code)
	}
	if code, _ := do(t, "POST", url+"/-/reload", "view"); code != http.StatusUnauthorized {
		t.Fatalf("reload with an unknown token: got %d, want 401", code)
	}

	write(base + "  bogus: 1\n")
	code, body := do(t, "POST", url+"/-/reload", "adm")
	if code != http.StatusBadRequest || !strings.Contains(body, "c.yml:6:3: auth.bogus: unknown key") {
		t.Fatalf("bad reload: got %d %s", code, body)
	}
	_, metrics := do(t, "GET", url+"/metrics", "adm")
	if !strings.Contains(metrics, "nines_config_last_reload_successful 0") {
		t.Errorf("metric after failed reload:\n%s", grep(metrics, "reload"))
	}
	if code, _ := do(t, "GET", url+"/api/v1/targets", "adm"); code != http.StatusOK {
		t.Errorf("old config after a failed reload: got %d, want 200", code)
	}

	write(base + "    - {name: noc, role: viewer, token_file: viewer.token}\n")
	if code, body := do(t, "POST", url+"/-/reload", "adm"); code != http.StatusOK {
		t.Fatalf("good reload: got %d %s", code, body)
	}
	if code, _ := do(t, "GET", url+"/api/v1/targets", "view"); code != http.StatusOK {
		t.Errorf("viewer after reload: got %d, want 200", code)
	}
	if code, _ := do(t, "POST", url+"/-/reload", "view"); code != http.StatusForbidden {
		t.Errorf("reload as viewer: got %d, want 403", code)
	}
	_, metrics = do(t, "GET", url+"/metrics", "view")
	if !strings.Contains(metrics, "nines_config_last_reload_successful 1") {
		t.Errorf("metric after good reload:\n%s", grep(metrics, "reload"))
	}

	// A new listen address takes effect on restart only: the answer
	// says so, as the log does (it answered a bare 200; issue 16 item 11).
	other := freeAddr(t)
	write(strings.Replace(base, addr, other, 1) + "    - {name: noc, role: viewer, token_file: viewer.token}\n")
	code, body = do(t, "POST", url+"/-/reload", "adm")
	var resp struct {
		Data struct {
			Status   string
			Warnings []string
		}
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil || code != http.StatusOK || resp.Data.Status != "reloaded" || len(resp.Data.Warnings) != 1 ||
		!strings.Contains(resp.Data.Warnings[0], "web.listen_address changed from "+addr+" to "+other) || !strings.Contains(resp.Data.Warnings[0], "restart") {
		t.Errorf("reload with a new listen address: %d %s, want 200 with a warning naming web.listen_address and the restart", code, body)
	}
	if code, _ := do(t, "GET", url+"/api/v1/targets", "view"); code != http.StatusOK {
		t.Errorf("after the reload with a new listen address, the old one answers %d, want 200", code)
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// fakeSource writes one sample and one observation, says so by closing
// wrote, then waits.
type fakeSource struct{ wrote chan struct{} }

func (f fakeSource) Run(ctx context.Context, w Writer) error {
	now := time.Now()
	if err := w.Append(labels.FromStrings("__name__", "probe_up", "target", "sw1"), now.UnixMilli(), 1); err != nil {
		return err
	}
	// The test stops the collector once the tracker shows sw1, which may
	// be before its change is written: a write cut short by the stop is
	// no failure of the source.
	if err := w.Observe(ctx, state.Observation{Name: "sw1", Kind: state.KindDevice, Interval: time.Second}, now); err != nil && ctx.Err() == nil {
		return err
	}
	close(f.wrote)
	<-ctx.Done()
	return nil
}

func TestSourceFeedsTrackerAndWindow(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Load("c.yml", []byte("web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {path: "+filepath.Join(dir, "n.db")+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	src := fakeSource{wrote: make(chan struct{})}
	c.AddSource(src)
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	select {
	case <-src.wrote:
	case err := <-done:
		t.Fatalf("Run stopped before the source wrote: %v", err)
	}
	if vec, err := c.rules.Query(ctx, `probe_up{target="sw1"}`, time.Now()); err != nil || len(vec) != 1 {
		t.Errorf("the source's sample in the window: %v, %v", vec, err)
	}
	if got := c.tracker.Snapshot()[0]; got.Name != "sw1" || got.State != "up" || got.Kind != state.KindDevice {
		t.Errorf("tracked: got %+v", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// TestSLOFromStateHistory computes an SLO's error ratios from the durable
// history: a 43-minute outage in the last 30 days, a collector gap that is
// not counted, and the ratio published for the burn-rate rules.
func TestSLOFromStateHistory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slo.yml"), []byte("slos:\n  - {name: erp-db, target: erp-db1, objective: 99.9}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte("web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {path: n.db}\nrules: {files: [slo.yml]}\n"), 0o600)
	cfg, err := config.LoadFile(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.store.Close()
	now := time.Now().Truncate(time.Millisecond)
	day := 24 * time.Hour
	for _, ch := range []state.Change{
		{Target: "erp-db1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: now.Add(-40 * day)},
		{Target: "erp-db1", Kind: state.KindHost, From: state.Up, To: state.Down, At: now.Add(-2 * day)},
		{Target: "erp-db1", Kind: state.KindHost, From: state.Down, To: state.Up, At: now.Add(-2*day + 43*time.Minute)},
		{Target: "erp-db1", Kind: state.KindHost, From: state.Up, To: state.Down, At: now.Add(-30 * time.Minute)},
	} {
		if err := c.store.RecordChanges(ctx, []state.Change{ch}); err != nil {
			t.Fatal(err)
		}
	}
	// The collector was away for 10 minutes of the 43-minute outage: one
	// run last alive 2 days ago + 10 min, the next started 10 min later
	// and alive past now (so the running one's start leaves no gap).
	outage := now.Add(-2 * day)
	early, _, err := c.store.StartRun(ctx, now.Add(-40*day))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.Alive(ctx, early, outage.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	later, _, err := c.store.StartRun(ctx, outage.Add(20*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.Alive(ctx, later, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if gaps, err := c.store.Gaps(ctx, now.Add(-30*day), now); err != nil || len(gaps) != 1 || gaps[0][1].Sub(gaps[0][0]) != 10*time.Minute {
		t.Fatalf("gaps: %v, %v; want the 10 minutes away", gaps, err)
	}
	_ = c.tracker.Observe(ctx, state.Observation{Name: "erp-db1"}, now.Add(-time.Hour))
	if err := c.slos.Compute(ctx, now); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range c.slos.Results() {
		for w, e := range r.Errors {
			got[w] = e
		}
	}
	// 30d: 43 min less the 10 not observed, + the last 30 min down, of
	// 30 days less the 10 minutes away.
	if want := (63 * time.Minute).Seconds() / (30*day - 10*time.Minute).Seconds(); !near(got["30d"], want) {
		t.Errorf("30d error ratio: got %v, want %v", got["30d"], want)
	}
	if want := 0.5; !near(got["1h"], want) {
		t.Errorf("1h error ratio: got %v, want %v (down the last 30 minutes)", got["1h"], want)
	}
	if want := 1.0; !near(got["5m"], want) {
		t.Errorf("5m error ratio: got %v, want %v", got["5m"], want)
	}
	vec, err := c.rules.Query(ctx, `nines_slo_error_ratio{slo="erp-db",target="erp-db1",window="1h"}`, now)
	if err != nil || len(vec) != 1 || !near(vec[0].F, 0.5) {
		t.Errorf("published 1h ratio: got %v, %v", vec, err)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// TestServiceSLO: an SLO on a service combines its components' histories:
// "all" is down whenever one component is, "any" only when all are.
func TestServiceSLO(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "slo.yml"), []byte("slos:\n  - {name: erp, service: erp}\n  - {name: lan, service: office-lan}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte(`web: {listen_address: "`+freeAddr(t)+`"}
storage: {path: n.db}
rules: {files: [slo.yml]}
services:
  - name: erp
    components: {targets: [db1, app1]}
  - name: office-lan
    combine: any
    components: {targets: [sw1, sw2]}
`), 0o600)
	cfg, err := config.LoadFile(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.store.Close()
	now := time.Now().Truncate(time.Millisecond)
	ago := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	for _, tc := range []struct {
		target           string
		downFrom, downTo int // minutes ago
	}{{"db1", 40, 10}, {"app1", 50, 30}, {"sw1", 40, 10}, {"sw2", 50, 30}} {
		for _, ch := range []state.Change{
			{Target: tc.target, Kind: state.KindHost, From: state.Unknown, To: state.Up, At: ago(120)},
			{Target: tc.target, Kind: state.KindHost, From: state.Up, To: state.Down, At: ago(tc.downFrom)},
			{Target: tc.target, Kind: state.KindHost, From: state.Down, To: state.Up, At: ago(tc.downTo)},
		} {
			if err := c.store.RecordChanges(ctx, []state.Change{ch}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := c.slos.Compute(ctx, now); err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range c.slos.Results() {
		got[r.SLO] = r.Errors["1h"]
	}
	if want := 40.0 / 60; !near(got["erp"], want) {
		t.Errorf("erp (all) 1h error ratio: got %v, want %v", got["erp"], want)
	}
	if want := 10.0 / 60; !near(got["lan"], want) {
		t.Errorf("office-lan (any) 1h error ratio: got %v, want %v", got["lan"], want)
	}

	// The same figures for every catalogue service, on the rolling windows
	// and under Sloth's names; the state is the live one.
	for _, h := range []string{"db1", "app1"} {
		if err := c.tracker.Observe(ctx, state.Observation{Name: h, Interval: time.Hour}, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.sla.Compute(ctx, now); err != nil {
		t.Fatal(err)
	}
	for _, f := range c.sla.Results() {
		if f.Service == "erp" {
			if a := f.Windows[time.Hour].Availability(); !near(a, 20.0/60) {
				t.Errorf("erp 1h availability: got %v, want %v", a, 20.0/60)
			}
			if f.State != "up" || !near(f.Objective, 0.999) {
				t.Errorf("erp state %s objective %v", f.State, f.Objective)
			}
		}
	}
	// Burn rate and calendar periods on /metrics.
	fams, err := c.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got2 := map[string]float64{}
	for _, mf := range fams {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			got2[key] = m.GetGauge().GetValue()
		}
	}
	if v := got2["nines_sla_burn_rate,service=erp,window=1h"]; !near(v/1000, (40.0/60)/0.001/1000) {
		t.Errorf("erp 1h burn rate: %v, want %v", v, (40.0/60)/0.001)
	}
	if _, ok := got2["nines_sla_availability_ratio,service=erp,window=this_month"]; !ok {
		t.Errorf("no this_month availability for erp")
	}
	if v, ok := got2["nines_service_state,service=erp,state=up"]; !ok || v != 1 {
		t.Errorf("erp state up: %v %v", v, ok)
	}
	if vec, err := c.rules.Query(ctx, `nines_sla_burn_rate{service="erp",window="1h"} > 600`, now); err != nil || len(vec) != 1 {
		t.Errorf("burn rate in the rule window: %v, %v", vec, err)
	}
	vec, err := c.rules.Query(ctx, `slo:sli_error:ratio_rate1h{sloth_service="office-lan",sloth_slo="availability"}`, now)
	if err != nil || len(vec) != 1 || !near(vec[0].F, 10.0/60) {
		t.Errorf("Sloth series: got %v, %v", vec, err)
	}

	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(filepath.Join(dir, "bad-slo.yml"), []byte("slos:\n  - {name: x, service: nope}\n"), 0o600)
	os.WriteFile(bad, []byte("rules: {files: [bad-slo.yml]}\n"), 0o600)
	if _, err := config.LoadFile(bad); err == nil || !strings.Contains(err.Error(), `slo "x": service "nope" is not in the collector's services`) {
		t.Errorf("unknown service: got %v", err)
	}
}

// TestTrapOpensIncident: a trap sent with Debian's snmptrap reaches the
// rules and opens an incident.
func TestTrapOpensIncident(t *testing.T) {
	snmptrap := peertest.Find(t, "snmptrap", "snmp", "NINES_SKIP_SNMP")
	dir := t.TempDir()
	trapAddr := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "traps.yml"), []byte(`groups:
  - name: traps
    interval: 100ms
    rules:
      - alert: FanFailure
        expr: nines_snmp_trap{trapOID="1.3.6.1.4.1.99999.0.7"} == 1
        labels: {severity: critical, priority: P2}
        annotations:
          summary: "{{ $labels.device }}: {{ $labels.vb_1_3_6_1_4_1_99999_1_1 }}"
`), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte(`web: {listen_address: "`+freeAddr(t)+`"}
storage: {path: n.db}
rules: {files: [traps.yml]}
devices:
  - {name: ups1, address: "127.0.0.1:1", community: x, interval: 1h, timeout: 1s}
snmp:
  traps: {listen_address: "`+trapAddr+`", communities: [traps]}
`), 0o600)
	cfg, err := config.LoadFile(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-c.traps.Listening()
	cmd := exec.Command(snmptrap, "-v2c", "-c", "traps", trapAddr, "", "1.3.6.1.4.1.99999.0.7", "1.3.6.1.4.1.99999.1.1", "s", "fan 2 failed")
	cmd.Env = append(os.Environ(), "MIBS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		list, _ := c.store.Incidents(ctx, alerting.Filter{})
		if len(list) == 1 {
			if list[0].Title != "ups1: fan 2 failed" || list[0].Priority != alerting.P2 {
				t.Errorf("incident: got %+v", list[0])
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no incident from the trap within 10s")
}

// TestIncidentActionsAPI: operators act on incidents through the API,
// viewers may not, wrong moves are 409, and the timeline says who did
// what.
func TestIncidentActionsAPI(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte("groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: Always\n        expr: vector(1)\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "op.token"), []byte("op"), 0o600)
	os.WriteFile(filepath.Join(dir, "view.token"), []byte("view"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte(`web: {listen_address: "`+addr+`"}
storage: {path: n.db}
rules: {files: [r.yml]}
auth:
  tokens:
    - {name: alice, role: operator, token_file: op.token}
    - {name: noc, role: viewer, token_file: view.token}
`), 0o600)
	cfg, err := config.LoadFile(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	base := "http://" + addr
	deadline := time.Now().Add(10 * time.Second)
	for {
		if code, body := do(t, "GET", base+"/api/v1/incidents", "view"); code == 200 && strings.Contains(body, `"Always"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no incident")
		}
		time.Sleep(50 * time.Millisecond)
	}
	list, _ := c.store.Incidents(ctx, alerting.Filter{})
	id := strconv.FormatInt(list[0].ID, 10)
	post := func(path, token string) (int, string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(`{"comment": "looking"}`))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post("/api/v1/incidents/"+id+"/acknowledge", "view"); code != http.StatusForbidden {
		t.Errorf("viewer acknowledging: got %d, want 403", code)
	}
	if code, body := post("/api/v1/incidents/"+id+"/acknowledge", "op"); code != 200 || !strings.Contains(body, `"acknowledged_by":"alice"`) {
		t.Errorf("operator acknowledging: got %d %s", code, body)
	}
	assign := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", base+"/api/v1/incidents/"+id+"/assign", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer op")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := assign(`{"comment": "x"}`); code != http.StatusBadRequest || !strings.Contains(body, "assignee: required") {
		t.Errorf("assign without assignee: %d %s", code, body)
	}
	if code, body := assign(`{"assignee": "network-team"}`); code != 200 || !strings.Contains(body, `"assignee":"network-team"`) {
		t.Errorf("assign: %d %s", code, body)
	}
	if code, _ := post("/api/v1/incidents/"+id+"/close", "op"); code != http.StatusConflict {
		t.Errorf("closing an acknowledged incident: got %d, want 409", code)
	}
	if code, _ := post("/api/v1/incidents/"+id+"/dance", "op"); code != http.StatusNotFound {
		t.Errorf("unknown action: got %d, want 404", code)
	}
	if code, _ := post("/api/v1/incidents/999/acknowledge", "op"); code != http.StatusNotFound {
		t.Errorf("missing incident: got %d, want 404", code)
	}
	code, body := do(t, "GET", base+"/api/v1/incidents/"+id+"/timeline", "view")
	if code != 200 || !strings.Contains(body, `"action":"acknowledged"`) || !strings.Contains(body, `"actor":"alice"`) || !strings.Contains(body, `"text":"looking"`) ||
		!strings.Contains(body, `"action":"assigned","text":"to network-team"`) {
		t.Errorf("timeline: got %d %s", code, body)
	}
}

// TestTrapsConfiguredAsTheExample: the trap receiver configured as
// deploy/examples/collector.yml shows it (communities, and a v3 user whose
// passphrases are given by auth_passphrase_file and priv_passphrase_file)
// accepts v2c and v3 traps sent by net-snmp's snmptrap. The passphrase
// files were never read, and every trap was dropped.
func TestTrapsConfiguredAsTheExample(t *testing.T) {
	snmptrap := peertest.Find(t, "snmptrap", "snmp", "NINES_SKIP_SNMP")
	dir := t.TempDir()
	trapAddr := freeAddr(t)
	for name, content := range map[string]string{"traps-auth": "authpass-1234\n", "traps-priv": "privpass-1234\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := buildCollector(t, dir, `web: {listen_address: "`+freeAddr(t)+`"}
storage: {path: n.db}
devices:
  - {name: ups1, address: "127.0.0.1:1", community: x, interval: 1h, timeout: 1s}
snmp:
  traps:
    listen_address: "`+trapAddr+`"
    communities: [traps-secret]
    v3:
      username: nines-traps
      security_level: authPriv
      auth_protocol: SHA256
      auth_passphrase_file: traps-auth
      priv_protocol: AES
      priv_passphrase_file: traps-priv
      allow_insecure: false
    allow_unknown_sources: false
`)
	runCollector(t, c)
	<-c.traps.Listening()
	send := func(args ...string) {
		t.Helper()
		cmd := exec.Command(snmptrap, append(args, trapAddr, "", "1.3.6.1.4.1.99999.0.7", "1.3.6.1.4.1.99999.1.1", "s", "fan 2 failed")...)
		cmd.Env = append(os.Environ(), "MIBS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("snmptrap: %v\n%s", err, out)
		}
	}
	send("-v2c", "-c", "traps-secret")
	send("-v3", "-u", "nines-traps", "-l", "authPriv", "-a", "SHA-256", "-A", "authpass-1234", "-x", "AES", "-X", "privpass-1234", "-e", "0x8000000001020304")
	accepted := func() float64 {
		mfs, err := c.registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "nines_snmp_traps_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "result" && l.GetValue() == "accepted" {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		return 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for accepted() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("traps accepted: %v, want 2 (v2c and v3)", accepted())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMetricsSurviveABadSeries: a target whose name is not valid UTF-8
// (one that got into the store before ingest refused such names, say)
// costs its own series only: /metrics still answers 200 with every other
// series (it answered 500 for good).
func TestMetricsSurviveABadSeries(t *testing.T) {
	c, base := startCollector(t, "auth: {tokens: [{name: v, role: viewer, token_sha256: 2bcb43cbc8f6b7ef66331532881143fcbae60a879db3a8fb853f645bb24c2b3c}]}\n", nil)
	if err := c.tracker.Observe(context.Background(), state.Observation{Name: "h\xff", Interval: time.Minute}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.tracker.Observe(context.Background(), state.Observation{Name: "web1", Interval: time.Minute}, time.Now()); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer view")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `nines_target_up{kind="host",target="web1"} 1`) ||
		!strings.Contains(string(body), "nines_build_info") {
		t.Errorf("/metrics: %d\n%s", resp.StatusCode, body)
	}
}
