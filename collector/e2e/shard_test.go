package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
	"github.com/ninesmon/nines/internal/peertest"
)

// TestShardedPolling runs three collectors on one real PostgreSQL with
// six SNMP devices (three real net-snmp snmpd agents, two device names
// each) and six TCP checks. In steady state each device and check is
// probed by exactly one collector (the collectors' own per-device and
// per-check counters), and every collector, the leader among them, has
// every device's samples and every target UP; the leader opens an
// incident on a threshold rule over every device's samples. kill -9 of a collector
// that probes some: the other two take them over within 30 s, and no
// device or check is DOWN at any moment on either. A fourth collector
// starting takes its share: again each is probed by exactly one; its
// clean stop hands its share back at once.
func TestShardedPolling(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL, snmpd and four collectors")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	snmpdBin := peertest.Find(t, "snmpd", "snmpd", "NINES_SKIP_SNMP")
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	collectorBin := binary(t, "collector/cmd/nines-collector")

	const interval = 2 * time.Second // of every device and check
	var devices, checks []string
	var devicesYAML, checksYAML strings.Builder
	for i := range 3 {
		dir := t.TempDir()
		addr := "127.0.0.1:" + strconv.Itoa(peertest.FreePort(t))
		write(t, filepath.Join(dir, "snmpd.conf"), "rocommunity public 127.0.0.1\nsysName shard-switch\n")
		p := peertest.StartEnv(t, append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS="), snmpdBin,
			"-f", "-C", "-c", filepath.Join(dir, "snmpd.conf"), "-Lf", filepath.Join(dir, "snmpd.log"), "-p", filepath.Join(dir, "snmpd.pid"), "udp:"+addr)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("snmpd %s:\n%s", addr, p.Output())
			}
		})
		for j := range 2 {
			name := fmt.Sprintf("switch-%d%d", i, j)
			devices = append(devices, name)
			fmt.Fprintf(&devicesYAML, "  - {name: %s, address: %q, community_file: community, interval: 2s, timeout: 500ms, retries: 1, modules: [system]}\n", name, addr)
		}
	}
	openPort := peertest.OpenPort(t)
	for i := range 6 {
		name := fmt.Sprintf("port-%d", i)
		checks = append(checks, name)
		fmt.Fprintf(&checksYAML, "  - {name: %s, type: tcp, target: %q, interval: 2s, timeout: 1s}\n", name, openPort)
	}
	probed := append(slices.Clone(devices), checks...)

	type member struct {
		name, addr string
		api        client
		proc       *proc
	}
	newMember := func(name string) *member {
		dir := t.TempDir()
		m := &member{name: name, addr: freeAddr(t)}
		write(t, filepath.Join(dir, "pg.dsn"), dsn+"\n")
		write(t, filepath.Join(dir, "community"), "public\n")
		// A threshold rule on an SNMP sample: the leader opens an
		// incident for every device, those another collector polls too.
		write(t, filepath.Join(dir, "rules.yml"), `groups:
  - name: shard
    interval: 500ms
    rules:
      - alert: SwitchAnswers
        expr: sysUpTime > 0
        labels: {priority: P4}
`)
		write(t, filepath.Join(dir, "agent.token"), e2eAgentToken+"\n")
		write(t, filepath.Join(dir, "admin.token"), e2eAdminToken+"\n")
		write(t, filepath.Join(dir, "collector.yml"), fmt.Sprintf(`
web: {listen_address: %q, metrics_public: true}
storage: {driver: postgres, dsn_file: pg.dsn, heartbeat_interval: 1s}
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: admin, role: admin, token_file: admin.token}
availability: {default_push_interval: 1s, startup_grace: 1s, check_interval: 100ms, check_failures: 1}
rules: {files: [rules.yml]}
devices:
%schecks:
%s`, m.addr, devicesYAML.String(), checksYAML.String()))
		m.api = client{base: "http://" + m.addr, token: e2eAdminToken}
		m.proc = start(t, "collector-"+name, collectorBin, "--config", filepath.Join(dir, "collector.yml"))
		eventually(t, 30*time.Second, name+" ready", func() (bool, string) {
			return m.api.get(t, "/-/ready", nil) == http.StatusOK, "not ready"
		})
		return m
	}
	metricsOf := func(m *member) string {
		var body string
		if m.api.get(t, "/metrics", &body) != http.StatusOK {
			return ""
		}
		return body
	}
	gauge := func(m *member, series string) float64 {
		return metricValue(metricsOf(m), series)
	}
	// probes are each member's counts of its polls and runs, by name.
	probeRE := regexp.MustCompile(`(?m)^nines_(?:snmp_device_polls|check_runs)_total\{(?:device|check)="([^"]+)"\} (\S+)$`)
	probes := func(ms []*member) map[string]map[string]float64 {
		out := map[string]map[string]float64{}
		for _, m := range ms {
			out[m.name] = map[string]float64{}
			for _, g := range probeRE.FindAllStringSubmatch(metricsOf(m), -1) {
				v, _ := strconv.ParseFloat(g[2], 64)
				out[m.name][g[1]] = v
			}
		}
		return out
	}
	settled := func(ms []*member) {
		t.Helper()
		eventually(t, 30*time.Second, "every collector sees the others", func() (bool, string) {
			var got []float64
			for _, m := range ms {
				got = append(got, gauge(m, "nines_shard_members"))
			}
			return !slices.ContainsFunc(got, func(v float64) bool { return v != float64(len(ms)) }), fmt.Sprintf("members %v", got)
		})
		// A collector that let a device or check go probes it once more
		// at its next slot (the handover): wait for those.
		time.Sleep(interval + time.Second)
	}
	// exactlyOne: over three probe intervals, every device and check is
	// probed, each by exactly one of ms; it returns who.
	exactlyOne := func(ms []*member) map[string]string {
		t.Helper()
		before := probes(ms)
		var after map[string]map[string]float64
		eventually(t, 20*time.Second, "every device and check probed three times more", func() (bool, string) {
			after = probes(ms)
			for _, name := range probed {
				n := 0.0
				for _, m := range ms {
					n += after[m.name][name] - before[m.name][name]
				}
				if n < 3 {
					return false, fmt.Sprintf("%s probed %v more times", name, n)
				}
			}
			return true, ""
		})
		owner := map[string]string{}
		for _, name := range probed {
			var by []string
			for _, m := range ms {
				if after[m.name][name] > before[m.name][name] {
					by = append(by, m.name)
				}
			}
			if len(by) != 1 {
				t.Errorf("%s probed by %v in steady state, want exactly one collector", name, by)
				continue
			}
			owner[name] = by[0]
		}
		owned := 0.0
		for _, m := range ms {
			owned += gauge(m, `nines_shard_owned{kind="device"}`) + gauge(m, `nines_shard_owned{kind="check"}`)
		}
		if owned != float64(len(probed)) {
			t.Errorf("nines_shard_owned summed over the collectors: %v, want %d", owned, len(probed))
		}
		return owner
	}
	// allUp: at m every device and check is UP, and none is DOWN.
	allUp := func(m *member) (bool, string) {
		var resp struct{ Data []target }
		if m.api.get(t, "/api/v1/targets", &resp) != http.StatusOK {
			return false, m.name + ": targets not answered"
		}
		states := map[string]string{}
		for _, tg := range resp.Data {
			states[tg.Name] = tg.State
		}
		for _, name := range probed {
			if states[name] != "up" {
				return false, fmt.Sprintf("%s: %s is %q", m.name, name, states[name])
			}
		}
		return true, ""
	}
	neverDown := func(ms []*member) {
		t.Helper()
		for _, m := range ms {
			var resp struct{ Data []target }
			m.api.get(t, "/api/v1/targets", &resp)
			for _, tg := range resp.Data {
				if tg.State == "down" {
					t.Fatalf("%s: %s is DOWN during a move", m.name, tg.Name)
				}
			}
		}
	}

	a, b, c := newMember("a"), newMember("b"), newMember("c")
	all := []*member{a, b, c}
	settled(all)
	owner := exactlyOne(all)
	t.Logf("owners with three collectors: %v", owner)
	for _, m := range all {
		eventually(t, 10*time.Second, "every device and check UP at "+m.name, func() (bool, string) { return allUp(m) })
		// Every collector has every device's samples in its window,
		// those it did not poll included (rules evaluate there).
		var resp struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
				} `json:"result"`
			} `json:"data"`
		}
		eventually(t, 10*time.Second, "every device's samples at "+m.name, func() (bool, string) {
			m.api.get(t, "/api/v1/query?query="+url.QueryEscape(`count by (device) (nines_snmp_poll_success == 1)`), &resp)
			var got []string
			for _, r := range resp.Data.Result {
				got = append(got, r.Metric["device"])
			}
			slices.Sort(got)
			return slices.Equal(got, devices), fmt.Sprintf("devices %v", got)
		})
	}

	eventually(t, 20*time.Second, "one incident per device, opened by the leader on samples polled by all three", func() (bool, string) {
		var resp struct{ Data []incident }
		a.api.get(t, "/api/v1/incidents", &resp)
		var got []string
		for _, inc := range resp.Data {
			if inc.Rule == "SwitchAnswers" {
				got = append(got, inc.Target)
			}
		}
		slices.Sort(got)
		return slices.Equal(got, devices), fmt.Sprintf("incidents of %v", got)
	})

	// kill -9 a collector that probes something (not the leader if
	// another has work: the takeover of leadership has its own tests).
	var victim *member
	for _, m := range all {
		if slices.Contains(slices.Collect(maps.Values(owner)), m.name) && (victim == nil || gauge(m, "nines_leader") == 0) {
			victim = m
		}
	}
	var moved []string
	for name, o := range owner {
		if o == victim.name {
			moved = append(moved, name)
		}
	}
	slices.Sort(moved)
	survivors := slices.DeleteFunc(slices.Clone(all), func(m *member) bool { return m == victim })
	// takenOver is met once the survivors have probed each of moved
	// since the counts before, with nothing DOWN meanwhile.
	takenOver := func(moved []string, before map[string]map[string]float64) func() (bool, string) {
		return func() (bool, string) {
			neverDown(survivors)
			now := probes(survivors)
			for _, name := range moved {
				n := 0.0
				for _, m := range survivors {
					n += now[m.name][name] - before[m.name][name]
				}
				if n == 0 {
					return false, name + " not probed yet"
				}
			}
			return true, ""
		}
	}
	before := probes(survivors)
	victim.proc.stop(t, syscall.SIGKILL)
	killed := time.Now()
	took := eventually(t, 30*time.Second, fmt.Sprintf("%v of the killed %s probed by the others", moved, victim.name), takenOver(moved, before))
	t.Logf("kill -9 of %s: its %d devices and checks probed by the others %.1fs later", victim.name, len(moved), took.Seconds())
	// Two more intervals: still nothing DOWN, and the two split it all.
	for deadline := killed.Add(took + 4*time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		neverDown(survivors)
	}
	settled(survivors)
	exactlyOne(survivors)
	for _, m := range survivors {
		if ok, why := allUp(m); !ok {
			t.Errorf("after the kill: %s", why)
		}
	}

	// A new collector joins: it takes its share, the others let it go.
	joined := time.Now()
	d := newMember("d")
	all = append(survivors, d)
	settled(all)
	owner = exactlyOne(all)
	t.Logf("owners after d joined: %v", owner)
	if !slices.Contains(slices.Collect(maps.Values(owner)), "d") {
		t.Errorf("the new collector probes nothing: %v", owner)
	}
	for _, m := range all {
		if ok, why := allUp(m); !ok {
			t.Errorf("after d joined: %s", why)
		}
	}

	// A clean stop ends d's run: the others take its share at their
	// next sync, not three heartbeats later, so nothing waits more than
	// about an interval.
	moved = moved[:0]
	for name, o := range owner {
		if o == "d" {
			moved = append(moved, name)
		}
	}
	before = probes(survivors)
	d.proc.stop(t, syscall.SIGTERM)
	took = eventually(t, 10*time.Second, fmt.Sprintf("%v of the stopped d probed by the others", moved), takenOver(moved, before))
	t.Logf("SIGTERM of d: its %d devices and checks probed by the others %.1fs later (interval 2s)", len(moved), took.Seconds())

	// Through the join and the clean stop no device waited much more
	// than an interval between two polls: the longest gap between the
	// polls (nines_snmp_poll_success samples, at each poll's start) in
	// the windows of the two collectors that ran throughout.
	time.Sleep(2 * interval)
	polls := map[string][]float64{}
	span := int(time.Since(joined).Seconds()) + 1
	for _, m := range survivors {
		var resp struct {
			Data struct {
				Result []struct {
					Metric map[string]string `json:"metric"`
					Values [][2]any          `json:"values"`
				} `json:"result"`
			} `json:"data"`
		}
		if m.api.get(t, "/api/v1/query?query="+url.QueryEscape(fmt.Sprintf("nines_snmp_poll_success[%ds]", span)), &resp) != http.StatusOK {
			t.Fatalf("%s: query of the polls not answered", m.name)
		}
		for _, r := range resp.Data.Result {
			for _, v := range r.Values {
				if ts, ok := v[0].(float64); ok && ts >= float64(joined.UnixMilli())/1000 {
					polls[r.Metric["device"]] = append(polls[r.Metric["device"]], ts)
				}
			}
		}
	}
	worst := 0.0
	for _, name := range devices {
		ts := polls[name]
		slices.Sort(ts)
		if len(ts) < 5 {
			t.Errorf("%s: polls since d joined %v, want many", name, ts)
			continue
		}
		gap := 0.0
		for i := 1; i < len(ts); i++ {
			gap = max(gap, ts[i]-ts[i-1])
		}
		worst = max(worst, gap)
		// An interval, the 1 s sync that tells the others of a clean
		// stop, and a second of slack for a loaded machine.
		if gap > (interval + 2*time.Second).Seconds() {
			t.Errorf("%s: %.1fs between two polls through the join and the clean stop, want at most %s", name, gap, interval+2*time.Second)
		}
	}
	t.Logf("longest time between two polls of a device through the join and the clean stop: %.1fs (interval %s)", worst, interval)
}
