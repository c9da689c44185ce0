package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestCollectorPair: an agent with push.mode all reports to both
// collectors of an HA pair. While one is stopped the other keeps the host
// UP and the agent spools the stopped one's copy; restarted, it gets the
// spooled batches and the host is UP there too; the agent's goodbye
// reaches both.
func TestCollectorPair(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	type member struct {
		dir, addr string
		api       client
		proc      *proc
	}
	pair := []*member{{dir: t.TempDir(), addr: freeAddr(t)}, {dir: t.TempDir(), addr: freeAddr(t)}}
	startMember := func(m *member, name string) {
		m.proc = start(t, name, collectorBin, "--config", filepath.Join(m.dir, "collector.yml"))
		eventually(t, 30*time.Second, name+" ready", func() (bool, string) {
			return m.api.get(t, "/-/ready", nil) == http.StatusOK, "not ready"
		})
	}
	for i, m := range pair {
		writeCollector(t, m.dir, m.addr, "availability: {default_push_interval: 1s, startup_grace: 1s, check_interval: 100ms}\n")
		m.api = client{base: "http://" + m.addr, token: e2eAdminToken}
		startMember(m, fmt.Sprintf("collector-%d", i))
	}
	agent, agentAddr := startPairAgent(t, agentBin, "200ms", "pair-host", pair[0].addr, pair[1].addr)

	hostState := func(m *member, want string) func() (bool, string) {
		return func() (bool, string) {
			var resp struct{ Data []target }
			m.api.get(t, "/api/v1/targets", &resp)
			for _, tg := range resp.Data {
				if tg.Name == "pair-host" {
					return tg.State == want, "state " + tg.State
				}
			}
			return false, fmt.Sprintf("targets %+v", resp.Data)
		}
	}
	for _, m := range pair {
		eventually(t, 15*time.Second, "host UP at "+m.addr, hostState(m, "up"))
	}
	// The agent's own account of one collector's queue.
	agentMetric := func(name, collector string) float64 {
		var body string
		(client{base: "http://" + agentAddr}).get(t, "/metrics", &body)
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\{[^}]*collector="http://` + regexp.QuoteMeta(collector) + `"[^}]*\} (\S+)$`)
		m := re.FindStringSubmatch(body)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}

	pair[1].proc.stop(t, syscall.SIGTERM)
	eventually(t, 10*time.Second, "batches spooled for the stopped collector", func() (bool, string) {
		n := agentMetric("nines_agent_push_queue_batches", pair[1].addr)
		return n >= 5, fmt.Sprintf("queue %v", n)
	})
	if ok, state := hostState(pair[0], "up")(); !ok {
		t.Fatalf("the running collector lost the host: %s", state)
	}
	eventually(t, 10*time.Second, "the running collector's queue drained while the other is stopped", func() (bool, string) {
		n := agentMetric("nines_agent_push_queue_batches", pair[0].addr)
		return n == 0, fmt.Sprintf("queue %v", n)
	})

	startMember(pair[1], "collector-1-restarted")
	eventually(t, 15*time.Second, "spooled batches delivered to the restarted collector", func() (bool, string) {
		n := agentMetric("nines_agent_push_queue_batches", pair[1].addr)
		return n == 0, fmt.Sprintf("queue %v", n)
	})
	eventually(t, 15*time.Second, "host UP at the restarted collector", hostState(pair[1], "up"))

	agent.stop(t, syscall.SIGTERM)
	for _, m := range pair {
		eventually(t, 5*time.Second, "goodbye at "+m.addr, hostState(m, "shutdown"))
	}
}

// startPairAgent runs an agent named hostname that pushes every interval
// to both collectors of a pair (push.mode all, spooling each one's copy),
// and returns it with its /metrics address.
func startPairAgent(t *testing.T, bin, interval, hostname, a, b string) (*proc, string) {
	t.Helper()
	return startHostAgent(t, "agent", bin, interval, hostname, a, b)
}

// writePairCollector writes into dir the configuration of one collector
// of a pair on PostgreSQL (dsn) listening on addr, with the e2e agent and
// admin tokens and open /metrics, and extra appended.
func writePairCollector(t *testing.T, dir, addr, dsn, extra string) {
	t.Helper()
	write(t, filepath.Join(dir, "agent.token"), e2eAgentToken+"\n")
	write(t, filepath.Join(dir, "admin.token"), e2eAdminToken+"\n")
	write(t, filepath.Join(dir, "pg.dsn"), dsn+"\n")
	write(t, filepath.Join(dir, "collector.yml"), fmt.Sprintf(`
web: {listen_address: %q, metrics_public: true}
storage: {driver: postgres, dsn_file: pg.dsn}
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: admin, role: admin, token_file: admin.token}
`, addr)+extra)
}
