package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ninesmon/nines/internal/peertest"
)

// The browser tests' accessibility check: axe-core, injected into the
// page under test, reports what it finds broken.

// axeSource is axe-core's script, which make test-deps installs with npm
// into $NINES_AXE_DIR (default: the user's cache directory, nines/axe).
func axeSource(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NINES_AXE_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "nines", "axe")
	}
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		peertest.Missing(t, "axe-core not found in "+dir, "install it with npm install --prefix "+dir+" axe-core (make test-deps does)", "NINES_SKIP_AXE")
	}
	return string(b)
}

// wcag21AA are axe's tags for the rules of WCAG 2.0 and 2.1, levels A
// and AA.
var wcag21AA = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeViolation is one rule axe found broken, with where.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"` // the first five: selector and why
}

func (v axeViolation) String() string {
	return fmt.Sprintf("axe %s (%s): %s\n  %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n  "))
}

// axeViolations injects axe-core (src, from axeSource) into the page in
// ctx, runs its rules (only those with one of tags, when given) and
// returns the serious and critical violations.
func axeViolations(t *testing.T, ctx context.Context, src string, tags ...string) []axeViolation {
	t.Helper()
	options := "{resultTypes: ['violations']}"
	if len(tags) > 0 {
		b, err := json.Marshal(tags)
		if err != nil {
			t.Fatal(err)
		}
		options = `{resultTypes: ['violations'], runOnly: {type: 'tag', values: ` + string(b) + `}}`
	}
	script := `axe.run(document, ` + options + `).then(r => JSON.stringify(
  r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 200)),
  }))))`
	var res string
	run(t, ctx, 60*time.Second, "axe-core",
		chromedp.Evaluate(src, nil),
		chromedp.Evaluate(script, &res, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	var vs []axeViolation
	if err := json.Unmarshal([]byte(res), &vs); err != nil {
		t.Fatalf("axe result %q: %v", res, err)
	}
	return vs
}
