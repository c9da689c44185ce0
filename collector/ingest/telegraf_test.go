package ingest_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/ingest"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/internal/peertest"
)

// telegrafTags are the plugins of Telegraf's default configuration that
// run anywhere, and both InfluxDB outputs.
const telegrafTags = "custom,inputs.cpu,inputs.mem,inputs.disk,inputs.net,inputs.system,outputs.influxdb,outputs.influxdb_v2"

// telegrafConfig is Telegraf's default configuration (the agent's and
// the inputs' settings as `telegraf config` writes them, the inputs with
// no setting of their own) with a shorter interval; the outputs are the
// README's snippet. The one setting added, skip_processors_after_aggregators,
// answers a warning Telegraf 1.39 logs at start whatever the output.
const telegrafConfig = `
[agent]
  interval = "2s"
  round_interval = true
  metric_batch_size = 1000
  metric_buffer_limit = 10000
  collection_jitter = "0s"
  flush_interval = "2s"
  flush_jitter = "0s"
  precision = "0s"
  hostname = "telegraf-e2e"
  omit_hostname = false
  skip_processors_after_aggregators = false

[[inputs.cpu]]
  percpu = true
  totalcpu = true
  collect_cpu_time = false
  report_active = false
  core_tags = false

[[inputs.disk]]
  ignore_fs = ["tmpfs", "devtmpfs", "devfs", "iso9660", "overlay", "aufs", "squashfs"]

[[inputs.mem]]

[[inputs.net]]

[[inputs.system]]
`

// TestTelegrafDefaultConfig runs a real Telegraf with its default
// configuration against the collector's write API for 20 s, through
// outputs.influxdb and outputs.influxdb_v2 (issue 18 item 1): Telegraf
// logs no error and no warning (no 400 for inputs.system's string-only
// line, no failed CREATE DATABASE), its host is UP, and its series are
// in the window under both databases.
func TestTelegrafDefaultConfig(t *testing.T) {
	bin := peertest.Telegraf(t, telegrafTags)
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)

	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tracker, err := state.New(ctx, st, state.Options{DownAfter: 3, DefaultInterval: 10 * time.Second}, time.Now(), logger)
	if err != nil {
		t.Fatal(err)
	}
	window := samples.New(time.Hour, 100000, 0)
	reg := prometheus.NewRegistry()
	in := ingest.NewHandler(ingest.Options{Appender: window, Observer: tracker, MaxBodyBytes: 16 << 20, MaxLineBytes: 64 << 10,
		Logger: logger, Registerer: reg})
	const token = "telegraf-secret"
	a := auth.New([]config.Token{{Name: "telegraf", Role: config.RoleAgent, Hash: sha256.Sum256([]byte(token))}})
	// As the collector's Handler wires them.
	mux := http.NewServeMux()
	mux.Handle("POST /write", ingest.V1Credentials(a.Require(config.RoleAgent, in.WriteV1())))
	mux.Handle("POST /api/v2/write", a.Require(config.RoleAgent, in.WriteV2()))
	ingest.RegisterInfluxAPI(mux, a)
	var (
		callsMu sync.Mutex
		calls   = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		callsMu.Lock()
		calls[r.Method+" "+r.URL.Path]++
		callsMu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cfg := filepath.Join(t.TempDir(), "telegraf.conf")
	if err := os.WriteFile(cfg, []byte(telegrafConfig+readmeOutputs(t, srv.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	// --strict-env-handling: Telegraf 1.39 warns at start unless told
	// which environment-variable handling is wanted (strict is its
	// default).
	p := peertest.StartEnv(t, append(os.Environ(), "NINES_TOKEN="+token), bin, "--config", cfg, "--strict-env-handling")
	time.Sleep(20 * time.Second) // a real peer's real clock: ten flushes
	p.Stop()
	log := p.Output()
	t.Logf("Telegraf's log:\n%s", log)

	var bad []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " E! ") || strings.Contains(l, " W! ") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 {
		t.Errorf("Telegraf logged %d errors or warnings:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if !strings.Contains(log, "Loaded outputs: influxdb influxdb_v2") {
		t.Errorf("Telegraf did not load both outputs")
	}
	callsMu.Lock()
	for _, c := range []string{"POST /query", "POST /write", "POST /api/v2/write"} {
		if calls[c] == 0 {
			t.Errorf("Telegraf never called %s (calls: %v)", c, calls)
		}
	}
	callsMu.Unlock()

	var up bool
	for _, tg := range tracker.Snapshot() {
		if tg.Name == "telegraf-e2e" {
			up = tg.State == state.Up
			if !up {
				t.Errorf("host telegraf-e2e: got %s, want UP", tg.State)
			}
		}
	}
	if !up {
		t.Errorf("host telegraf-e2e not tracked: %+v", tracker.Snapshot())
	}

	q, err := window.Querier(0, time.Now().Add(time.Minute).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	names, _, err := q.LabelValues(ctx, "__name__", nil)
	if err != nil {
		t.Fatal(err)
	}
	dbs, _, err := q.LabelValues(ctx, "db", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"cpu_usage_idle", "mem_used_percent", "disk_used_percent", "net_bytes_recv", "system_load1", "system_uptime"} {
		if !slices.Contains(names, n) {
			t.Errorf("series %s missing; have %v", n, names)
		}
	}
	if !slices.Equal(dbs, []string{"telegraf", "telegraf-v2"}) {
		t.Errorf("db labels: got %v, want both outputs' databases", dbs)
	}

	// Nothing rejected or refused; the string fields dropped and counted.
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := func(name string, match func(*dto.Metric) bool) (n float64) {
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, m := range mf.GetMetric() {
					if match == nil || match(m) {
						n += m.GetCounter().GetValue()
					}
				}
			}
		}
		return n
	}
	if n := sum("nines_ingest_lines_rejected_total", nil); n != 0 {
		t.Errorf("%v lines rejected", n)
	}
	if n := sum("nines_ingest_samples_refused_total", nil); n != 0 {
		t.Errorf("%v samples refused", n)
	}
	if n := sum("nines_ingest_fields_dropped_total", nil); n == 0 {
		t.Errorf("no string field counted as dropped (inputs.system sends uptime_format)")
	}
	not204 := func(m *dto.Metric) bool {
		for _, l := range m.GetLabel() {
			if l.GetName() == "code" && l.GetValue() != "204" {
				return true
			}
		}
		return false
	}
	if n := sum("nines_ingest_requests_total", not204); n != 0 {
		t.Errorf("%v write requests answered other than 204", n)
	}
}

// readmeOutputs returns the Telegraf outputs the README shows, writing to
// url. The v2 output's bucket is renamed: both outputs send the same
// series at the same times, which would otherwise collide (the README
// says to use one of them).
func readmeOutputs(t *testing.T, url string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "<!-- telegraf-outputs")
	if !ok {
		t.Fatal("README.md has no telegraf-outputs snippet")
	}
	_, after, _ = strings.Cut(after, "```toml\n")
	snippet, _, ok := strings.Cut(after, "```")
	if !ok || !strings.Contains(snippet, "[[outputs.influxdb]]") || !strings.Contains(snippet, "[[outputs.influxdb_v2]]") {
		t.Fatalf("README.md's telegraf-outputs snippet is not both outputs:\n%s", snippet)
	}
	snippet = strings.ReplaceAll(snippet, "http://nines.example.internal:9990", url)
	v1, v2, _ := strings.Cut(snippet, "[[outputs.influxdb_v2]]")
	return v1 + "[[outputs.influxdb_v2]]" + strings.Replace(v2, `bucket = "telegraf"`, `bucket = "telegraf-v2"`, 1)
}
