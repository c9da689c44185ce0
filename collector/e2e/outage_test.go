package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting/notify/redmine/redminetest"
)

// issueView is a Redmine issue with its notes.
type issueView struct {
	ID       int
	Subject  string
	Status   struct{ Name string }
	Journals []struct {
		Notes string `json:"notes"`
	} `json:"journals"`
}

// fullTarget is a target as /api/v1/targets lists it.
type fullTarget struct {
	Name   string            `json:"name"`
	State  string            `json:"state"`
	Cause  string            `json:"cause"`
	Since  time.Time         `json:"since"`
	ID     string            `json:"id"`
	Labels map[string]string `json:"labels"`
}

// targetNamed reads one target from the API (zero when absent).
func targetNamed(t *testing.T, api client, name string) fullTarget {
	t.Helper()
	var resp struct{ Data []fullTarget }
	api.get(t, "/api/v1/targets", &resp)
	for _, tg := range resp.Data {
		if tg.Name == name {
			return tg
		}
	}
	return fullTarget{}
}

// stateIs is a condition for eventually: the target name is in state want.
func stateIs(t *testing.T, api client, name, want string) func() (bool, string) {
	return func() (bool, string) {
		tg := targetNamed(t, api, name)
		return tg.State == want, fmt.Sprintf("%s: %+v", name, tg)
	}
}

// waitReady waits until the collector at c answers /-/ready.
func (c client) waitReady(t *testing.T, what string) {
	t.Helper()
	eventually(t, 30*time.Second, what+" ready", func() (bool, string) {
		return c.get(t, "/-/ready", nil) == http.StatusOK, "not ready"
	})
}

// writeShippedRules copies deploy/examples/rules.yml into dir, as an
// operator installs it.
func writeShippedRules(t *testing.T, dir string) {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "examples", "rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "rules.yml"), string(shipped))
}

// TestOutageAcrossRestarts runs the collector with the shipped rules
// (deploy/examples/rules.yml), an agent with labels as the example agent
// configuration has them, and a real Redmine: the agent is killed, the
// collector is restarted during the outage (SIGTERM, then kill -9), the
// issue is closed by hand while the host is still down, the host comes
// back, dies again and comes back again. Throughout: one incident, one
// Redmine issue, the target's labels kept, the hand close respected while
// the alert fires, and no note ever repeated.
func TestOutageAcrossRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Redmine, the collector and the agent")
	}
	base, key, project := redminetest.Start(t)
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	writeShippedRules(t, dir)
	write(t, filepath.Join(dir, "redmine.key"), key)
	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	writeCollector(t, dir, collectorAddr, fmt.Sprintf(`
availability:
  down_after_intervals: 3
  default_push_interval: 1s
  startup_grace: 2s
  check_interval: 100ms
rules:
  files: [rules.yml]
receivers:
  - name: servicedesk
    redmine: {url: %q, api_key_file: redmine.key, project: %q, sync_interval: 500ms}
`, base, project))
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: db1
labels: {site: lab, role: db}
web: {listen_address: %q}
push:
  urls: ["http://%s"]
  token_file: agent.token
  spool_dir: spool
`, agentAddr, collectorAddr))
	collectorArgs := []string{"--config", filepath.Join(dir, "collector.yml")}
	agentArgs := []string{"--config", filepath.Join(dir, "agent.yml")}
	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	startCollector := func(name string) *proc {
		p := start(t, name, collectorBin, collectorArgs...)
		api.waitReady(t, name)
		return p
	}
	host := func() fullTarget { return targetNamed(t, api, "db1") }
	incidents := func() []incident {
		var resp struct{ Data []incident }
		api.get(t, "/api/v1/incidents", &resp)
		var out []incident
		for _, inc := range resp.Data {
			if inc.Rule == "HostDown" {
				out = append(out, inc)
			}
		}
		return out
	}
	issues := func() []issueView {
		var res struct{ Issues []issueView }
		redmineCall(t, base, key, "GET", "/issues.json?status_id=*&project_id="+project, nil, &res)
		for i := range res.Issues {
			var one struct{ Issue issueView }
			redmineCall(t, base, key, "GET", fmt.Sprintf("/issues/%d.json?include=journals", res.Issues[i].ID), nil, &one)
			res.Issues[i] = one.Issue
		}
		return res.Issues
	}
	// oneOutage checks there is one HostDown incident with status and one
	// Redmine issue with issueStatus, no note on it twice.
	oneOutage := func(status, issueStatus string) func() (bool, string) {
		return func() (bool, string) {
			incs, iss := incidents(), issues()
			if len(incs) != 1 || incs[0].Status != status {
				return false, fmt.Sprintf("incidents %+v, want one %s", incs, status)
			}
			if len(iss) != 1 || (issueStatus != "" && iss[0].Status.Name != issueStatus) {
				return false, fmt.Sprintf("%d issues %+v, want one %s", len(iss), iss, issueStatus)
			}
			seen := map[string]bool{}
			for _, j := range iss[0].Journals {
				if j.Notes != "" && seen[j.Notes] {
					t.Fatalf("note repeated on issue #%d: %q", iss[0].ID, j.Notes)
				}
				seen[j.Notes] = true
			}
			return true, ""
		}
	}
	// holds checks cond for a while (it must stay true, not become so).
	holds := func(what string, d time.Duration, cond func() (bool, string)) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
			if ok, detail := cond(); !ok {
				t.Fatalf("%s: %s", what, detail)
			}
		}
	}

	collector := startCollector("collector")
	agent := start(t, "agent", agentBin, agentArgs...)
	eventually(t, 15*time.Second, "db1 UP with its labels", func() (bool, string) {
		h := host()
		return h.State == "up" && h.Labels["site"] == "lab" && h.Labels["role"] == "db", fmt.Sprintf("%+v", h)
	})
	if id := host().ID; id == "" || strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 }) {
		t.Errorf("target id %q: want the agent's host ID, printable", id)
	}

	// The host dies: one incident, one issue.
	agent.stop(t, syscall.SIGKILL)
	eventually(t, 30*time.Second, "incident and issue opened", oneOutage("open", "New"))

	// The collector restarts during the outage, cleanly and then killed:
	// the labels are kept and the outage stays one incident, one issue.
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		collector.stop(t, sig)
		collector = startCollector(fmt.Sprintf("collector after %s", sig))
		if h := host(); h.Labels["site"] != "lab" || h.Labels["role"] != "db" {
			t.Errorf("after %s: db1's labels %v, want the agent's site=lab role=db", sig, h.Labels)
		}
		// Past the startup grace and several evaluations of the rules.
		holds(fmt.Sprintf("after %s, one outage", sig), 8*time.Second, oneOutage("open", "New"))
		if h := host(); h.State != "down" {
			t.Errorf("after %s: db1 %s, want down", sig, h.State)
		}
	}

	// An operator closes the issue while the host is still down: the
	// incident resolves and stays resolved; the issue stays closed.
	iss := issues()
	closed := issueStatusID(t, base, key, "Closed")
	redmineCall(t, base, key, "PUT", fmt.Sprintf("/issues/%d.json", iss[0].ID), map[string]any{"issue": map[string]any{"status_id": closed}}, nil)
	eventually(t, 15*time.Second, "incident resolved by the closed issue", oneOutage("resolved", "Closed"))
	holds("closed by hand while the host is down", 8*time.Second, oneOutage("resolved", "Closed"))

	// The host comes back, then dies again: a new fault within the hour
	// reopens the incident and its issue; back again, both resolve.
	agent = start(t, "agent again", agentBin, agentArgs...)
	eventually(t, 15*time.Second, "db1 UP", func() (bool, string) { return host().State == "up", host().State })
	holds("host back after a hand close", 6*time.Second, oneOutage("resolved", "Closed"))
	agent.stop(t, syscall.SIGKILL)
	eventually(t, 30*time.Second, "incident and issue reopened", oneOutage("open", "New"))
	agent = start(t, "agent once more", agentBin, agentArgs...)
	eventually(t, 30*time.Second, "incident and issue resolved", oneOutage("resolved", "Resolved"))
	// The reconciler and the sync go on: nothing is added to the issue.
	notes := len(issues()[0].Journals)
	holds("resolved, synced", 5*time.Second, oneOutage("resolved", "Resolved"))
	if got := len(issues()[0].Journals); got != notes {
		t.Errorf("the issue got %d more notes while nothing happened", got-notes)
	}
	agent.stop(t, syscall.SIGTERM)
	collector.stop(t, syscall.SIGTERM)
}

func issueStatusID(t *testing.T, base, key, name string) int {
	t.Helper()
	var st struct {
		IssueStatuses []struct {
			ID   int
			Name string
		} `json:"issue_statuses"`
	}
	redmineCall(t, base, key, "GET", "/issue_statuses.json", nil, &st)
	for _, s := range st.IssueStatuses {
		if s.Name == name {
			return s.ID
		}
	}
	t.Fatalf("redmine has no status %q", name)
	return 0
}

// TestHostDiesInMaintenance: a host that dies during its maintenance
// window and never comes back is DOWN from the window's end once its
// deadline passes, and opens its incident (it was UNKNOWN forever).
func TestHostDiesInMaintenance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the collector and the agent")
	}
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	writeShippedRules(t, dir)
	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	from := time.Now().Add(3 * time.Second).Truncate(time.Second)
	to := from.Add(6 * time.Second)
	writeCollector(t, dir, collectorAddr, fmt.Sprintf(`
availability:
  down_after_intervals: 3
  default_push_interval: 1s
  startup_grace: 1s
  check_interval: 100ms
rules:
  files: [rules.yml]
maintenance:
  - name: db1 patching
    targets: [db1]
    start: %q
    end: %q
`, from.Format(time.RFC3339), to.Format(time.RFC3339)))
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: db1
labels: {site: lab}
web: {listen_address: %q}
push:
  urls: ["http://%s"]
  token_file: agent.token
  spool_dir: ""
`, agentAddr, collectorAddr))
	collector := start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"))
	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	api.waitReady(t, "collector")
	host := func() fullTarget { return targetNamed(t, api, "db1") }
	agent := start(t, "agent", agentBin, "--config", filepath.Join(dir, "agent.yml"))
	eventually(t, 15*time.Second, "db1 in maintenance", func() (bool, string) { h := host(); return h.State == "maintenance", h.State })
	agent.stop(t, syscall.SIGKILL) // dies during the planned work
	eventually(t, 30*time.Second, "db1 DOWN after the window", func() (bool, string) {
		h := host()
		return h.State == "down", fmt.Sprintf("%+v", h)
	})
	if h := host(); !h.Since.Equal(to) || !strings.Contains(h.Cause, "maintenance window ended") {
		t.Errorf("db1: down since %s (%s), want since the window's end %s", h.Since, h.Cause, to)
	}
	eventually(t, 15*time.Second, "host-down incident", func() (bool, string) {
		var resp struct{ Data []incident }
		api.get(t, "/api/v1/incidents", &resp)
		for _, inc := range resp.Data {
			if inc.Rule == "HostDown" && inc.Target == "db1" && inc.Status == "open" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", resp.Data)
	})
	collector.stop(t, syscall.SIGTERM)
}
