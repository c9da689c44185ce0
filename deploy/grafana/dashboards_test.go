package grafana

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ninesmon/nines/internal/golden"
	"github.com/prometheus/prometheus/promql/parser"
)

// TestDashboardsUpToDate: the files users import are what the builders
// make (go test ./deploy/grafana -update rewrites them), and nothing else
// is in the folder.
func TestDashboardsUpToDate(t *testing.T) {
	ds, err := Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ds {
		names = append(names, d.File)
		got, err := JSON(d.Board)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("dashboards", d.File)
		if golden.Updating() {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./deploy/grafana -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is not what dashboards.go builds: run go test ./deploy/grafana -update", path)
		}
	}
	files, _ := filepath.Glob("dashboards/*")
	for _, f := range files {
		if !slices.Contains(names, filepath.Base(f)) {
			t.Errorf("%s is built by nothing", f)
		}
	}
}

// TestQueriesParse: every panel's and variable's query is valid PromQL
// once Grafana has put its variables in, each dashboard has panels, and
// every panel uses the Nines data source variable.
func TestQueriesParse(t *testing.T) {
	p := parser.NewParser(parser.Options{})
	files, _ := filepath.Glob("dashboards/*.json")
	if len(files) != 5 {
		t.Fatalf("want 5 dashboards, got %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		qs, err := Queries(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(qs) < 5 {
			t.Errorf("%s: only %d queries", f, len(qs))
		}
		vars := map[string]string{"host": "web-1", "service": "erp|mail", "device": "core-switch-1", "interface": "Gi0/1|Gi0/2"}
		for _, q := range qs {
			expr := Expand(q.Expr, "1m", vars)
			if strings.Contains(expr, "$") {
				t.Errorf("%s: %s: a variable is left in %q", f, q.Panel, expr)
			}
			var err error
			if q.Label != "" {
				_, err = p.ParseMetricSelector(expr)
			} else {
				_, err = p.ParseExpr(expr)
			}
			if err != nil {
				t.Errorf("%s: %s: %q: %v", f, q.Panel, q.Expr, err)
			}
		}
		if n := strings.Count(string(b), `"uid": "${datasource}"`); n < len(qs) {
			t.Errorf("%s: %d of %d queries name the data source variable", f, n, len(qs))
		}
	}
}

// TestProvisioning: the data source file names the uid the dashboards
// default to, and the dashboards provider points at the folder they are in
// when deploy/grafana is mounted as the README says.
func TestProvisioning(t *testing.T) {
	b, err := os.ReadFile("provisioning/datasources/nines.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"uid: " + DatasourceUID, "type: prometheus", "httpHeaderName1: Authorization", "httpMethod: POST"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("datasources/nines.yml lacks %q", want)
		}
	}
	b, err = os.ReadFile("provisioning/dashboards/nines.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "path: /etc/grafana/dashboards/nines") {
		t.Errorf("dashboards/nines.yml should load /etc/grafana/dashboards/nines:\n%s", b)
	}
}
