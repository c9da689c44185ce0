package e2e

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

type alertJSON struct {
	Name     string    `json:"name"`
	State    string    `json:"state"`
	ActiveAt time.Time `json:"activeAt"`
	FiredAt  time.Time `json:"firedAt"`
}

// TestRestartKeepsAlerts restarts the collector while a host-down alert
// fires: after the restart the alert is still firing with its original
// times (no resolved/fired pair), and the one incident stays open.
func TestRestartKeepsAlerts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	dir := t.TempDir()
	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	write(t, filepath.Join(dir, "rules.yml"), `
groups:
  - name: availability
    interval: 200ms
    rules:
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        for: 2s
        labels: {priority: P3}
`)
	writeCollector(t, dir, collectorAddr, `
availability: {down_after_intervals: 3, default_push_interval: 1s, startup_grace: 1s, check_interval: 100ms}
rules: {files: [rules.yml], outage_tolerance: 1h}
`)
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: restart-host
web: {listen_address: %q}
push: {urls: ["http://%s"], token_file: agent.token, spool_dir: spool}
`, agentAddr, collectorAddr))

	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	startCollector := func() *proc {
		p := start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"), "--log.level", "debug")
		eventually(t, 30*time.Second, "collector ready", func() (bool, string) {
			return api.get(t, "/-/ready", nil) == 200, "not ready"
		})
		return p
	}
	firing := func() (alertJSON, bool) {
		var resp struct{ Data []alertJSON }
		api.get(t, "/api/v1/alerts", &resp)
		for _, a := range resp.Data {
			if a.Name == "HostDown" && a.State == "firing" {
				return a, true
			}
		}
		return alertJSON{}, false
	}
	incidents := func() []incident {
		var resp struct{ Data []incident }
		api.get(t, "/api/v1/incidents", &resp)
		return resp.Data
	}

	collector := startCollector()
	agent := start(t, "agent", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	eventually(t, 15*time.Second, "host reports", func() (bool, string) {
		var resp struct{ Data []target }
		api.get(t, "/api/v1/targets?state=up", &resp)
		return len(resp.Data) == 1, fmt.Sprint(resp.Data)
	})
	agent.stop(t, syscall.SIGKILL)
	var before alertJSON
	eventually(t, 15*time.Second, "HostDown firing", func() (bool, string) {
		a, ok := firing()
		before = a
		return ok && len(incidents()) == 1, fmt.Sprint(incidents())
	})
	incBefore := incidents()[0]

	collector.stop(t, syscall.SIGTERM)
	startCollector()
	after, ok := firing()
	if !ok {
		// Give the first evaluation a moment; it must not pass through pending.
		eventually(t, 2*time.Second, "HostDown firing after restart", func() (bool, string) {
			var okNow bool
			after, okNow = firing()
			return okNow, ""
		})
	}
	// The store keeps milliseconds.
	if after.FiredAt.Sub(before.FiredAt).Abs() >= time.Millisecond || after.ActiveAt.Sub(before.ActiveAt).Abs() >= time.Millisecond {
		t.Errorf("after restart: fired %s active %s; before: fired %s active %s (want the same)", after.FiredAt, after.ActiveAt, before.FiredAt, before.ActiveAt)
	}
	list := incidents()
	if len(list) != 1 || list[0].ID != incBefore.ID || list[0].Status != "open" {
		t.Errorf("incidents after restart: got %+v, want the one open incident %d", list, incBefore.ID)
	}

	start(t, "agent-again", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	eventually(t, 15*time.Second, "incident resolved when the host returns", func() (bool, string) {
		list := incidents()
		return len(list) == 1 && list[0].Status == "resolved", fmt.Sprint(list)
	})
}
