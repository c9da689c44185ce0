package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"

	"github.com/ninesmon/nines/internal/peertest"
)

// TestPrometheusRules checks prometheus/nines.rules.yml, the rules for
// running Nines under Prometheus, with Prometheus's own promtool: the
// file is valid (promtool check rules) and its unit tests pass (promtool
// test rules prometheus/nines.rules.test.yml).
func TestPrometheusRules(t *testing.T) {
	promtool := peertest.Find(t, "promtool", "prometheus", "NINES_SKIP_PROMETHEUS")
	for _, args := range [][]string{
		{"check", "rules", "nines.rules.yml"},
		{"test", "rules", "nines.rules.test.yml"},
	} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestPrometheusRulesUseExportedMetrics: every metric the rules read is
// one the binaries export (its name appears in the Go sources), so a
// renamed metric cannot leave an alert that never fires; and every alert
// has a unit test.
func TestPrometheusRulesUseExportedMetrics(t *testing.T) {
	data, err := os.ReadFile("prometheus/nines.rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct{ Record, Alert, Expr string }
		}
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	recorded := map[string]bool{"up": true} // Prometheus's own
	var exprs []string
	var alerts []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
			if r.Alert != "" {
				alerts = append(alerts, r.Alert)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	used := map[string]bool{}
	for _, e := range exprs {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(e)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		for _, vs := range parser.ExtractSelectors(expr) {
			for _, m := range vs {
				if m.Name == "__name__" && !recorded[m.Value] {
					used[m.Value] = true
				}
			}
		}
	}
	src := goSources(t, "..")
	for name := range used {
		base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
		if !strings.Contains(src, `"`+base+`"`) && !strings.Contains(src, "`"+base) {
			t.Errorf("metric %s is read by the rules but exported by no binary", name)
		}
	}
	tests, err := os.ReadFile("prometheus/nines.rules.test.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if !strings.Contains(string(tests), "alertname: "+a+"\n") {
			t.Errorf("alert %s has no unit test in nines.rules.test.yml", a)
		}
	}
	if len(used) < 10 || !slices.Contains(alerts, "NinesCollectorDown") {
		t.Errorf("rules read %d metrics, alerts %v: the file was not read", len(used), alerts)
	}
}

// goSources returns the module's non-test Go sources, concatenated.
func goSources(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != root || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
