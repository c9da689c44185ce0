package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ninesmon/nines/internal/peertest"
)

// axeVersion is the axe-core release the accessibility checks inject.
const axeVersion = "4.10.3"

var axeOnce struct {
	sync.Mutex
	src string
}

// axeSource returns axe-core's script, installed with npm into a cache
// directory ($NINES_AXE_DIR, or the user cache directory) on first use. A
// missing npm fails the test, naming NINES_SKIP_AXE.
func axeSource(t *testing.T) string {
	t.Helper()
	axeOnce.Lock()
	defer axeOnce.Unlock()
	if axeOnce.src != "" {
		return axeOnce.src
	}
	dir := os.Getenv("NINES_AXE_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "nines", "axe-core-"+axeVersion)
	}
	script := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(script); err != nil {
		npm := peertest.Find(t, "npm", "npm", "NINES_SKIP_AXE")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "axe-core@"+axeVersion)
		if out, err := cmd.CombinedOutput(); err != nil {
			peertest.Missing(t, "npm install axe-core@"+axeVersion+" failed: "+err.Error()+"\n"+string(out), "make npm reach its registry", "NINES_SKIP_AXE")
		}
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	axeOnce.src = string(b)
	return axeOnce.src
}

// axeViolation is one rule axe found broken, with where.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeRun is the page script that runs axe (WCAG 2 A and AA rules) and
// returns its serious and critical violations as JSON.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}}).then(r => JSON.stringify(
  r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').slice(0, 200)),
  }))))`

func parseAxe(t *testing.T, res string) []axeViolation {
	t.Helper()
	var vs []axeViolation
	if err := json.Unmarshal([]byte(res), &vs); err != nil {
		t.Fatalf("axe result %q: %v", res, err)
	}
	return vs
}
