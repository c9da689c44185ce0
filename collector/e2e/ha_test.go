package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ninesmon/nines/alerting/notify/redmine/redminetest"
	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
)

// hookReceiver is a webhook receiver that counts what it is told, by
// incident and action.
type hookReceiver struct {
	mu   sync.Mutex
	seen map[string]int // "<incident id>/<action>"
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Event    struct{ Action string }
		Incident struct{ ID int64 }
	}
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.seen[fmt.Sprintf("%d/%s", p.Incident.ID, p.Event.Action)]++
	h.mu.Unlock()
}

// startHook serves a hookReceiver on a loopback port until the test
// ends and returns it with its address.
func startHook(t *testing.T) (*hookReceiver, string) {
	t.Helper()
	hook := &hookReceiver{seen: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: hook}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return hook, ln.Addr().String()
}

func (h *hookReceiver) counts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for k, v := range h.seen {
		out[k] = v
	}
	return out
}

// TestHAPair runs two collectors on one real PostgreSQL with one agent
// pushing to both, a rule that fires, a webhook receiver and a real
// Redmine: one leads; kill -9 of the leader makes the other lead within
// 15 s and continue the same incident (no second incident, notification
// or ticket); SIGSTOP of the leader makes the other lead and the stopped
// one, woken, follows; a PostgreSQL restart leaves exactly one leader
// with a new epoch; the alert clearing resolves the incident once; the
// host's availability is written once.
func TestHAPair(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL, Redmine, two collectors and an agent")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	testStart := time.Now().Truncate(time.Second)
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	redmineURL, redmineKey, project := redminetest.Start(t)
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")

	hook, hookAddr := startHook(t)

	type member struct {
		name, dir, addr string
		api             client
		proc            *proc
	}
	pair := []*member{{name: "a", dir: t.TempDir(), addr: freeAddr(t)}, {name: "b", dir: t.TempDir(), addr: freeAddr(t)}}
	for _, m := range pair {
		write(t, filepath.Join(m.dir, "redmine.key"), redmineKey)
		write(t, filepath.Join(m.dir, "rules.yml"), `groups:
  - name: g
    interval: 100ms
    rules:
      - alert: BackupFailed
        expr: vector(1)
        labels: {priority: P2}
        annotations: {summary: Nightly backup failed}
`)
		writePairCollector(t, m.dir, m.addr, dsn, fmt.Sprintf(`
availability: {default_push_interval: 1s, startup_grace: 1s, check_interval: 100ms}
rules: {files: [rules.yml]}
services:
  - name: app
    components: {targets: [pair-host]}
receivers:
  - name: hook
    webhook: {url: "http://%s/", secret: hook-secret}
  - name: servicedesk
    redmine: {url: %q, api_key_file: redmine.key, project: %q, sync_interval: 0s}
`, hookAddr, redmineURL, project))
		m.api = client{base: "http://" + m.addr, token: e2eAdminToken}
	}
	metric := func(m *member, name string) float64 {
		return m.api.metric(t, name)
	}
	leads := func(m *member, want bool) func() (bool, string) {
		return func() (bool, string) {
			v := metric(m, "nines_leader")
			return (v == 1) == want && v >= 0, fmt.Sprintf("nines_leader %v", v)
		}
	}
	startMember := func(m *member, what string) {
		m.proc = start(t, "collector "+m.name+" ("+what+")", collectorBin, "--config", filepath.Join(m.dir, "collector.yml"))
		eventually(t, 30*time.Second, m.name+" serving", func() (bool, string) {
			return m.api.get(t, "/-/healthy", nil) == http.StatusOK, "not serving"
		})
	}
	a, b := pair[0], pair[1]
	startMember(a, "first")
	eventually(t, 15*time.Second, "a leads", leads(a, true))
	startMember(b, "first")
	eventually(t, 5*time.Second, "b follows", leads(b, false))
	if e := metric(a, "nines_leader_epoch"); e != 1 {
		t.Errorf("a's epoch: %v, want 1", e)
	}

	startPairAgent(t, agentBin, "200ms", "pair-host", a.addr, b.addr)
	for _, m := range pair {
		eventually(t, 15*time.Second, "host UP at "+m.name, stateIs(t, m.api, "pair-host", "up"))
	}

	// The incident: opened by the leader, listed by the follower from the
	// store; told to the webhook once, one Redmine issue.
	type incidentJSON struct {
		ID       int64     `json:"id"`
		Status   string    `json:"status"`
		OpenedAt time.Time `json:"opened_at"`
	}
	incidents := func(m *member) []incidentJSON {
		var resp struct{ Data []incidentJSON }
		m.api.get(t, "/api/v1/incidents", &resp)
		return resp.Data
	}
	eventually(t, 20*time.Second, "the incident listed by the follower", func() (bool, string) {
		l := incidents(b)
		return len(l) == 1, fmt.Sprintf("%+v", l)
	})
	first := incidents(b)[0]
	opened := fmt.Sprintf("%d/opened", first.ID)
	eventually(t, 20*time.Second, "the webhook told of the incident", func() (bool, string) {
		c := hook.counts()
		return c[opened] == 1, fmt.Sprintf("%v", c)
	})
	issues := func() int {
		var res struct{ Issues []struct{ ID int } }
		redmineCall(t, redmineURL, redmineKey, "GET", "/issues.json?status_id=*&project_id="+project, nil, &res)
		return len(res.Issues)
	}
	eventually(t, 30*time.Second, "one Redmine issue", func() (bool, string) {
		n := issues()
		return n == 1, fmt.Sprintf("%d issues", n)
	})

	// No duplicate after each disruption: one incident (the first, open,
	// opened when it was), one "opened" notification, one issue; the
	// alert still firing at the leader.
	same := func(what string, leader *member) {
		t.Helper()
		// Evaluations every 100 ms: a few seconds would have opened a
		// duplicate by now.
		time.Sleep(3 * time.Second)
		l := incidents(leader)
		if len(l) != 1 || l[0].ID != first.ID || l[0].Status != "open" || !l[0].OpenedAt.Equal(first.OpenedAt) {
			t.Errorf("%s: incidents %+v, want only %+v, open", what, l, first)
		}
		for k, n := range hook.counts() {
			if n != 1 {
				t.Errorf("%s: webhook told %s %d times", what, k, n)
			}
		}
		if c := hook.counts(); c[opened] != 1 {
			t.Errorf("%s: webhook notifications %v, want %s once", what, c, opened)
		}
		if n := issues(); n != 1 {
			t.Errorf("%s: %d Redmine issues, want 1", what, n)
		}
		var alerts struct{ Data []alertJSON }
		leader.api.get(t, "/api/v1/alerts", &alerts)
		if len(alerts.Data) != 1 || alerts.Data[0].State != "firing" {
			t.Errorf("%s: alerts at the leader %+v, want BackupFailed firing", what, alerts.Data)
		}
	}

	// kill -9 of the leader: b leads within 15 s and continues.
	killed := time.Now()
	a.proc.stop(t, syscall.SIGKILL)
	eventually(t, 15*time.Second, "b leads after a's kill -9", leads(b, true))
	t.Logf("takeover after kill -9: %s", time.Since(killed).Round(10*time.Millisecond))
	if e := metric(b, "nines_leader_epoch"); e != 2 {
		t.Errorf("b's epoch: %v, want 2", e)
	}
	same("after kill -9 of the leader", b)

	// a comes back as follower; SIGSTOP of the leader b: a leads within
	// 15 s (after the takeover delay); b, woken, follows.
	startMember(a, "restarted")
	eventually(t, 5*time.Second, "a follows", leads(a, false))
	// Incidents are the leader's to change: the follower refuses an
	// action with 503 and changes nothing; /-/leader tells them apart.
	comment := func(m *member) int {
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/incidents/%d/comment", m.api.base, first.ID),
			strings.NewReader(`{"comment": "looking"}`))
		req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := comment(a); code != http.StatusServiceUnavailable {
		t.Errorf("a comment at the follower: %d, want 503", code)
	}
	if code := comment(b); code != http.StatusOK {
		t.Errorf("a comment at the leader: %d, want 200", code)
	}
	if ca, cb := a.api.get(t, "/-/leader", nil), b.api.get(t, "/-/leader", nil); ca != http.StatusServiceUnavailable || cb != http.StatusOK {
		t.Errorf("GET /-/leader: follower %d, leader %d; want 503, 200", ca, cb)
	}
	commented := fmt.Sprintf("%d/commented", first.ID)
	eventually(t, 10*time.Second, "the webhook told of the comment", func() (bool, string) {
		c := hook.counts()
		return c[commented] == 1, fmt.Sprintf("%v", c)
	})
	stopped := time.Now()
	if err := b.proc.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "a leads while b is stopped", leads(a, true))
	t.Logf("takeover after SIGSTOP: %s", time.Since(stopped).Round(10*time.Millisecond))
	if err := b.proc.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "b follows once woken", leads(b, false))
	if e := metric(a, "nines_leader_epoch"); e != 3 {
		t.Errorf("a's epoch: %v, want 3", e)
	}
	same("after SIGSTOP of the leader", a)

	// PostgreSQL stops: neither leads; it starts again: one leads, with a
	// new epoch.
	pg.Stop(t)
	for _, m := range pair {
		eventually(t, 10*time.Second, m.name+" stops leading without PostgreSQL", leads(m, false))
	}
	pg.Restart(t)
	var leader *member
	eventually(t, 20*time.Second, "one leads after PostgreSQL's restart", func() (bool, string) {
		la, lb := metric(a, "nines_leader"), metric(b, "nines_leader")
		switch {
		case la == 1 && lb == 0:
			leader = a
		case lb == 1 && la == 0:
			leader = b
		}
		return leader != nil, fmt.Sprintf("a %v, b %v", la, lb)
	})
	if e := metric(leader, "nines_leader_epoch"); e != 4 {
		t.Errorf("the leader's epoch after the restart: %v, want 4", e)
	}
	same("after PostgreSQL's restart", leader)

	// The alert clears (the rule changed, both reloaded): the leader
	// resolves the incident, told once.
	for _, m := range pair {
		write(t, filepath.Join(m.dir, "rules.yml"), `groups:
  - name: g
    interval: 100ms
    rules:
      - alert: BackupFailed
        expr: vector(1) < 0
        labels: {priority: P2}
        annotations: {summary: Nightly backup failed}
`)
		req, _ := http.NewRequest(http.MethodPost, m.api.base+"/-/reload", nil)
		req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reload %s: %s", m.name, resp.Status)
		}
	}
	resolved := fmt.Sprintf("%d/resolved", first.ID)
	eventually(t, 20*time.Second, "the incident resolved and told", func() (bool, string) {
		c := hook.counts()
		return c[resolved] == 1, fmt.Sprintf("%v", c)
	})
	time.Sleep(2 * time.Second)
	for k, n := range hook.counts() {
		if n != 1 {
			t.Errorf("after the resolution: webhook told %s %d times", k, n)
		}
	}
	if l := incidents(b); len(l) != 1 || l[0].Status != "resolved" {
		t.Errorf("after the resolution: incidents %+v, want the one resolved", l)
	}

	// Availability decided once: both saw the host throughout, and its
	// history holds one change (to UP), written by the leader.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT from_state || '->' || to_state FROM state_changes WHERE target = 'pair-host' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	changes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 1 || !strings.HasSuffix(changes[0], "->up") {
		t.Errorf("pair-host's state history: %v, want one change to up", changes)
	}
	// And the SLA is one figure: both report the same for the same span.
	type slaJSON struct {
		Services []struct {
			Name         string
			Availability float64 `json:"availability"`
			Eligible     float64 `json:"eligible_seconds"`
			Downtime     float64 `json:"downtime_seconds"`
			NoData       float64 `json:"no_data_seconds"`
			NotObserved  float64 `json:"not_observed_seconds"`
		}
	}
	span := fmt.Sprintf("/api/v1/reports/sla?from=%s&to=%s", testStart.UTC().Format(time.RFC3339), time.Now().UTC().Truncate(time.Second).Format(time.RFC3339))
	var slaA, slaB slaJSON
	if ca, cb := a.api.get(t, span, &slaA), b.api.get(t, span, &slaB); ca != http.StatusOK || cb != http.StatusOK {
		t.Fatalf("GET %s: a %d, b %d", span, ca, cb)
	}
	if len(slaA.Services) != 1 || fmt.Sprintf("%+v", slaA) != fmt.Sprintf("%+v", slaB) {
		t.Errorf("SLA of the same span: a %+v, b %+v; want one figure", slaA, slaB)
	}
	t.Logf("SLA of app over the test: %+v", slaA.Services)
}
