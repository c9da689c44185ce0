package rules

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/internal/peertest"
)

func TestParseFileGood(t *testing.T) {
	f, err := ParseFile("testdata/mixin.good.yml")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.Groups[0].Rules); got != 3 {
		t.Errorf("rules: got %d, want 3", got)
	}
	if got, want := f.Groups[0].Rules[1].KeepFiringFor.D().String(), "10m0s"; got != want {
		t.Errorf("keep_firing_for: got %s, want %s", got, want)
	}
}

func TestParseFileBad(t *testing.T) {
	_, err := ParseFile("testdata/noexpr.bad.yml")
	if err == nil {
		t.Fatal("got no error")
	}
	for _, want := range []string{
		`testdata/noexpr.bad.yml:4:9: groups[0].rules[0]: group "g", rule 1 "NoExpr": field 'expr' must be set`,
		`testdata/noexpr.bad.yml:7:9: groups[0].rules[1].expr: group "g", rule 2 "BadExpr": could not parse expression`,
		`testdata/noexpr.bad.yml:8:9: groups[0].rules[2].record: group "g", rule 3 "bad name": invalid recording rule name`,
		`testdata/noexpr.bad.yml:13:11: groups[0].rules[3].labels.priority: group "g", rule 4 "BadPriority": priority must be one of P1, P2, P3, P4, got "P9"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	f := func(name, in, want string) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			_, err := Parse("r.yml", []byte(in))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got %v, want it to contain %q", err, want)
			}
		})
	}
	f("unknown key", "groups:\n  - name: g\n    rulez: []\n", "r.yml:3:5: groups[0].rulez: unknown key (did you mean rules?)")
	f("both alert and record", "groups:\n  - name: g\n    rules:\n      - {alert: A, record: b, expr: up}\n", "only one of 'alert' and 'record'")
	f("duplicate group", "groups:\n  - name: g\n  - name: g\n", `group "g": duplicate group name`)
	f("for on record", "groups:\n  - name: g\n    rules:\n      - {record: b, expr: up, for: 5m}\n", "'for' is for alerting rules only")
	f("bad duration", "groups:\n  - name: g\n    interval: 5 minutes\n", `invalid duration "5 minutes"`)
	f("bad template", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up\n        annotations: {summary: \"{{ .Foo \"}\n", `annotation "summary"`)
}

// TestExpandTemplate: annotations render through Prometheus's template
// engine as they did with the former hand-written one (the expectations
// are what it produced), plus query.
func TestExpandTemplate(t *testing.T) {
	lbls := map[string]string{"host": "db1", "mount": "/data"}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	queryFn := func(_ context.Context, expr string, ts time.Time) (promql.Vector, error) {
		if expr != "up" || !ts.Equal(at) {
			return nil, fmt.Errorf("query %q at %v", expr, ts)
		}
		return promql.Vector{{Metric: labels.FromStrings("job", "node"), F: 1}}, nil
	}
	for _, tc := range []struct {
		name, text, want string
	}{
		{"labels and humanize", `{{ $labels.host }} at {{ $value | humanizePercentage }}, {{ humanize 1234567 }}`, "db1 at 95.12%, 1.235M"},
		{"small, zero, durations, timestamps", `{{ humanize 0.000123 }} {{ humanize 0 }} {{ humanizeDuration 3725 }} {{ humanizeTimestamp 1700000000 }}`,
			"123u 0 1h 2m 5s 2023-11-14 22:13:20 +0000 UTC"},
		{"missing keys are empty", `{{ $labels.missing }}|{{ .Labels.nope }}|{{ toUpper $labels.host }}{{ toLower "AB" }}`, "||DB1ab"},
		{"value", `{{ $value }} {{ printf "%.1f" $value }}`, "0.9512 1.0"},
		{"no external labels", `{{ $externalLabels.dc }}`, ""},
		{"function error", `{{ humanize "x" }}`,
			`<error expanding template: template: d:1:115: executing "d" at <humanize "x">: error calling humanize: strconv.ParseFloat: parsing "x": invalid syntax>`},
		{"unknown function", `{{ nosuchfunc }}`, `<error expanding template: template: d:1: function "nosuchfunc" not defined>`},
		{"query", `{{ with query "up" }}{{ . | first | label "job" }} {{ . | first | value }}{{ end }}`, "node 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := expand(context.Background(), "d", tc.text, lbls, 0.9512, at, queryFn); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	// Restored alerts render before any evaluation: query says so.
	got := expand(context.Background(), "d", `{{ query "up" }}`, lbls, 1, at, nil)
	if !strings.Contains(got, errNoQuery.Error()) {
		t.Errorf("query without an evaluation: got %q", got)
	}
}

// TestRuleUnitTests runs every rule unit-test file in testdata.
func TestRuleUnitTests(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.test.yml")
	if len(files) == 0 {
		t.Fatal("no test files")
	}
	for _, f := range files {
		var out strings.Builder
		if !RunTestFile(f, &out, func() TestStorage { return samples.ForRuleTests() }) {
			t.Errorf("%s:\n%s", f, out.String())
		}
	}
}

func TestExtensionErrors(t *testing.T) {
	_, err := Parse("x.yml", []byte(`groups:
  - name: g
    rules:
      - record: r
        expr: up
        recover_for: 5m
      - alert: A
        expr: up
        recover_expr: up <
        severities:
          - {severity: critical, expr: "up > 1", priority: P0}
          - {severity: critical, expr: ""}
`))
	for _, want := range []string{
		"recover_expr, recover_for and severities are for alerting rules only",
		`x.yml:9:9: groups[0].rules[1].recover_expr: group "g", rule 2 "A": could not parse recover_expr`,
		`groups[0].rules[1].severities[0].priority: group "g", rule 2 "A": priority must be one of P1, P2, P3, P4, got "P0"`,
		`severity "critical" listed twice`,
		`severity "critical": expr must be set`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

func TestSLOErrors(t *testing.T) {
	_, err := Parse("s.yml", []byte(`slos:
  - name: a
    target: x
    selector: {group: erp}
    objective: 100
  - name: a
    target: y
    window: 10m
    burn_rates: [{long_window: 5m, short_window: 1h, factor: 0}]
  - name: "bad name"
`))
	for _, want := range []string{
		`s.yml:2:5: slos[0]: slo "a": exactly one of target, selector and service must be set`,
		`slos[0].objective: slo "a": objective must be a percentage between 0 and 100, got 100`,
		`slos[1].name: slo "a" defined twice`,
		`slos[1].window: slo "a": window must be at least 1h`,
		`slos[1].burn_rates[0]: slo "a": want 0 < short_window < long_window`,
		`slos[1].burn_rates[0].factor: slo "a": factor must be positive`,
		`slos[2].name: slo "bad name": name may hold`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q; got:\n%v", want, err)
		}
	}
}

// TestMixinAgreesWithPromtool runs the Prometheus-format fixture's tests
// with promtool as well.
func TestMixinAgreesWithPromtool(t *testing.T) {
	promtool := peertest.Find(t, "promtool", "prometheus", "NINES_SKIP_PROMETHEUS")
	cmd := exec.Command(promtool, "test", "rules", "mixin.test.yml")
	cmd.Dir = "testdata"
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool: %v\n%s", err, out)
	}
}
