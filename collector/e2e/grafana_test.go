package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/deploy/grafana"
	"github.com/ninesmon/nines/internal/peertest"
)

// TestGrafanaDashboards runs what the shipped dashboards show: a collector
// with a service, a rule and an SNMP device (Debian's snmpd), an agent, and
// a host that stops reporting (so a target is down and an incident open).
// Then every panel's query of deploy/grafana/dashboards, with the
// dashboard's variables set from the variables' own label_values()
// look-ups as Grafana does, must return data through the query API, as
// Grafana's Prometheus data source asks: range queries over the last
// minutes at a 15 s step, instant queries now.
func TestGrafanaDashboards(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector, an agent and snmpd")
	}
	snmpdBin := peertest.Find(t, "snmpd", "snmpd", "NINES_SKIP_SNMP")
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	dir := t.TempDir()
	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	snmpAddr := "127.0.0.1:" + strconv.Itoa(peertest.FreePort(t))

	write(t, filepath.Join(dir, "snmpd.conf"), "rocommunity public 127.0.0.1\nsysName e2e-switch\n")
	snmpd := peertest.StartEnv(t, append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "snmp-persist"), "MIBS="), snmpdBin,
		"-f", "-C", "-c", filepath.Join(dir, "snmpd.conf"), "-Lf", filepath.Join(dir, "snmpd.log"), "-p", filepath.Join(dir, "snmpd.pid"), "udp:"+snmpAddr)

	const viewerToken = "grafana-viewer-token"
	write(t, filepath.Join(dir, "viewer.token"), viewerToken+"\n")
	write(t, filepath.Join(dir, "community"), "public\n")
	write(t, filepath.Join(dir, "rules.yml"), `
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        labels: {priority: P2, service: erp}
`)
	writeCollector(t, dir, collectorAddr, fmt.Sprintf(`
    - {name: grafana, role: viewer, token_file: viewer.token}
availability: {default_push_interval: 1s, startup_grace: 1s}
rules: {files: [rules.yml], evaluation_interval: 1s}
services:
  - name: erp
    objective: 99.9
    components: {targets: [grafana-host, ghost]}
devices:
  - name: e2e-switch
    address: %q
    community_file: community
    interval: 2s
    timeout: 500ms
    retries: 0
    modules: [system, if_mib]
`, snmpAddr))
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: grafana-host
web: {listen_address: %q}
push: {urls: ["http://%s"], token_file: agent.token, spool_dir: spool}
`, agentAddr, collectorAddr))
	start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"))
	nines := client{base: "http://" + collectorAddr, token: viewerToken}
	nines.waitReady(t, "collector")
	start(t, "agent", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	// A host that reports once, as a Telegraf would, then goes silent.
	post(t, "http://"+collectorAddr+"/write?precision=s", e2eAgentToken, "text/plain",
		[]byte(fmt.Sprintf("system,host=ghost load1=0.5 %d\n", time.Now().Unix())), nil)
	if snmpd.Exited() {
		t.Fatalf("snmpd exited:\n%s", snmpd.Output())
	}

	files, _ := filepath.Glob("../../deploy/grafana/dashboards/*.json")
	if len(files) != 5 {
		t.Fatalf("want 5 dashboards, got %v", files)
	}
	// Grafana's $__rate_interval with the data source's 15 s interval and
	// a 15 s step: four intervals.
	const rate = "1m"
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := grafana.Queries(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := filepath.Base(f)
		vars := map[string]string{}
		for _, q := range qs {
			what := fmt.Sprintf("%s: %s: %s", name, q.Panel, q.Expr)
			if q.Label != "" {
				// label_values(selector, label), as Grafana asks it.
				sel := grafana.Expand(q.Expr, rate, vars)
				var values []string
				eventually(t, 90*time.Second, what, func() (bool, string) {
					code, a, body := promGet(t, nines.base, viewerToken, "/api/v1/label/"+q.Label+"/values", url.Values{"match[]": {sel}})
					if code != 200 || a.Status != "success" {
						return false, body
					}
					values = nil
					_ = json.Unmarshal(a.Data, &values)
					return len(values) > 0, body
				})
				v := values[0]
				if q.Label == "ifName" { // a multi-value variable: Grafana sends a|b|...
					v = strings.Join(values, "|")
				}
				vars[strings.TrimPrefix(q.Panel, "variable ")] = v
				continue
			}
			expr := grafana.Expand(q.Expr, rate, vars)
			eventually(t, 90*time.Second, what, func() (bool, string) {
				now := time.Now()
				path, params := "/api/v1/query_range", url.Values{"query": {expr},
					"start": {strconv.FormatInt(now.Add(-5*time.Minute).Unix(), 10)}, "end": {strconv.FormatInt(now.Unix(), 10)}, "step": {"15"}}
				if q.Instant {
					path, params = "/api/v1/query", url.Values{"query": {expr}, "time": {strconv.FormatInt(now.Unix(), 10)}}
				}
				code, a, body := promGet(t, nines.base, viewerToken, path, params)
				if code != 200 || a.Status != "success" {
					return false, body
				}
				var d struct {
					Result []json.RawMessage `json:"result"`
				}
				_ = json.Unmarshal(a.Data, &d)
				return len(d.Result) > 0, expr + ": " + body
			})
		}
		t.Logf("%s: %d queries answered with data (variables %v)", name, len(qs), vars)
	}
}
