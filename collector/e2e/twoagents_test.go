package e2e

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startHostAgent runs an agent named hostname that pushes every interval
// to collectors (to all of them, push.mode all, when more than one), and
// returns it with its /metrics address.
func startHostAgent(t *testing.T, name, bin, interval, hostname string, collectors ...string) (*proc, string) {
	t.Helper()
	dir, addr := t.TempDir(), freeAddr(t)
	urls := make([]string, len(collectors))
	for i, c := range collectors {
		urls[i] = strconv.Quote("http://" + c)
	}
	mode := ""
	if len(collectors) > 1 {
		mode = "\n  mode: all"
	}
	write(t, filepath.Join(dir, "agent.token"), e2eAgentToken+"\n")
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: %s
hostname: %s
web: {listen_address: %q}
push:
  urls: [%s]%s
  token_file: agent.token
  spool_dir: spool
`, interval, hostname, addr, strings.Join(urls, ", "), mode))
	return start(t, name, bin, "--config", filepath.Join(dir, "agent.yml")), addr
}

// TestTwoAgentsOneHost runs two agents for one host (the service's and a
// second one started in the foreground) pushing to one collector: each
// run's batches count (the collector's deduplication keeps each run's
// sequence numbers apart, and one's higher numbers hide none of the
// other's pushes); kill -9 of one leaves the host UP, pushed by the
// other; kill -9 of the other too puts it DOWN and opens exactly one
// incident.
func TestTwoAgentsOneHost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	addr := freeAddr(t)
	write(t, filepath.Join(dir, "rules.yml"), `
groups:
  - name: availability
    interval: 200ms
    rules:
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        labels: {severity: critical, priority: P3}
`)
	writeCollector(t, dir, addr, `
availability: {down_after_intervals: 3, default_push_interval: 1s, startup_grace: 1s, check_interval: 100ms}
rules: {files: [rules.yml]}
`)
	start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"))
	api := client{base: "http://" + addr, token: e2eAdminToken}
	api.waitReady(t, "collector")

	// duplicates are the agent batches the collector dropped as already
	// received.
	duplicates := func() float64 {
		var body string
		api.get(t, "/metrics", &body)
		return metricValue(body, "nines_ingest_duplicate_batches_total")
	}
	// agentSent is what an agent counts as delivered.
	agentSent := func(metricsAddr string) float64 {
		var body string
		(client{base: "http://" + metricsAddr}).get(t, "/metrics", &body)
		return metricValue(body, `nines_agent_push_batches_total{result="sent"}`)
	}

	service, serviceAddr := startHostAgent(t, "agent (service)", agentBin, "200ms", "twin-host", addr)
	eventually(t, 15*time.Second, "host UP", stateIs(t, api, "twin-host", "up"))
	// The second agent starts later: its sequence numbers (from its start
	// time) are above the first one's, so a single high-water mark would
	// take the first one's next batches for retries.
	eventually(t, 10*time.Second, "the first agent ahead", func() (bool, string) {
		n := agentSent(serviceAddr)
		return n >= 10, fmt.Sprintf("%v batches", n)
	})
	foreground, foregroundAddr := startHostAgent(t, "agent (foreground)", agentBin, "200ms", "twin-host", addr)
	eventually(t, 10*time.Second, "the second agent's batches delivered", func() (bool, string) {
		n := agentSent(foregroundAddr)
		return n >= 10, fmt.Sprintf("%v batches", n)
	})
	if dup := duplicates(); dup != 0 {
		t.Errorf("nines_ingest_duplicate_batches_total %v with two agents' runs, want 0", dup)
	}

	// kill -9 of the service's agent: the other still pushes and the
	// host stays UP past the down deadline (3 intervals of 1 s).
	service.stop(t, syscall.SIGKILL)
	killed := time.Now()
	before := agentSent(foregroundAddr)
	for time.Since(killed) < 5*time.Second {
		if ok, detail := stateIs(t, api, "twin-host", "up")(); !ok {
			t.Fatalf("%s after the kill -9 of one of its two agents: %s", time.Since(killed).Round(time.Millisecond), detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after, dup := agentSent(foregroundAddr), duplicates(); after < before+10 || dup != 0 {
		t.Errorf("with one agent left: %v batches delivered in 5 s (%v duplicates), want 10 or more and none", after-before, dup)
	}
	var list struct{ Data []incident }
	api.get(t, "/api/v1/incidents", &list)
	if len(list.Data) != 0 {
		t.Errorf("incidents with one agent left: %+v, want none", list.Data)
	}

	// kill -9 of the other: DOWN, one incident.
	foreground.stop(t, syscall.SIGKILL)
	eventually(t, 15*time.Second, "host DOWN", stateIs(t, api, "twin-host", "down"))
	eventually(t, 10*time.Second, "the incident opened", func() (bool, string) {
		api.get(t, "/api/v1/incidents", &list)
		return len(list.Data) > 0, "none"
	})
	time.Sleep(2 * time.Second) // evaluations every 200 ms: a second incident would be there by now
	api.get(t, "/api/v1/incidents", &list)
	if len(list.Data) != 1 || list.Data[0].Target != "twin-host" || list.Data[0].Status != "open" {
		t.Errorf("incidents: %+v, want one open for twin-host", list.Data)
	}
}
