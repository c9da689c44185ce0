package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// TestPrometheus runs a real Prometheus (Debian's package) that scrapes
// the collector with a bearer token and, through the collector's HTTP
// service discovery, the agent; the collector also forwards what it
// ingests to that Prometheus by remote write. Everything is checked
// through Prometheus's query API.
func TestPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Prometheus and both binaries")
	}
	promBin := peertest.Find(t, "prometheus", "prometheus", "NINES_SKIP_PROMETHEUS")
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	dir := t.TempDir()
	collectorAddr, agentAddr, promAddr := freeAddr(t), freeAddr(t), freeAddr(t)

	write(t, filepath.Join(dir, "agent.token"), "agent-token")
	write(t, filepath.Join(dir, "viewer.token"), "viewer-token")
	write(t, filepath.Join(dir, "collector.yml"), fmt.Sprintf(`
web: {listen_address: %q}
storage: {path: nines.db}
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: prometheus, role: viewer, token_file: viewer.token}
availability: {default_push_interval: 1s, check_interval: 200ms}
forward:
  remote_write:
    url: http://%s/api/v1/write
    flush_interval: 200ms
    external_labels: {collector: e2e}
`, collectorAddr, promAddr))
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: prom-host
labels: {site: lab}
web: {listen_address: %q}
push: {urls: ["http://%s"], token_file: agent.token, spool_dir: spool}
`, agentAddr, collectorAddr))
	write(t, filepath.Join(dir, "prometheus.yml"), fmt.Sprintf(`
global: {scrape_interval: 1s, scrape_timeout: 900ms}
scrape_configs:
  - job_name: nines-collector
    authorization: {credentials_file: %s}
    static_configs: [{targets: [%q]}]
  - job_name: nines-agents
    http_sd_configs:
      - url: http://%s/api/v1/sd/prometheus
        refresh_interval: 1s
        # type must be explicit: Prometheus 2.42's HTTP SD sends the bare
        # token otherwise.
        authorization: {type: Bearer, credentials_file: %s}
`, filepath.Join(dir, "viewer.token"), collectorAddr, collectorAddr, filepath.Join(dir, "viewer.token")))

	promtool := peertest.Find(t, "promtool", "prometheus", "NINES_SKIP_PROMETHEUS")
	if out, err := exec.Command(promtool, "check", "config", filepath.Join(dir, "prometheus.yml")).CombinedOutput(); err != nil {
		t.Fatalf("promtool check config: %v\n%s", err, out)
	}
	start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"))
	start(t, "agent", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	prom := peertest.Start(t, promBin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "prom-data"), "--web.listen-address="+promAddr,
		"--web.enable-remote-write-receiver")
	peertest.WaitTCP(t, prom, promAddr, 30*time.Second)

	query := func(q string) ([]map[string]any, error) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var r struct {
			Status string
			Data   struct {
				Result []map[string]any
			}
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, err
		}
		return r.Data.Result, nil
	}
	has := func(q string) func() (bool, string) {
		return func() (bool, string) {
			res, err := query(q)
			if err != nil {
				return false, err.Error()
			}
			return len(res) > 0, fmt.Sprintf("%s: %v", q, res)
		}
	}
	// Both jobs scraped successfully: the collector with its token, the
	// agent found through service discovery with its labels.
	eventually(t, 30*time.Second, "collector scraped", has(`up{job="nines-collector"} == 1`))
	eventually(t, 30*time.Second, "agent discovered and scraped", has(`up{job="nines-agents",host="prom-host",site="lab"} == 1`))
	eventually(t, 10*time.Second, "host state exported", has(`nines_target_up{job="nines-collector",target="prom-host",kind="host"} == 1`))
	eventually(t, 10*time.Second, "agent metrics with node_exporter names", has(`node_memory_MemTotal_bytes{job="nines-agents",host="prom-host"} > 0`))
	// Forwarded by remote write: no job label, the external label added.
	eventually(t, 15*time.Second, "pushed samples forwarded by remote write", has(`node_memory_MemTotal_bytes{job="",host="prom-host",collector="e2e"} > 0`))
	res, _ := query(`nines_forward_samples_dropped_total{job="nines-collector"}`)
	if len(res) == 1 {
		if v := res[0]["value"].([]any)[1].(string); v != "0" {
			t.Errorf("forwarder dropped samples: %s", v)
		}
	}
	if t.Failed() {
		t.Logf("prometheus output:\n%s", strings.TrimSpace(prom.Output()))
	}
}
