package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// TestPairDedupInVictoriaMetrics: both collectors of an HA pair forward
// what they ingest by remote write, each with its own replica label, as
// Prometheus HA pairs do. A real VictoriaMetrics that drops the replica
// label (-relabelConfig) and deduplicates (-dedup.minScrapeInterval) keeps
// one series with one sample per interval, and the series has no gap while
// one collector is stopped. This is the setup the README's HA section
// documents.
func TestPairDedupInVictoriaMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs both binaries and VictoriaMetrics")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	vmBin := peertest.Find(t, "victoria-metrics", "victoria-metrics", "NINES_SKIP_VICTORIAMETRICS")
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")

	vmDir, vmAddr := t.TempDir(), freeAddr(t)
	write(t, filepath.Join(vmDir, "relabel.yml"), "- action: labeldrop\n  regex: replica\n")
	vm := peertest.Start(t, vmBin,
		"-httpListenAddr="+vmAddr,
		"-storageDataPath="+filepath.Join(vmDir, "data"),
		"-retentionPeriod=1d",
		"-dedup.minScrapeInterval=1s",
		"-relabelConfig="+filepath.Join(vmDir, "relabel.yml"),
		"-search.latencyOffset=0s",
		"-loggerLevel=ERROR")
	peertest.WaitTCP(t, vm, vmAddr, 30*time.Second)
	vmAPI := client{base: "http://" + vmAddr}

	type member struct {
		dir, addr string
		api       client
		proc      *proc
	}
	pair := []*member{{dir: t.TempDir(), addr: freeAddr(t)}, {dir: t.TempDir(), addr: freeAddr(t)}}
	startMember := func(m *member, name string) {
		m.proc = start(t, name, collectorBin, "--config", filepath.Join(m.dir, "collector.yml"))
		m.api.waitReady(t, name)
	}
	for i, m := range pair {
		writeCollector(t, m.dir, m.addr, fmt.Sprintf(`
availability: {default_push_interval: 1s, startup_grace: 1s, check_interval: 100ms}
forward:
  remote_write:
    url: http://%s/api/v1/write
    flush_interval: 200ms
    external_labels: {replica: collector-%d}
`, vmAddr, i))
		m.api = client{base: "http://" + m.addr, token: e2eAdminToken}
		startMember(m, fmt.Sprintf("collector-%d", i))
	}
	agent, _ := startPairAgent(t, agentBin, "1s", "dedup-host", pair[0].addr, pair[1].addr)
	defer agent.stop(t, syscall.SIGTERM)
	for i, m := range pair {
		eventually(t, 20*time.Second, fmt.Sprintf("host UP at collector-%d", i), stateIs(t, m.api, "dedup-host", "up"))
	}

	forwarded := func(m *member) float64 {
		var body string
		m.api.get(t, "/metrics", &body)
		match := regexp.MustCompile(`(?m)^nines_forward_samples_sent_total (\S+)$`).FindStringSubmatch(body)
		if match == nil {
			t.Fatalf("no nines_forward_samples_sent_total at %s", m.addr)
		}
		v, _ := strconv.ParseFloat(match[1], 64)
		return v
	}
	// vmQuery runs an instant query and returns its single value, or -1.
	vmQuery := func(q string, at time.Time) float64 {
		var resp struct {
			Status string
			Data   struct {
				Result []struct {
					Metric map[string]string
					Value  [2]json.RawMessage
				}
			}
		}
		path := "/api/v1/query?query=" + url.QueryEscape(q) + "&time=" + strconv.FormatInt(at.Unix(), 10)
		if code := vmAPI.get(t, path, &resp); code != http.StatusOK {
			t.Fatalf("VictoriaMetrics %s: HTTP %d", q, code)
		}
		if len(resp.Data.Result) != 1 {
			return -1
		}
		var s string
		if err := json.Unmarshal(resp.Data.Result[0].Value[1], &s); err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.ParseFloat(s, 64)
		return v
	}
	const selector = `node_load1{host="dedup-host"}`

	// Both members forward the host's samples.
	eventually(t, 20*time.Second, "both collectors forwarding", func() (bool, string) {
		a, b := forwarded(pair[0]), forwarded(pair[1])
		return a > 0 && b > 0, fmt.Sprintf("sent %v and %v", a, b)
	})
	start := time.Now()
	eventually(t, 30*time.Second, "20 s of the host's samples in VictoriaMetrics", func() (bool, string) {
		n := vmQuery("count_over_time("+selector+"[20s])", time.Now())
		return time.Since(start) > 22*time.Second && n >= 15, fmt.Sprintf("%v samples", n)
	})

	// One series, without the replica label.
	var series struct{ Data []map[string]string }
	vmAPI.get(t, "/api/v1/series?match[]="+url.QueryEscape(selector), &series)
	if len(series.Data) != 1 {
		t.Fatalf("want one series of the host's load in VictoriaMetrics, got %v", series.Data)
	}
	if r, ok := series.Data[0]["replica"]; ok {
		t.Fatalf("the replica label %q was not dropped: %v", r, series.Data[0])
	}
	// One sample a second although two collectors sent each one.
	checkOnePerInterval := func(what string, end time.Time) {
		t.Helper()
		n := vmQuery("count_over_time("+selector+"[20s])", end)
		if n < 15 || n > 21 {
			t.Fatalf("%s: %v samples in 20 s of a host pushing every second to both collectors; want 15-21 (one a second: deduplicated, no gap)", what, n)
		}
	}
	checkOnePerInterval("both collectors running", time.Now().Add(-time.Second))

	// One member stopped: the other's copy fills the series with no gap.
	pair[1].proc.stop(t, syscall.SIGTERM)
	stopped := time.Now()
	eventually(t, 40*time.Second, "20 s of samples after the stop", func() (bool, string) {
		return time.Since(stopped) > 22*time.Second, ""
	})
	checkOnePerInterval("collector-1 stopped", time.Now().Add(-time.Second))
	startMember(pair[1], "collector-1-restarted")
	restarted := time.Now()
	eventually(t, 40*time.Second, "20 s of samples after the restart", func() (bool, string) {
		return time.Since(restarted) > 22*time.Second, ""
	})
	checkOnePerInterval("collector-1 restarted (its spooled copies delivered too)", time.Now().Add(-time.Second))
}
