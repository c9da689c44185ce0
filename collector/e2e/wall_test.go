package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/collector/web"
	"github.com/ninesmon/nines/internal/peertest"
)

// artifactsDir is where browser screenshots are kept after the run:
// $NINES_TEST_ARTIFACTS, or dist/test-artifacts in the repository.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NINES_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "dist", "test-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// browser starts Debian's headless Chromium (installed by make test-deps)
// with the flags this closed network needs, one profile per test.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := peertest.Find(t, "chromium", "chromium", "NINES_SKIP_BROWSER")
	// Not t.TempDir: Chromium may still be writing its profile when the
	// test's own clean-up runs.
	profile, err := os.MkdirTemp("", "nines-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1920, 1080),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// run runs browser actions with a timeout.
func run(t *testing.T, ctx context.Context, timeout time.Duration, what string, actions ...chromedp.Action) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Run(tctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// screenshot saves a full-page PNG at width x height and checks that it
// rendered: not one flat colour, and the status colours present.
func screenshot(t *testing.T, ctx context.Context, name string, width, height int64) string {
	t.Helper()
	var buf []byte
	run(t, ctx, 30*time.Second, "screenshot "+name,
		emulation.SetDeviceMetricsOverride(width, height, 1, false),
		chromedp.Sleep(300*time.Millisecond), // one layout pass at the new size
		chromedp.CaptureScreenshot(&buf),
	)
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if b := img.Bounds(); int64(b.Dx()) != width || int64(b.Dy()) != height {
		t.Errorf("screenshot %s is %dx%d, want %dx%d", name, b.Dx(), b.Dy(), width, height)
	}
	if n := distinctColours(img, 64); n < 16 {
		t.Errorf("screenshot %s has %d distinct colours: blank or unstyled", name, n)
	}
	path := filepath.Join(artifactsDir(t), name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", path)
	return path
}

func distinctColours(img image.Image, step int) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += step / 4 {
		for x := b.Min.X; x < b.Max.X; x += step / 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}

func tileState(name string) string {
	return fmt.Sprintf(`(() => { const t = document.querySelector('#services .tile[data-name=%q]'); return t ? t.dataset.state : 'missing'; })()`, name)
}

// waitJS polls a JavaScript expression in the page until it returns want.
func waitJS(t *testing.T, ctx context.Context, timeout time.Duration, expr, want string) time.Duration {
	t.Helper()
	start := time.Now()
	var got string
	for time.Since(start) < timeout {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := chromedp.Run(tctx, chromedp.Evaluate(expr, &got))
		cancel()
		if err == nil && got == want {
			return time.Since(start)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: got %q, want %q within %s", expr, got, want, timeout)
	return 0
}

// TestWallInBrowser drives Debian's Chromium against a collector and two
// agents run as real processes: the wall shows the services, groups and
// incidents; killing an agent turns its service's tile DOWN within 5 s
// with no reload; after a collector restart the wall says it was stale
// and reconnects by itself; an operator acknowledges an incident from its
// page and the API shows it. Screenshots at 1920x1080 and 3840x2160 are
// kept in the artifacts directory.
func TestWallInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser and real processes")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	ctx := browser(t)
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	collectorAddr := freeAddr(t)
	closedAddr := freeAddr(t) // nothing listens: the printer check fails
	write(t, filepath.Join(dir, "agent.token"), "agent-token\n")
	write(t, filepath.Join(dir, "viewer.token"), "viewer-token\n")
	write(t, filepath.Join(dir, "ops.token"), "ops-token\n")
	write(t, filepath.Join(dir, "rules.yml"), `
groups:
  - name: fixture
    interval: 200ms
    rules:
      - alert: BackupFailed
        expr: vector(1)
        labels: {priority: P2, service: ERP}
        annotations:
          summary: "Nightly ERP backup failed"
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        labels: {priority: P1}
        annotations:
          summary: "Host {{ $labels.target }} is down"
`)
	write(t, filepath.Join(dir, "collector.yml"), fmt.Sprintf(`
web: {listen_address: %q}
storage: {path: nines.db}
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: noc-wall, role: viewer, token_file: viewer.token}
    - {name: ops, role: operator, token_file: ops.token}
availability:
  down_after_intervals: 2
  default_push_interval: 1s
  startup_grace: 1s
  check_interval: 100ms
inventory:
  hosts:
    - {name: erp-app1, labels: {site: hq}}
    - {name: mail1, labels: {site: branch}}
    - {name: wifi-ctrl, labels: {site: branch}}
checks:
  - {name: intranet-http, type: http, target: "http://%[1]s/-/healthy", interval: 1s, labels: {site: hq}}
  - {name: printer-hq, type: tcp, target: "%[2]s", interval: 1s, labels: {site: hq}}
maintenance:
  - {name: controller upgrade, targets: [wifi-ctrl], start: %[3]q, end: %[4]q}
services:
  - name: ERP
    group: business
    description: Enterprise resource planning
    components: {targets: [erp-app1]}
  - name: E-mail
    group: office
    components: {targets: [mail1]}
  - name: Intranet
    group: office
    components: {targets: [intranet-http]}
  - name: Printing
    group: office
    components: {targets: [printer-hq]}
  - name: Office LAN
    group: office
    combine: any
    components: {targets: [intranet-http, printer-hq]}
  - name: Wi-Fi
    group: office
    components: {targets: [wifi-ctrl]}
rules:
  files: [rules.yml]
`, collectorAddr, closedAddr, time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
	agents := map[string]*proc{}
	startAgent := func(host string) {
		cfg := filepath.Join(dir, host+".yml")
		write(t, cfg, fmt.Sprintf("interval: 1s\nhostname: %s\nweb: {listen_address: %q}\npush:\n  urls: [\"http://%s\"]\n  token_file: agent.token\n  spool_dir: spool-%s\n",
			host, freeAddr(t), collectorAddr, host))
		agents[host] = start(t, host, agentBin, "--config", cfg)
	}
	startCollector := func() *proc {
		p := start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"), "--log.level", "debug")
		eventually(t, 30*time.Second, "collector ready", func() (bool, string) {
			return (client{base: "http://" + collectorAddr}).get(t, "/-/ready", nil) == 200, "not ready"
		})
		return p
	}
	collector := startCollector()
	startAgent("erp-app1")
	startAgent("mail1")
	base := "http://" + collectorAddr

	// A wall screen opens the viewer-token URL; the token leaves the
	// address bar and a session cookie takes its place.
	var url string
	run(t, ctx, 20*time.Second, "open the wall",
		chromedp.Navigate(base+"/ui/wall?token=viewer-token&stale=4&flash=1"),
		chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery),
		chromedp.Location(&url),
	)
	if strings.Contains(url, "viewer-token") || !strings.Contains(url, "stale=4") {
		t.Errorf("wall URL after login = %s; want the token gone and the options kept", url)
	}
	waitJS(t, ctx, 15*time.Second, tileState("ERP"), "up")
	waitJS(t, ctx, 15*time.Second, tileState("E-mail"), "up")
	waitJS(t, ctx, 15*time.Second, tileState("Printing"), "down")
	waitJS(t, ctx, 15*time.Second, tileState("Office LAN"), "degraded")
	waitJS(t, ctx, 15*time.Second, tileState("Wi-Fi"), "maintenance")
	waitJS(t, ctx, 10*time.Second, `document.querySelector('#conn').textContent`, "live")
	waitJS(t, ctx, 10*time.Second, `[...document.querySelectorAll('#groups .tile')].map(t => t.dataset.name + ':' + t.dataset.state).join(',')`, "hq:degraded,branch:up") // worst first
	waitJS(t, ctx, 10*time.Second, `String([...document.querySelectorAll('#incidents .incident-title')].some(e => e.textContent === 'Nightly ERP backup failed'))`, "true")
	var timer string
	run(t, ctx, 5*time.Second, "incident timers", chromedp.Text(`#incidents .timer`, &timer, chromedp.ByQuery))
	if !strings.HasPrefix(timer, "respond in 29m") && !strings.HasPrefix(timer, "respond in 30m") {
		t.Errorf("P2 respond timer = %q, want about 30m left", timer)
	}
	// Pings keep a quiet wall fresh: no stale warning while connected.
	run(t, ctx, 10*time.Second, "quiet wall", chromedp.Sleep(6*time.Second))
	waitJS(t, ctx, time.Second, `String(document.querySelector('#stale').hidden)`, "true")
	screenshot(t, ctx, "wall-1920x1080.png", 1920, 1080)
	screenshot(t, ctx, "wall-3840x2160.png", 3840, 2160)
	run(t, ctx, 5*time.Second, "viewport back", emulation.ClearDeviceMetricsOverride())

	// Kill an agent: its service turns DOWN on the wall by itself.
	run(t, ctx, 5*time.Second, "mark the page", chromedp.Evaluate(`window.__noReload = 1`, nil))
	agents["erp-app1"].stop(t, syscall.SIGKILL)
	took := waitJS(t, ctx, 5*time.Second, tileState("ERP"), "down")
	t.Logf("ERP tile DOWN %s after the agent was killed", took.Round(10*time.Millisecond))
	waitJS(t, ctx, 5*time.Second, `String(window.__noReload)`, "1")
	waitJS(t, ctx, 5*time.Second, `String([...document.querySelectorAll('#incidents .incident')].some(e => e.classList.contains('inc-P1') && e.textContent.includes('erp-app1')))`, "true")
	waitJS(t, ctx, 2*time.Second, `String(document.body.classList.contains('flash'))`, "true") // flash=1: a new P1 flashes
	screenshot(t, ctx, "wall-down-1920x1080.png", 1920, 1080)
	run(t, ctx, 5*time.Second, "viewport back", emulation.ClearDeviceMetricsOverride())

	// Restart the collector: the wall says its data is stale, then
	// reconnects and follows changes again, all without a reload.
	collector.stop(t, syscall.SIGTERM)
	waitJS(t, ctx, 10*time.Second, `String(!document.querySelector('#stale').hidden)`, "true")
	startCollector() // stopped by its clean-up
	startAgent("erp-app1")
	waitJS(t, ctx, 20*time.Second, `document.querySelector('#conn').textContent`, "live")
	waitJS(t, ctx, 15*time.Second, tileState("ERP"), "up")
	waitJS(t, ctx, 5*time.Second, `String(document.querySelector('#stale').hidden)`, "true")
	waitJS(t, ctx, 5*time.Second, `String(window.__noReload)`, "1")

	// An operator logs in and acknowledges the backup incident from its
	// page; the API shows who did.
	ops := client{base: base, token: "ops-token"}
	var list struct{ Data []incident }
	ops.get(t, "/api/v1/incidents?status=open", &list)
	var id int64
	for _, inc := range list.Data {
		if inc.Rule == "BackupFailed" {
			id = inc.ID
		}
	}
	if id == 0 {
		t.Fatalf("no open BackupFailed incident: %+v", list.Data)
	}
	octx, cancel := chromedp.NewContext(ctx) // a second tab shares the profile; log in afresh
	defer cancel()
	var status string
	run(t, octx, 20*time.Second, "log in and acknowledge",
		chromedp.Navigate(base+"/ui/logout"),
		chromedp.Navigate(fmt.Sprintf("%s/ui/incidents/%d", base, id)),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, "ops-token", chromedp.ByID),
		chromedp.Click(`#login`, chromedp.ByID),
		chromedp.WaitVisible(`#do-acknowledge`, chromedp.ByID),
		chromedp.SendKeys(`#comment`, "on it", chromedp.ByID),
		chromedp.Click(`#do-acknowledge`, chromedp.ByID),
		chromedp.WaitVisible(`.done`, chromedp.ByQuery),
		chromedp.Text(`#incident-status`, &status, chromedp.ByID),
	)
	if status != "acknowledged" {
		t.Errorf("incident page status after acknowledging = %q", status)
	}
	var got struct {
		Data struct {
			Status         string `json:"status"`
			AcknowledgedBy string `json:"acknowledged_by"`
		}
	}
	ops.get(t, fmt.Sprintf("/api/v1/incidents/%d", id), &got)
	if got.Data.Status != "acknowledged" || got.Data.AcknowledgedBy != "ops" {
		t.Errorf("API after acknowledging in the browser: %+v; want acknowledged by ops", got.Data)
	}
	var timeline string
	ops.get(t, fmt.Sprintf("/api/v1/incidents/%d/timeline", id), &timeline)
	if !strings.Contains(timeline, `"text":"on it"`) {
		t.Errorf("timeline lacks the comment: %s", timeline)
	}
	// The wall follows: the incident shows as acknowledged and its
	// response timer is gone.
	waitJS(t, ctx, 5*time.Second, fmt.Sprintf(`String(document.querySelector('#incidents .incident[data-id="%d"]').classList.contains('is-acknowledged'))`, id), "true")

	// Kiosk options: only the office group's services, no links, pages
	// rotating every second.
	run(t, ctx, 20*time.Second, "kiosk wall",
		chromedp.Navigate(base+"/ui/wall?token=viewer-token&groups=office&controls=0&rotate=1&theme=light"),
		chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery),
	)
	waitJS(t, ctx, 5*time.Second, `[...document.querySelectorAll('#services .tile')].map(t => t.dataset.name).join(',')`, "Printing,Office LAN,Wi-Fi,E-mail,Intranet") // worst first
	waitJS(t, ctx, 5*time.Second, `String(document.querySelectorAll('#wall a').length)`, "0")
	waitJS(t, ctx, 5*time.Second, `String(document.documentElement.classList.contains('theme-light'))`, "true")
	waitJS(t, ctx, 5*time.Second, `String(document.querySelector('#page-services').hidden)`, "true")
	waitJS(t, ctx, 5*time.Second, `String(document.querySelector('#page-services').hidden)`, "false")

}

// boardData is the collector's Data with a board the test sets; the wall
// reads nothing else.
type boardData struct {
	mu      sync.Mutex
	b       web.Board
	stalled chan struct{} // while not nil, Board waits for it to close
}

// stall makes Board wait (a collector that stopped computing) or go on.
func (d *boardData) stall(on bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case on && d.stalled == nil:
		d.stalled = make(chan struct{})
	case !on && d.stalled != nil:
		close(d.stalled)
		d.stalled = nil
	}
}

func (d *boardData) set(b web.Board) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.b = b
}

func (d *boardData) Board(ctx context.Context, now time.Time) (web.Board, error) {
	d.mu.Lock()
	if st := d.stalled; st != nil {
		d.mu.Unlock()
		select {
		case <-st:
		case <-ctx.Done():
			return web.Board{}, ctx.Err()
		}
		d.mu.Lock()
	}
	defer d.mu.Unlock()
	b := d.b
	b.GeneratedAt = now
	return b, nil
}
func (d *boardData) Target(context.Context, string, time.Time) (*web.TargetView, error) {
	return nil, nil
}
func (d *boardData) Service(context.Context, string, time.Time) (*web.ServiceView, error) {
	return nil, nil
}
func (d *boardData) Report(context.Context, report.Request, time.Time) (*report.Report, error) {
	return nil, errors.New("no reports here")
}
func (d *boardData) Incident(context.Context, *alerting.Incident, time.Time) (*web.IncidentDetail, error) {
	return &web.IncidentDetail{}, nil
}
func (d *boardData) Affected([]alerting.Incident) map[int64][]string                { return nil }
func (d *boardData) Deliveries(context.Context, int64) ([]alerting.Delivery, error) { return nil, nil }
func (d *boardData) Tickets(context.Context, int64) ([]alerting.Ticket, error)      { return nil, nil }

// wallServer serves the web UI over a board the test sets, with the
// store for sessions and audit and the viewer token "view" (name wall).
// ttl is the session lifetime.
func wallServer(t *testing.T, d *boardData, ttl time.Duration) (base string, authn *auth.Authenticator) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	authn = auth.New([]config.Token{{Name: "wall", Role: config.RoleViewer, Hash: sha256.Sum256([]byte("view"))}})
	ui, err := web.New(web.Options{Auth: authn, Incidents: st, Data: d, Audit: st, Sessions: st,
		SessionKey: []byte("0123456789abcdef0123456789abcdef"), SessionTTL: func() time.Duration { return ttl },
		Tick: 100 * time.Millisecond, Ping: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ui.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; srv.Close(); st.Close() })
	return srv.URL, authn
}

// bigBoard is a wall at scale: 500 targets in 40 sites, 60 services in
// configuration order with the DOWN ones last, and 300 open incidents of
// which 3 are P1 (one three days old) and 5 are P2, carried as the
// collector does (the 200 most urgent, counted by priority).
func bigBoard(now time.Time) web.Board {
	b := web.Board{Counts: map[string]int{}, Active: map[string]int{}}
	states := func(i int) string {
		switch {
		case i >= 52:
			return "down"
		case i >= 47:
			return "degraded"
		case i >= 44:
			return "unknown"
		case i >= 42:
			return "maintenance"
		}
		return "up"
	}
	for i := range 60 {
		name := fmt.Sprintf("Service %02d", i)
		if i == 55 {
			name = "Customer self-service portal for the EU region (primary)"
		}
		a, left := 0.9995, 0.5
		tile := web.ServiceTile{Name: name, Group: []string{"business", "office"}[i%2], State: states(i),
			Objective: 0.999, Availability: &a, BudgetRemaining: &left, Components: 4, ComponentsDown: map[bool]int{true: 2}[states(i) == "down"]}
		if i == 53 || i == 48 { // burning their budget fast
			tile.AtRisk, tile.BurnRate = true, 16.5
		}
		b.Services = append(b.Services, tile)
	}
	for i := range 40 {
		g := web.GroupTile{Name: fmt.Sprintf("site-%02d", i), Counts: map[string]int{"up": 12}, Total: 12, State: "up"}
		switch i {
		case 7:
			g.Counts = map[string]int{"up": 8, "down": 4}
			g.State = "degraded"
		case 23:
			g.Counts = map[string]int{"down": 12}
			g.State = "down"
		case 31:
			g.Counts = map[string]int{"maintenance": 12}
			g.State = "maintenance"
		}
		if i < 20 {
			g.Counts["up"]++
			g.Total++
		}
		for st, n := range g.Counts {
			b.Counts[st] += n
		}
		b.Groups = append(b.Groups, g)
	}
	var incs []web.IncidentRow
	for i := range 300 {
		p := "P4"
		switch {
		case i < 3:
			p = "P1"
		case i < 8:
			p = "P2"
		case i < 108:
			p = "P3"
		}
		opened := now.Add(-time.Duration(i+1) * 7 * time.Minute)
		if i == 0 {
			opened = now.Add(-72 * time.Hour) // an old P1, still open
		}
		due := opened.Add(30 * time.Minute)
		row := web.IncidentRow{ID: int64(1000 + i), Title: fmt.Sprintf("%s incident %d on host-%03d", p, i, i), Priority: p, Status: "open",
			Target: fmt.Sprintf("host-%03d", i), OpenedAt: opened, RespondDue: &due,
			Services: []string{fmt.Sprintf("Service %02d", 52+i%8)}}
		if i%3 == 1 {
			row.Status, row.AcknowledgedBy, row.RespondDue = "acknowledged", "alice", nil
		}
		if i == 4 {
			row.Assignee = "network team"
		}
		incs = append(incs, row)
		b.Active[p]++
	}
	// Newest first, as a store reads them; the wall sorts them itself.
	slices.Reverse(incs)
	b.Incidents = incs[len(incs)-web.MaxBoardIncidents:]
	return b
}

// resize sets the page's size and waits until the wall has laid itself
// out for it.
func resize(t *testing.T, ctx context.Context, width, height int64) {
	t.Helper()
	run(t, ctx, 10*time.Second, "resize", emulation.SetDeviceMetricsOverride(width, height, 1, false))
	waitJS(t, ctx, 10*time.Second, `document.getElementById('wall').dataset.layout`, fmt.Sprintf("%dx%d", width, height))
}

// onScreen is JavaScript returning, as JSON, which of the DOWN service
// tiles and P1/P2 incidents are not wholly on screen: inside the viewport
// and not clipped by the panel they are in.
const onScreen = `(() => {
  const inside = (r, b) => r.width > 0 && r.height > 0 && r.top >= b.top - .5 && r.left >= b.left - .5 && r.bottom <= b.bottom + .5 && r.right <= b.right + .5;
  const view = {top: 0, left: 0, bottom: innerHeight, right: innerWidth};
  const shown = e => { const r = e.getBoundingClientRect(); const box = e.closest('.pages, .incidents-panel').getBoundingClientRect(); return inside(r, view) && inside(r, box); };
  const svc = (window.__expectDown || []).filter(n => { const e = document.querySelector('#services .tile[data-name="' + CSS.escape(n) + '"]'); return !e || !shown(e); });
  const inc = (window.__expectUrgent || []).filter(id => { const e = document.querySelector('#incidents .incident[data-id="' + id + '"]'); return !e || !shown(e); });
  return JSON.stringify({services: svc, incidents: inc});
})()`

// TestWallAtScale: 500 targets and 300 open incidents at 1920x1080 and
// 3840x2160. Every DOWN service and every P1 and P2 incident is on
// screen, measured by bounding boxes; what is left out is counted in a
// "+N more" line; the 4K screen shows more incidents, at the same text
// size.
func TestWallAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	ctx := browser(t)
	now := time.Now()
	d := &boardData{}
	b := bigBoard(now)
	d.set(b)
	base, _ := wallServer(t, d, time.Hour)
	var down []string
	for _, s := range b.Services {
		if s.State == "down" {
			down = append(down, s.Name)
		}
	}
	var urgent []int64
	for _, i := range b.Incidents {
		if i.Priority == "P1" || i.Priority == "P2" {
			urgent = append(urgent, i.ID)
		}
	}
	if len(down) != 8 || len(urgent) != 8 {
		t.Fatalf("fixture: %d DOWN services and %d P1/P2 incidents", len(down), len(urgent))
	}
	run(t, ctx, 20*time.Second, "open the wall",
		emulation.SetDeviceMetricsOverride(1920, 1080, 1, false),
		chromedp.Navigate(base+"/ui/wall?token=view"),
		chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf("window.__expectDown = %s; window.__expectUrgent = %s", mustJSON(t, down), mustJSON(t, urgent)), nil),
	)
	rows := map[int64]int{}
	for _, size := range [][2]int64{{1920, 1080}, {3840, 2160}} {
		name := fmt.Sprintf("%dx%d", size[0], size[1])
		resize(t, ctx, size[0], size[1])
		var missing struct{ Services, Incidents []any }
		var out string
		run(t, ctx, 5*time.Second, "measure", chromedp.Evaluate(onScreen, &out))
		if err := json.Unmarshal([]byte(out), &missing); err != nil {
			t.Fatal(err)
		}
		if len(missing.Services) > 0 || len(missing.Incidents) > 0 {
			t.Errorf("%s: not on screen: DOWN services %v, P1/P2 incidents %v", name, missing.Services, missing.Incidents)
		}
		var first, more, shown string
		run(t, ctx, 5*time.Second, "read",
			chromedp.Evaluate(`[...document.querySelectorAll('#services .tile')].slice(0, 3).map(t => t.dataset.state).join(',')`, &first),
			chromedp.Evaluate(`document.getElementById('incidents-more').hidden ? '' : document.getElementById('incidents-more').textContent`, &more),
			chromedp.Evaluate(`String(document.querySelectorAll('#incidents .incident').length)`, &shown),
		)
		if first != "down,down,down" {
			t.Errorf("%s: first service tiles are %s; want the DOWN ones first", name, first)
		}
		n, _ := strconv.Atoi(shown)
		rows[size[0]] = n
		if want := fmt.Sprintf("+%d more:", 300-n); !strings.HasPrefix(more, want) || !strings.Contains(more, "P4") {
			t.Errorf("%s: incidents-more = %q; want it to start %q and count the P4s", name, more, want)
		}
		var oldest string
		run(t, ctx, 5*time.Second, "oldest P1", chromedp.Evaluate(`document.querySelector('#incidents .incident').dataset.id`, &oldest))
		if oldest != "1000" {
			t.Errorf("%s: first incident is %s; want the three-day-old P1 (1000)", name, oldest)
		}
		// Who is hit: the services an incident hits, and the services
		// whose SLA is at risk.
		if hit := jsText(t, ctx, `document.querySelector('#incidents .incident .where').textContent`); hit != "Service 52" {
			t.Errorf("%s: the first incident says it hits %q; want Service 52", name, hit)
		}
		if risk := jsText(t, ctx, `[...document.querySelectorAll('#services .tile-risk')].map(e => e.textContent).join('|')`); risk != "SLA at risk · burn 16.5x|SLA at risk · burn 16.5x" {
			t.Errorf("%s: at-risk marks %q; want two, with their burn rate", name, risk)
		}
		checkReadable(t, ctx, name)
		screenshot(t, ctx, "wall-500-targets-"+name+".png", size[0], size[1])
		t.Logf("%s: %d incident rows, services: %s", name, n, jsText(t, ctx, `document.getElementById('services-summary').textContent + ' | ' + document.getElementById('services-more').textContent + ' | ' + document.getElementById('groups-summary').textContent + ' | ' + document.getElementById('groups-more').textContent`))
	}
	if rows[3840] <= rows[1920] {
		t.Errorf("4K shows %d incidents and 1080p %d; want more on 4K", rows[3840], rows[1920])
	}

	// More DOWN services than fit: what is left out is counted.
	resize(t, ctx, 1920, 1080)
	many := bigBoard(now)
	for i := range many.Services {
		many.Services[i].State = "down"
	}
	d.set(many)
	waitJS(t, ctx, 5*time.Second, `(() => { const n = document.querySelectorAll('#services .tile').length, m = document.getElementById('services-more');
  return String(!m.hidden && n > 0 && m.textContent === '+' + (60 - n) + ' more services: ' + (60 - n) + ' down'); })()`, "true")
	t.Logf("60 DOWN services at 1920x1080: %s", jsText(t, ctx, `document.getElementById('services-more').textContent`))
}

// minReadablePx is the smallest text a NOC reads from the back of the
// room, in CSS pixels of a 1080p screen: 16 arcmin (ISO 9241-303's
// minimum character height) at 5 m, on a 55-inch 16:9 screen 1920 px wide.
var minReadablePx = func() float64 {
	const diagonal, distance, arcmin = 55 * 0.0254, 5.0, 16.0
	width := diagonal * 16 / math.Hypot(16, 9)                 // 1.218 m
	height := 2 * distance * math.Tan(arcmin/2/60*math.Pi/180) // 23.3 mm
	return math.Ceil(height / (width / 1920))                  // 37 px
}()

// readable lists what a NOC reads at a distance on the wall: state, name,
// age, who has it, time left, and the lines that count what is folded or
// left out.
var readable = []string{".tile-state", ".tile-name", ".incident .age", ".incident .who", ".incident .timer", ".incident-title", ".summary", ".more"}

// checkReadable measures the computed font size of every visible element
// of readable.
func checkReadable(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var out string
	run(t, ctx, 5*time.Second, "font sizes", chromedp.Evaluate(fmt.Sprintf(`(() => {
  const min = {};
  for (const sel of %s) {
    for (const e of document.querySelectorAll('#wall ' + sel)) {
      if (!e.getClientRects().length || !e.textContent.trim()) continue;
      const px = parseFloat(getComputedStyle(e).fontSize);
      if (!(sel in min) || px < min[sel]) min[sel] = px;
    }
  }
  return JSON.stringify(min);
})()`, mustJSON(t, readable)), &out))
	var min map[string]float64
	if err := json.Unmarshal([]byte(out), &min); err != nil {
		t.Fatal(err)
	}
	for _, sel := range readable {
		px, ok := min[sel]
		switch {
		case !ok && sel != ".more" && sel != ".summary":
			t.Errorf("%s: no visible %s to measure", name, sel)
		case ok && px < minReadablePx:
			t.Errorf("%s: %s is %.1f px; want at least %.0f px (16 arcmin at 5 m on a 55-inch 1080p screen)", name, sel, px, minReadablePx)
		}
	}
	t.Logf("%s: smallest font sizes %v (minimum %.0f px)", name, min, minReadablePx)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func jsText(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	var s string
	run(t, ctx, 5*time.Second, expr, chromedp.Evaluate(expr, &s))
	return s
}

// TestWallKioskSession: a wall opened with ?token= keeps updating, and
// survives a reload, long after the session lifetime (3 s here) has
// passed, because it renews its session while it runs. When the session
// is then ended (a logout with the wall's cookie), the wall says so in
// words instead of showing STALE.
func TestWallKioskSession(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	const ttl = 3 * time.Second
	ctx := browser(t)
	d := &boardData{}
	board := func(state string) web.Board {
		return web.Board{Counts: map[string]int{state: 1}, Services: []web.ServiceTile{{Name: "ERP", State: state, Objective: 0.999, Components: 1}},
			Groups: []web.GroupTile{}, Incidents: []web.IncidentRow{}, Active: map[string]int{}}
	}
	d.set(board("up"))
	base, _ := wallServer(t, d, ttl)
	// Count the event stream's connections: renewal keeps the first open.
	countOpens := chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`window.__opens = 0; (() => { const ES = window.EventSource;
  window.EventSource = function (u, o) { const e = new ES(u, o); e.addEventListener('open', () => window.__opens++); return e; };
  window.EventSource.CLOSED = ES.CLOSED; })();`).Do(ctx)
		return err
	})
	run(t, ctx, 20*time.Second, "open the wall",
		countOpens,
		chromedp.Navigate(base+"/ui/wall?token=view&stale=4"),
		chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery),
		chromedp.Evaluate(`window.__noReload = 1`, nil),
	)
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn').textContent`, "live")
	start := time.Now()
	// Three lifetimes later the wall still follows changes, never stale.
	for i, st := range []string{"down", "up", "degraded", "down"} {
		time.Sleep(ttl)
		d.set(board(st))
		waitJS(t, ctx, 3*time.Second, tileState("ERP"), st)
		waitJS(t, ctx, time.Second, `String(document.querySelector('#stale').hidden && document.querySelector('#ended').hidden)`, "true")
		t.Logf("%s after opening (%d session lifetimes): ERP %s on the wall", time.Since(start).Round(100*time.Millisecond), i+1, st)
	}
	waitJS(t, ctx, time.Second, `String(window.__noReload)`, "1")
	if opens := jsText(t, ctx, `String(window.__opens)`); opens != "1" {
		t.Errorf("event stream opened %s times in four session lifetimes; want once (renewed while connected)", opens)
	}
	// A reload (a wall PC rebooting its browser) still finds its session.
	var url string
	run(t, ctx, 20*time.Second, "reload the wall",
		chromedp.Reload(),
		chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery),
		chromedp.Location(&url),
	)
	if !strings.Contains(url, "/ui/wall") {
		t.Fatalf("reload %s after opening landed on %s", time.Since(start).Round(time.Second), url)
	}
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn').textContent`, "live")

	// End the session with the wall's own cookie, as a logout would.
	var cookies []*network.Cookie
	run(t, ctx, 5*time.Second, "cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{base + "/ui/"}).Do(ctx)
		return err
	}))
	req, _ := http.NewRequest("GET", base+"/ui/logout", nil)
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitJS(t, ctx, 10*time.Second, `String(!document.querySelector('#ended').hidden)`, "true")
	ended := jsText(t, ctx, `document.querySelector('#ended').textContent`)
	if !strings.Contains(ended, "signed out") || !strings.Contains(ended, "logged out or revoked") {
		t.Errorf("ended banner = %q; want it to say the session was ended", ended)
	}
	if stale := jsText(t, ctx, `String(document.querySelector('#stale').hidden)`); stale != "true" {
		t.Errorf("STALE banner shown for an ended session")
	}
	if conn := jsText(t, ctx, `document.querySelector('#conn').textContent`); conn != "signed out" {
		t.Errorf("connection indicator = %q; want signed out", conn)
	}
	t.Logf("wall after logout: %s", ended)
}

// contrastJS returns, as JSON, how many text elements of the wall it
// checked and those whose WCAG contrast ratio, from their computed colour
// and the first opaque background behind them, is under 4.5:1 (3:1 for
// large text: 24 px, or 18.66 px bold).
const contrastJS = `(() => {
  const parse = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number); return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = e => { for (; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; } return {r: 255, g: 255, b: 255, a: 1}; };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const bad = [], seen = new Set();
  const w = document.createTreeWalker(document.getElementById('wall'), NodeFilter.SHOW_TEXT);
  while (w.nextNode()) {
    const e = w.currentNode.parentElement;
    if (!w.currentNode.textContent.trim() || seen.has(e) || !e.getClientRects().length) continue;
    seen.add(e);
    const cs = getComputedStyle(e);
    const px = parseFloat(cs.fontSize), large = px >= 24 || (parseInt(cs.fontWeight, 10) >= 700 && px >= 18.66);
    const r = ratio(parse(cs.color), bg(e));
    if (r < (large ? 3 : 4.5)) bad.push(e.className + ' "' + e.textContent.trim().slice(0, 30) + '" ' + cs.color + ' on ' + JSON.stringify(bg(e)) + ': ' + r.toFixed(2) + ':1');
  }
  return JSON.stringify({checked: seen.size, bad: bad});
})()`

// colourBoard has every state among services and sites, a long name and
// incidents of every priority, one overdue.
func colourBoard(now time.Time) web.Board {
	b := web.Board{Counts: map[string]int{}, Active: map[string]int{}}
	for i, st := range []string{"up", "unknown", "down", "degraded", "maintenance", "shutdown"} {
		name := "Service " + st
		if i == 0 {
			name = "Customer self-service portal for the EU region (primary)"
		}
		b.Services = append(b.Services, web.ServiceTile{Name: name, Group: "business", State: st, Objective: 0.999, Components: 2})
		b.Groups = append(b.Groups, web.GroupTile{Name: "site-" + st, State: st, Counts: map[string]int{st: 3}, Total: 3})
		b.Counts[st] += 3
	}
	for i, p := range []string{"P1", "P2", "P3", "P4"} {
		opened := now.Add(-time.Duration(i+1) * 20 * time.Minute)
		due := opened.Add(30 * time.Minute)
		row := web.IncidentRow{ID: int64(i + 1), Title: p + " trouble with a rather long incident title on host-" + p, Priority: p, Status: "open", OpenedAt: opened, RespondDue: &due}
		if p == "P2" {
			row.Status, row.AcknowledgedBy, row.RespondDue = "acknowledged", "alice", nil
			row.ResolveDue = &due
		}
		b.Incidents = append(b.Incidents, row)
		b.Active[p]++
	}
	return b
}

// greyAt is the relative luminance of the pixel at x, y of a greyscale
// screenshot.
func greyAt(img image.Image, x, y int) float64 {
	r, g, b, _ := img.At(x, y).RGBA()
	f := func(v uint32) float64 {
		c := float64(v>>8) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*f(r) + 0.7152*f(g) + 0.0722*f(b)
}

func contrast(a, b float64) float64 { return (max(a, b) + 0.05) / (min(a, b) + 0.05) }

// TestWallColours: in both themes every text on the wall meets WCAG
// contrast (white on DOWN, DEGRADED and MAINTENANCE included); in a
// greyscale rendering UP and UNKNOWN, and DOWN and DEGRADED, still differ
// in lightness (1.5:1 at least); flash=1 never hides a DOWN tile; the
// connection indicator never says live under a STALE banner; a groups=
// filter leaves no empty heading; an empty install says all clear; the
// clock shows the date and the zone; cut names carry their full text.
func TestWallColours(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	ctx := browser(t)
	d := &boardData{}
	now := time.Now()
	d.set(colourBoard(now))
	base, _ := wallServer(t, d, time.Hour)
	run(t, ctx, 20*time.Second, "log in", chromedp.Navigate(base+"/ui/wall?token=view"), chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery))
	for _, theme := range []string{"dark", "light"} {
		run(t, ctx, 20*time.Second, "open the wall",
			emulation.SetDeviceMetricsOverride(1920, 1080, 1, false),
			chromedp.Navigate(base+"/ui/wall?theme="+theme),
			chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery),
		)
		waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn').textContent`, "live")
		var res struct {
			Checked int
			Bad     []string
		}
		if err := json.Unmarshal([]byte(jsText(t, ctx, contrastJS)), &res); err != nil {
			t.Fatal(err)
		}
		if res.Checked < 40 || len(res.Bad) > 0 {
			t.Errorf("%s theme: %d texts checked; under WCAG contrast: %s", theme, res.Checked, strings.Join(res.Bad, "; "))
		}
		// Greyscale: the state colours still differ in lightness.
		var buf []byte
		var boxes string
		run(t, ctx, 10*time.Second, "greyscale",
			chromedp.Evaluate(`document.documentElement.style.filter = 'grayscale(1)'`, nil),
			chromedp.Evaluate(`JSON.stringify(Object.fromEntries(['up', 'unknown', 'down', 'degraded'].map(s => { const r = document.querySelector('#services .tile[data-state="' + s + '"]').getBoundingClientRect(); return [s, [r.left, r.top, r.width, r.height]]; })))`, &boxes),
			chromedp.Sleep(200*time.Millisecond),
			chromedp.CaptureScreenshot(&buf),
			chromedp.Evaluate(`document.documentElement.style.filter = ''`, nil),
		)
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(artifactsDir(t), "wall-greyscale-"+theme+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
		var box map[string][4]float64
		if err := json.Unmarshal([]byte(boxes), &box); err != nil {
			t.Fatal(err)
		}
		border := func(s string) float64 { b := box[s]; return greyAt(img, int(b[0])+4, int(b[1]+b[3]/2)) }
		fill := func(s string) float64 { b := box[s]; return greyAt(img, int(b[0]+b[2]/2), int(b[1]+b[3])-3) }
		if c := contrast(border("up"), border("unknown")); c < 1.5 {
			t.Errorf("%s theme, greyscale: UP and UNKNOWN markers differ %.2f:1, want 1.5:1", theme, c)
		}
		if c := contrast(fill("down"), fill("degraded")); c < 1.5 {
			t.Errorf("%s theme, greyscale: DOWN and DEGRADED tiles differ %.2f:1, want 1.5:1", theme, c)
		}
		t.Logf("%s theme: %d texts meet contrast; greyscale UP/UNKNOWN %.2f:1, DOWN/DEGRADED %.2f:1", theme, res.Checked,
			contrast(border("up"), border("unknown")), contrast(fill("down"), fill("degraded")))
	}

	// Cut names carry their full text; the clock shows date and zone.
	long := jsText(t, ctx, `(() => { const e = [...document.querySelectorAll('#services .tile-name')].find(e => e.textContent.startsWith('Customer')); return e.scrollWidth > e.clientWidth ? e.title : 'not cut'; })()`)
	if long != "Customer self-service portal for the EU region (primary)" {
		t.Errorf("long service name: title %q", long)
	}
	if title := jsText(t, ctx, `document.querySelector('#incidents .incident-title').title`); !strings.HasPrefix(title, "P1 trouble") {
		t.Errorf("incident title attribute %q", title)
	}
	if out := jsText(t, ctx, `['#counts', '#conn', '#clock'].filter(s => { const r = document.querySelector(s).getBoundingClientRect(); return r.left < 0 || r.right > innerWidth || r.bottom > innerHeight; }).join(',')`); out != "" {
		t.Errorf("header parts off screen with every state counted: %s", out)
	}
	clock := jsText(t, ctx, `document.querySelector('#clock').textContent`)
	if !strings.Contains(clock, strconv.Itoa(time.Now().Year())) || !regexp.MustCompile(`\b(UTC|GMT[+-]?[0-9:]*|[A-Z]{3,5})$`).MatchString(clock) {
		t.Errorf("clock %q: want the date and the zone", clock)
	}

	// flash=1: a new P1 flashes, and DOWN tiles stay visible all the while.
	run(t, ctx, 20*time.Second, "flash wall", chromedp.Navigate(base+"/ui/wall?flash=1"), chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn').textContent`, "live")
	b := colourBoard(now)
	b.Incidents = append(b.Incidents, web.IncidentRow{ID: 99, Title: "new P1", Priority: "P1", Status: "open", OpenedAt: time.Now()})
	d.set(b)
	waitJS(t, ctx, 5*time.Second, `String(document.body.classList.contains('flash'))`, "true")
	for i := range 8 {
		// The DOWN tile against what is behind it, as rendered.
		var buf []byte
		var rect string
		run(t, ctx, 5*time.Second, "flash frame",
			chromedp.Evaluate(`JSON.stringify((r => [r.left, r.top, r.width, r.height])(document.querySelector('#services .tile[data-state="down"]').getBoundingClientRect()))`, &rect),
			chromedp.CaptureScreenshot(&buf))
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			t.Fatal(err)
		}
		var r [4]float64
		_ = json.Unmarshal([]byte(rect), &r)
		in, out := greyAt(img, int(r[0]+r[2]/2), int(r[1]+r[3])-3), greyAt(img, int(r[0]+r[2]/2), int(r[1]+r[3])+4)
		if c := contrast(in, out); c < 1.5 {
			t.Errorf("flash frame %d: DOWN tile against its background %.2f:1; it vanishes", i, c)
		}
		time.Sleep(150 * time.Millisecond)
	}

	// A filter that matches no site leaves no empty heading.
	run(t, ctx, 20*time.Second, "filtered wall", chromedp.Navigate(base+"/ui/wall?groups=business"), chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery))
	if empty := jsText(t, ctx, `[...document.querySelectorAll('#wall section.page')].filter(s => s.getClientRects().length && !s.querySelector('.tile, .summary:not([hidden])')).map(s => s.id).join(',')`); empty != "" {
		t.Errorf("groups=business: sections shown empty: %s", empty)
	}

	// STALE and live are never said at once: the collector stops sending
	// while the stream stays open.
	run(t, ctx, 20*time.Second, "stale wall", chromedp.Navigate(base+"/ui/wall?stale=2"), chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery))
	waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn').textContent`, "live")
	d.stall(true)
	waitJS(t, ctx, 10*time.Second, `String(!document.querySelector('#stale').hidden)`, "true")
	if conn := jsText(t, ctx, `document.querySelector('#conn').textContent`); conn == "live" {
		t.Errorf("STALE banner shown while the indicator says %q", conn)
	}
	d.stall(false)
	waitJS(t, ctx, 10*time.Second, `String(document.querySelector('#stale').hidden) + ' ' + document.querySelector('#conn').textContent`, "true live")

	// An empty install says all clear.
	d.set(web.Board{Counts: map[string]int{}, Services: []web.ServiceTile{}, Groups: []web.GroupTile{}, Incidents: []web.IncidentRow{}, Active: map[string]int{}})
	waitJS(t, ctx, 5*time.Second, `[...document.querySelectorAll('.all-clear')].filter(e => e.getClientRects().length).map(e => e.textContent.startsWith('All clear')).join(',')`, "true,true")
	screenshot(t, ctx, "wall-empty-1920x1080.png", 1920, 1080)
}

// TestWallAccessibility runs axe-core, injected into the page, on the
// wall at scale (both themes, with and without controls) and on an empty
// install: no serious or critical violations.
func TestWallAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	src := axeSource(t)
	ctx := browser(t)
	d := &boardData{}
	d.set(bigBoard(time.Now()))
	base, _ := wallServer(t, d, time.Hour)
	run(t, ctx, 20*time.Second, "log in", emulation.SetDeviceMetricsOverride(1920, 1080, 1, false),
		chromedp.Navigate(base+"/ui/wall?token=view"), chromedp.WaitVisible(`#services .tile`, chromedp.ByQuery))
	for _, q := range []string{"", "theme=light", "controls=0&theme=light", "controls=0", "empty"} {
		if q == "empty" {
			d.set(web.Board{Counts: map[string]int{}, Services: []web.ServiceTile{}, Groups: []web.GroupTile{}, Incidents: []web.IncidentRow{}, Active: map[string]int{}})
		}
		run(t, ctx, 20*time.Second, "open "+q, chromedp.Navigate(base+"/ui/wall?"+q), chromedp.WaitVisible(`#wall`, chromedp.ByQuery))
		waitJS(t, ctx, 5*time.Second, `document.querySelector('#conn').textContent`, "live")
		if vs := axeViolations(t, ctx, src); len(vs) > 0 {
			for _, v := range vs {
				t.Errorf("wall?%s: %s", q, v)
			}
		} else {
			t.Logf("wall?%s: no serious or critical axe-core violations", q)
		}
	}
}
