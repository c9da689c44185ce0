package e2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

// TestReportPrintsInBrowser renders a month's HTML service level report
// in Debian's Chromium, prints it to PDF and takes a PNG, as a reviewer
// would ("print to PDF"); both are kept in the artifacts directory.
func TestReportPrintsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	ctx := browser(t)
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	for _, ch := range []state.Change{
		{Target: "app1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at("2026-09-01T00:00:00Z")},
		{Target: "app1", Kind: state.KindHost, From: state.Up, To: state.Down, At: at("2026-10-05T10:00:00Z")},
		{Target: "app1", Kind: state.KindHost, From: state.Down, To: state.Up, At: at("2026-10-05T11:30:00Z")},
		{Target: "sw1", Kind: state.KindDevice, From: state.Unknown, To: state.Up, At: at("2026-09-01T00:00:00Z")},
	} {
		if err := st.RecordChange(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Load("c.yml", []byte(`services:
  - {name: ERP, description: Finance and purchasing, owner: business-apps, components: {targets: [app1], services: [Network]}}
  - {name: Network, components: {targets: [sw1]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := servicelevel.BuildReport(context.Background(), st, servicelevel.ReportInput{Config: cfg, Policy: alerting.DefaultPolicy(),
		From: at("2026-10-01T00:00:00Z"), To: at("2026-11-01T00:00:00Z"), Now: at("2026-11-02T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	var html bytes.Buffer
	if err := report.Write(&html, rep, "html"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, html.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var pdf []byte
	var rows int
	run(t, ctx, 30*time.Second, "print the report",
		chromedp.Navigate("file://"+path),
		chromedp.WaitVisible(`#summary`, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('svg.strip rect').length`, &rows),
		chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			pdf, _, err = page.PrintToPDF().WithPrintBackground(true).Do(ctx)
			return err
		}),
	)
	if rows != 62 { // 31 days for each of the two services
		t.Errorf("day strips have %d days, want 62", rows)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 5000 {
		t.Fatalf("PDF of %d bytes starting %q", len(pdf), pdf[:min(len(pdf), 8)])
	}
	out := filepath.Join(artifactsDir(t), "sla-report-2026-10.pdf")
	if err := os.WriteFile(out, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s (%d bytes)", out, len(pdf))
	screenshot(t, ctx, "sla-report-2026-10.png", 1280, 900)
}
