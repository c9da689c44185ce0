package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestOperatorPagesInBrowser drives Chromium over the operator pages of
// a collector and two agents run as processes: a host incident shows on
// the DEGRADED service's page with the service it hits, the incident list
// puts the P1 first, resolve asks for confirmation (dismissed: nothing
// happens), and axe-core finds no serious or critical violation on any
// operator page.
func TestOperatorPagesInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser and real processes")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	axe := axeSource(t)
	ctx := browser(t)
	dir := t.TempDir()
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")
	collectorAddr := freeAddr(t)
	write(t, filepath.Join(dir, "agent.token"), "agent-token\n")
	write(t, filepath.Join(dir, "ops.token"), "ops-token\n")
	write(t, filepath.Join(dir, "rules.yml"), `
groups:
  - name: fixture
    interval: 200ms
    rules:
      - alert: BackupFailed
        expr: vector(1)
        labels: {priority: P3, service: Webshop}
        annotations:
          summary: "Nightly backup failed"
      - alert: HostDown
        expr: nines_target_state{kind="host",state="down"} == 1
        labels: {priority: P1}
        annotations:
          summary: "Host {{ $labels.target }} is down"
`)
	write(t, filepath.Join(dir, "collector.yml"), fmt.Sprintf(`
web: {listen_address: %q, time_zone: Europe/Berlin}
storage: {path: nines.db}
auth:
  tokens:
    - {name: agents, role: agent, token_file: agent.token}
    - {name: ops, role: operator, token_file: ops.token}
availability:
  down_after_intervals: 2
  default_push_interval: 1s
  startup_grace: 1s
  check_interval: 100ms
inventory:
  hosts:
    - {name: web1, labels: {site: hq, role: web}}
    - {name: web2, labels: {site: hq, role: web}}
services:
  - name: Webshop
    combine: any
    components: {selector: {role: web}}
rules:
  files: [rules.yml]
`, collectorAddr))
	start(t, "collector", collectorBin, "--config", filepath.Join(dir, "collector.yml"))
	base := "http://" + collectorAddr
	eventually(t, 30*time.Second, "collector ready", func() (bool, string) {
		return (client{base: base}).get(t, "/-/ready", nil) == 200, "not ready"
	})
	agents := map[string]*proc{}
	for _, host := range []string{"web1", "web2"} {
		cfg := filepath.Join(dir, host+".yml")
		write(t, cfg, fmt.Sprintf("interval: 1s\nhostname: %s\nweb: {listen_address: %q}\npush:\n  urls: [\"http://%s\"]\n  token_file: agent.token\n  spool_dir: spool-%s\n",
			host, freeAddr(t), collectorAddr, host))
		agents[host] = start(t, host, agentBin, "--config", cfg)
	}
	api := client{base: base, token: "ops-token"}
	eventually(t, 20*time.Second, "web2 up", stateIs(t, api, "web2", "up"))
	agents["web2"].stop(t, syscall.SIGKILL)
	eventually(t, 20*time.Second, "web2 down", stateIs(t, api, "web2", "down"))

	// Let axe's script in despite the pages' strict CSP (only the test's).
	run(t, ctx, 10*time.Second, "bypass CSP for the injected axe", page.SetBypassCSP(true))
	checkAxe := func(name string) {
		t.Helper()
		for _, v := range axeViolations(t, ctx, axe, wcag21AA...) {
			t.Errorf("%s: %s", name, v)
		}
	}
	run(t, ctx, 20*time.Second, "open the login page", chromedp.Navigate(base+"/ui/login?next=%2Fui%2Fincidents"), chromedp.WaitVisible(`#token`, chromedp.ByID))
	checkAxe("login")
	run(t, ctx, 20*time.Second, "log in",
		chromedp.SendKeys(`#token`, "ops-token", chromedp.ByID),
		chromedp.Click(`#login`, chromedp.ByID),
		chromedp.WaitVisible(`#incident-table`, chromedp.ByID),
	)

	// The incident list: the P1 (web2 down) first, its service, who.
	var first, zone string
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(first, "web2") && time.Now().Before(deadline) {
		run(t, ctx, 20*time.Second, "incident list",
			chromedp.Navigate(base+"/ui/incidents"),
			chromedp.WaitVisible(`#incident-table`, chromedp.ByID),
			chromedp.Text(`#incident-table tbody tr`, &first, chromedp.ByQuery),
			chromedp.Text(`#time-zone`, &zone, chromedp.ByID),
		)
	}
	if !strings.Contains(first, "P1") || !strings.Contains(first, "web2") || !strings.Contains(first, "Webshop") || !strings.Contains(first, "nobody yet") {
		t.Errorf("first incident row %q, want web2's P1 hitting Webshop, nobody on it yet", first)
	}
	if !strings.Contains(zone, "Europe/Berlin") {
		t.Errorf("zone line %q, want Europe/Berlin", zone)
	}
	checkAxe("incidents")

	// The DEGRADED service's page lists the host incident.
	var svcIncidents string
	run(t, ctx, 20*time.Second, "service page",
		chromedp.Navigate(base+"/ui/services/Webshop"),
		chromedp.Text(`#service-incidents`, &svcIncidents, chromedp.ByID),
	)
	if !strings.Contains(svcIncidents, "web2") || !strings.Contains(svcIncidents, "P1") {
		t.Errorf("Webshop's open incidents %q, want web2's P1", svcIncidents)
	}
	checkAxe("service")

	// The backup incident: resolve asks first; dismissed, nothing changes.
	var link string
	var ok bool
	run(t, ctx, 20*time.Second, "find the backup incident",
		chromedp.Navigate(base+"/ui/incidents?priority=P3"),
		chromedp.AttributeValue(`#incident-table tbody tr a`, "href", &link, &ok, chromedp.ByQuery),
	)
	if !ok {
		t.Fatal("no P3 incident listed")
	}
	// The browser's events arrive on chromedp's goroutine.
	var mu sync.Mutex
	var dialogs []string
	accept := false
	chromedp.ListenTarget(ctx, func(ev any) {
		if d, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			mu.Lock()
			dialogs = append(dialogs, d.Message)
			yes := accept
			mu.Unlock()
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(yes)) }()
		}
	})
	var status, services, due string
	run(t, ctx, 20*time.Second, "incident page",
		chromedp.Navigate(base+link),
		chromedp.WaitVisible(`#do-resolve`, chromedp.ByID),
		chromedp.Text(`#incident-services`, &services, chromedp.ByID),
		chromedp.Text(`#resolve-due`, &due, chromedp.ByID),
	)
	if !strings.Contains(services, "Webshop") || !strings.Contains(due, "CE") {
		t.Errorf("incident page: services %q, resolve due %q (want Webshop, a Berlin time)", services, due)
	}
	checkAxe("incident")
	run(t, ctx, 20*time.Second, "resolve, dismissed",
		chromedp.Click(`#do-resolve`, chromedp.ByID),
		chromedp.Sleep(500*time.Millisecond), // a submit would navigate; nothing should
		chromedp.Text(`#incident-status`, &status, chromedp.ByID),
	)
	mu.Lock()
	if len(dialogs) != 1 || !strings.HasPrefix(dialogs[0], "Resolve incident #") || status != "open" {
		t.Errorf("dismissed resolve: dialogs %q, status %q; want one question and still open", dialogs, status)
	}
	accept = true
	mu.Unlock()
	var flash string
	run(t, ctx, 20*time.Second, "resolve, confirmed",
		chromedp.Click(`#do-resolve`, chromedp.ByID),
		chromedp.WaitVisible(`.done`, chromedp.ByQuery),
		chromedp.Text(`.done`, &flash, chromedp.ByQuery),
	)
	if !strings.Contains(flash, "resolve") {
		t.Errorf("after a confirmed resolve: %q", flash)
	}

	for _, p := range []struct{ name, path, wait string }{
		{"target", "/ui/targets/web1", `.chart`},
		{"maintenance", "/ui/maintenance", `#maintenance`},
		{"report", "/ui/reports/sla?month=" + time.Now().UTC().Format("2006-01"), `#summary`},
		{"not found", "/ui/services/nope", `main`},
	} {
		run(t, ctx, 20*time.Second, p.name+" page", chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.wait, chromedp.ByQuery))
		checkAxe(p.name)
	}
	screenshotPage(t, ctx, "operator-incidents.png", base+"/ui/incidents")
}

// screenshotPage saves a 1920x1080 screenshot of path.
func screenshotPage(t *testing.T, ctx context.Context, name, url string) {
	t.Helper()
	run(t, ctx, 20*time.Second, "open "+url, chromedp.Navigate(url), chromedp.WaitVisible(`main`, chromedp.ByQuery))
	screenshot(t, ctx, name, 1920, 1080)
}
