package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds a command of this module once per test run, with the race
// detector when the tests run under it.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "nines-e2e-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = d
	}
	p := build(t, buildDir, pkg)
	built[pkg] = p
	return p
}

// build compiles a command of this module into dir.
func build(t *testing.T, dir, pkg string) string {
	t.Helper()
	out := filepath.Join(dir, filepath.Base(pkg))
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, "github.com/ninesmon/nines/"+pkg)
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+cgo())
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

func cgo() string {
	if raceEnabled {
		return "1"
	}
	return "0"
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a started binary whose output is kept for the test log.
type proc struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *proc) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func start(t *testing.T, name, bin string, args ...string) *proc {
	t.Helper()
	return startEnv(t, name, nil, bin, args...)
}

// startEnv is start with extra environment variables.
func startEnv(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop(t, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, p.output())
		}
	})
	return p
}

// stop signals the process and waits for it to exit (at most 10 s).
func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.stopWithin(t, sig, 10*time.Second)
}

// stopWithin signals the process and waits at most d for it to exit; then
// it kills it and fails the test.
func (p *proc) stopWithin(t *testing.T, sig syscall.Signal, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(d):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Errorf("%s did not exit within %s of %v", p.name, d, sig)
	}
}

// eventually polls cond every 100 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	last := ""
	for time.Since(start) < timeout {
		ok, detail := cond()
		if ok {
			return time.Since(start)
		}
		last = detail
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: not within %s (last: %s)", what, timeout, last)
	return 0
}

type client struct {
	base, token string
}

func (c client) get(t *testing.T, path string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(body, v); err != nil {
			if s, ok := v.(*string); ok {
				*s = string(body)
			} else {
				t.Fatalf("GET %s: decode %q: %v", path, body, err)
			}
		}
	}
	return resp.StatusCode
}

// metricValue is the value of the series named exactly series (name and
// labels as exposed) in a /metrics body, or -1 if there is none.
func metricValue(body, series string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// metric is the value of series (name and labels as exposed) on c's
// /metrics, -1 when it is missing or /metrics does not answer.
func (c client) metric(t *testing.T, series string) float64 {
	var body string
	if c.get(t, "/metrics", &body) != http.StatusOK {
		return -1
	}
	return metricValue(body, series)
}

type target struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type incident struct {
	ID       int64  `json:"id"`
	Rule     string `json:"rule"`
	Target   string `json:"target"`
	Priority string `json:"priority"`
	Status   string `json:"status"`
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestThinPath runs a collector and an agent as real processes: the host
// turns UP; killing the agent opens a host-down incident within 3 push
// intervals + 2 s; restarting it resolves the incident; a clean stop is
// SHUTDOWN, not an outage.
// The tokens writeCollector gives a collector (and agents need).
const (
	e2eAgentToken = "agent-secret-token"
	e2eAdminToken = "admin-secret-token"
)

// writeCollector writes dir/collector.yml: the listen address, a store in
// dir, an agent and an admin token (e2eAgentToken, e2eAdminToken, in
// files beside it), then extra YAML.
func writeCollector(t *testing.T, dir, addr, extra string) {
	t.Helper()
	write(t, filepath.Join(dir, "agent.token"), e2eAgentToken+"\n")
	write(t, filepath.Join(dir, "admin.token"), e2eAdminToken+"\n")
	write(t, filepath.Join(dir, "collector.yml"), fmt.Sprintf(`
web: {listen_address: %q}
storage: {path: nines.db}
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: admin, role: admin, token_file: admin.token}
`, addr)+extra)
}

func TestThinPath(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")

	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	write(t, filepath.Join(dir, "rules.yml"), `
groups:
  - name: availability
    interval: 200ms
    rules:
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        labels: {severity: critical, priority: P3}
        annotations:
          summary: "Host {{ $labels.target }} is down"
`)
	writeCollector(t, dir, collectorAddr, `
availability:
  down_after_intervals: 3
  default_push_interval: 1s
  startup_grace: 1s
  check_interval: 100ms
rules:
  files: [rules.yml]
`)
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: e2e-host
labels: {site: lab}
web: {listen_address: %q}
push:
  urls: ["http://%s"]
  token_file: agent.token
  spool_dir: spool
`, agentAddr, collectorAddr))

	collector := start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"), "--log.level", "debug")
	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	api.waitReady(t, "collector")
	if code := (client{base: api.base}).get(t, "/api/v1/incidents", nil); code != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/incidents without token: got %d, want 401", code)
	}

	hostState := func(want string) func() (bool, string) { return stateIs(t, api, "e2e-host", want) }
	hostDown := func(status string) func() (bool, string) {
		return func() (bool, string) {
			var resp struct{ Data []incident }
			api.get(t, "/api/v1/incidents", &resp)
			for _, inc := range resp.Data {
				if inc.Rule == "HostDown" && inc.Target == "e2e-host" && inc.Status == status {
					return true, ""
				}
			}
			return false, fmt.Sprintf("incidents %+v", resp.Data)
		}
	}

	agentArgs := []string{"--config", filepath.Join(dir, "agent.yml")}
	agent := start(t, "agent", agentBin, agentArgs...)
	eventually(t, 15*time.Second, "host UP", hostState("up"))

	// A crash: no goodbye. The incident must appear within 3 intervals + 2 s.
	agent.stop(t, syscall.SIGKILL)
	killed := time.Now()
	eventually(t, 3*time.Second+2*time.Second, "host-down incident opened", hostDown("open"))
	t.Logf("host-down incident %s after the agent was killed", time.Since(killed).Round(10*time.Millisecond))

	var metrics string
	api.get(t, "/metrics", &metrics)
	if !strings.Contains(metrics, `nines_incidents_open{priority="P3",service=""} 1`) {
		t.Errorf("/metrics lacks nines_incidents_open{priority=\"P3\",service=\"\"} 1:\n%s", grepLines(metrics, "nines_incidents_open"))
	}
	if !strings.Contains(metrics, `nines_target_up{kind="host",target="e2e-host"} 0`) {
		t.Errorf("/metrics lacks the host as down:\n%s", grepLines(metrics, "nines_target_up"))
	}

	agent = start(t, "agent-restarted", agentBin, agentArgs...)
	eventually(t, 15*time.Second, "host-down incident resolved", hostDown("resolved"))
	eventually(t, 5*time.Second, "host UP again", hostState("up"))

	// SIGHUP with a bad file keeps the running configuration and says so in
	// a metric; a good file is taken.
	agentCfg, _ := os.ReadFile(filepath.Join(dir, "agent.yml"))
	collectorCfg, _ := os.ReadFile(filepath.Join(dir, "collector.yml"))
	agentAPI := client{base: "http://" + agentAddr}
	for _, tc := range []struct {
		name, file, metric, url string
		p                       *proc
		api                     client
		good                    []byte
	}{
		{"agent", "agent.yml", "nines_agent_config_last_reload_successful", "/metrics", agent, agentAPI, agentCfg},
		{"collector", "collector.yml", "nines_config_last_reload_successful", "/metrics", collector, api, collectorCfg},
	} {
		reloadState := func(want string) func() (bool, string) {
			return func() (bool, string) {
				var m string
				tc.api.get(t, tc.url, &m)
				return strings.Contains(m, tc.metric+" "+want), grepLines(m, tc.metric)
			}
		}
		write(t, filepath.Join(dir, tc.file), string(tc.good)+"\nbogus_key: 1\n")
		_ = tc.p.cmd.Process.Signal(syscall.SIGHUP)
		eventually(t, 5*time.Second, tc.name+" reports the failed reload", reloadState("0"))
		write(t, filepath.Join(dir, tc.file), string(tc.good))
		_ = tc.p.cmd.Process.Signal(syscall.SIGHUP)
		eventually(t, 5*time.Second, tc.name+" reports the good reload", reloadState("1"))
	}
	if !strings.Contains(collector.output(), "bogus_key") {
		t.Error("collector log does not name the bad key of the failed reload")
	}

	// A clean stop says goodbye: SHUTDOWN, and no new incident.
	agent.stop(t, syscall.SIGTERM)
	eventually(t, 5*time.Second, "host SHUTDOWN after SIGTERM", hostState("shutdown"))
	var resp struct{ Data []incident }
	api.get(t, "/api/v1/incidents", &resp)
	if len(resp.Data) != 1 {
		t.Errorf("incidents after clean stop: got %d, want 1 (the resolved one): %+v", len(resp.Data), resp.Data)
	}
	collector.stop(t, syscall.SIGTERM)
	if code := collector.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("collector exit code after SIGTERM: got %d, want 0", code)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
