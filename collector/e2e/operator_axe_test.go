package e2e

import (
	"encoding/json"
	"testing"
)

// The operator pages' accessibility check: axeRun runs axe-core (which
// axeSource, in wall_test.go, reads from where make test-deps installed
// it) for WCAG 2.1 A and AA, and parseAxe reads its answer.

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
