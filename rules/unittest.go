package rules

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// TestFile is a rule unit-test file in promtool's format, so tests written
// for Prometheus run unchanged.
type TestFile struct {
	RuleFiles          []string `yaml:"rule_files"`
	EvaluationInterval Duration `yaml:"evaluation_interval"`
	GroupEvalOrder     []string `yaml:"group_eval_order"`
	Tests              []Test   `yaml:"tests"`
}

// Test is one scenario: input series and expectations.
type Test struct {
	Name           string            `yaml:"name"`
	Interval       Duration          `yaml:"interval"`
	InputSeries    []InputSeries     `yaml:"input_series"`
	AlertRuleTests []AlertRuleTest   `yaml:"alert_rule_test"`
	PromQLTests    []PromQLTest      `yaml:"promql_expr_test"`
	ExternalLabels map[string]string `yaml:"external_labels"`
	ExternalURL    string            `yaml:"external_url"`
}

// InputSeries is a series in the expanding notation ("1+1x10 _ 5").
type InputSeries struct {
	Series string `yaml:"series"`
	Values string `yaml:"values"`
}

// AlertRuleTest expects the firing alerts of one rule at a time.
type AlertRuleTest struct {
	EvalTime  Duration   `yaml:"eval_time"`
	Alertname string     `yaml:"alertname"`
	ExpAlerts []ExpAlert `yaml:"exp_alerts"`
}

// ExpAlert is one expected firing alert.
type ExpAlert struct {
	ExpLabels      map[string]string `yaml:"exp_labels"`
	ExpAnnotations map[string]string `yaml:"exp_annotations"`
}

// PromQLTest expects the result of an expression at a time.
type PromQLTest struct {
	Expr       string      `yaml:"expr"`
	EvalTime   Duration    `yaml:"eval_time"`
	ExpSamples []ExpSample `yaml:"exp_samples"`
}

// ExpSample is one expected sample; Labels in series notation.
type ExpSample struct {
	Labels string  `yaml:"labels"`
	Value  float64 `yaml:"value"`
}

// Validate implements yamlconf.Validator.
func (f *TestFile) Validate(p *yamlconf.Problems) {
	if len(f.RuleFiles) == 0 {
		p.Addf("rule_files", "at least one rule file is needed")
	}
	for i, t := range f.Tests {
		tp := fmt.Sprintf("tests[%d]", i)
		for j, s := range t.InputSeries {
			if _, _, err := PromQL.ParseSeriesDesc(s.Series + " " + s.Values); err != nil {
				p.Addf(fmt.Sprintf("%s.input_series[%d]", tp, j), "bad series %q with values %q: %v", s.Series, s.Values, err)
			}
		}
		for j, a := range t.AlertRuleTests {
			if a.Alertname == "" {
				p.Addf(fmt.Sprintf("%s.alert_rule_test[%d]", tp, j), "alertname must be set")
			}
		}
		for j, q := range t.PromQLTests {
			if _, err := PromQL.ParseExpr(q.Expr); err != nil {
				p.Addf(fmt.Sprintf("%s.promql_expr_test[%d].expr", tp, j), "could not parse expression: %v", err)
			}
			for k, s := range q.ExpSamples {
				if _, err := PromQL.ParseMetric(s.Labels); err != nil && s.Labels != "{}" && s.Labels != "" {
					p.Addf(fmt.Sprintf("%s.promql_expr_test[%d].exp_samples[%d].labels", tp, j, k), "bad series %q: %v", s.Labels, err)
				}
			}
		}
	}
}

// TestStorage holds a unit test's input series: what the rules query and
// where recording rules write. The collector's recent window is one.
type TestStorage interface {
	storage.Queryable
	Appender
}

// RunTestFile runs a rule unit-test file, writing failures to w; each test
// gets a fresh storage from newStorage. It returns false when any test
// failed or the file could not be run.
func RunTestFile(path string, w io.Writer, newStorage func() TestStorage) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(w, "%s: %v\n", path, err)
		return false
	}
	var tf TestFile
	if err := yamlconf.Decode(path, data, &tf); err != nil {
		fmt.Fprintf(w, "%s\n", err)
		return false
	}
	var files []*File
	for _, pattern := range tf.RuleFiles {
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(filepath.Dir(path), pattern)
		}
		matches, _ := filepath.Glob(pattern)
		if len(matches) == 0 {
			fmt.Fprintf(w, "%s: rule_files: %q matches no file\n", path, pattern)
			return false
		}
		for _, m := range matches {
			f, err := ParseFile(m)
			if err != nil {
				fmt.Fprintf(w, "%s\n", err)
				return false
			}
			files = append(files, f)
		}
	}
	ok := true
	for i := range tf.Tests {
		t := &tf.Tests[i]
		name := t.Name
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
		}
		if errs := runTest(t, files, tf.EvaluationInterval.D(), newStorage()); len(errs) > 0 {
			ok = false
			fmt.Fprintf(w, "%s: test %s FAILED:\n", path, name)
			for _, e := range errs {
				fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(e, "\n", "\n    "))
			}
		}
	}
	return ok
}

// runTest loads the input series, evaluates the rules from time 0 at the
// evaluation interval up to the last eval_time, and compares.
func runTest(t *Test, files []*File, evalInterval time.Duration, store TestStorage) []string {
	if evalInterval <= 0 {
		evalInterval = time.Minute
	}
	interval := t.Interval.D()
	if interval <= 0 {
		interval = evalInterval
	}

	for _, s := range t.InputSeries {
		lset, vals, err := PromQL.ParseSeriesDesc(s.Series + " " + s.Values)
		if err != nil {
			return []string{err.Error()}
		}
		for i, v := range vals {
			if v.Omitted {
				continue
			}
			if err := store.Append(lset, int64(i)*interval.Milliseconds(), v.Value); err != nil {
				return []string{fmt.Sprintf("series %s: %v", s.Series, err)}
			}
		}
	}
	epoch := time.Unix(0, 0).UTC()
	now := epoch
	m := NewManager(Options{Queryable: store, Appender: store, DefaultInterval: evalInterval, Now: func() time.Time { return now }})
	m.Update(files)

	// Every time something is checked, in order.
	type check struct {
		at    time.Duration
		alert *AlertRuleTest
		expr  *PromQLTest
	}
	var checks []check
	for i := range t.AlertRuleTests {
		checks = append(checks, check{at: t.AlertRuleTests[i].EvalTime.D(), alert: &t.AlertRuleTests[i]})
	}
	for i := range t.PromQLTests {
		checks = append(checks, check{at: t.PromQLTests[i].EvalTime.D(), expr: &t.PromQLTests[i]})
	}
	sort.SliceStable(checks, func(i, j int) bool { return checks[i].at < checks[j].at })

	var errs []string
	ctx := context.Background()
	step := time.Duration(0)
	for _, c := range checks {
		for ; step <= c.at; step += evalInterval {
			now = epoch.Add(step)
			m.EvalDue(ctx, now)
		}
		switch {
		case c.alert != nil:
			if e := compareAlerts(c.alert, m.Alerts()); e != "" {
				errs = append(errs, e)
			}
		case c.expr != nil:
			if e := compareExpr(ctx, m, c.expr, epoch.Add(c.at)); e != "" {
				errs = append(errs, e)
			}
		}
	}
	return errs
}

func compareAlerts(at *AlertRuleTest, all []Alert) string {
	var got []string
	for _, a := range all {
		if a.Rule != at.Alertname || a.State != StateFiring {
			continue
		}
		got = append(got, alertString(a.Labels.Map(), a.Annotations))
	}
	var want []string
	for _, e := range at.ExpAlerts {
		lm := maps.Clone(e.ExpLabels)
		if lm == nil {
			lm = map[string]string{}
		}
		lm[labels.AlertName] = at.Alertname
		want = append(want, alertString(lm, e.ExpAnnotations))
	}
	slices.Sort(got)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("alertname: %s, time: %s,\n    exp: %v\n    got: %v", at.Alertname, model.Duration(at.EvalTime), want, got)
}

func alertString(lbls, ann map[string]string) string {
	return "labels:" + labels.FromMap(lbls).String() + " annotations:" + labels.FromMap(ann).String()
}

func compareExpr(ctx context.Context, m *Manager, q *PromQLTest, at time.Time) string {
	vec, err := m.Query(ctx, q.Expr, at)
	if err != nil {
		return fmt.Sprintf("expr: %q, time: %s: %v", q.Expr, model.Duration(q.EvalTime), err)
	}
	var got, want []string
	for _, s := range vec {
		got = append(got, s.Metric.String()+" "+formatFloat(s.F))
	}
	for _, e := range q.ExpSamples {
		l := labels.EmptyLabels()
		if e.Labels != "" && e.Labels != "{}" {
			l, _ = PromQL.ParseMetric(e.Labels)
		}
		want = append(want, l.String()+" "+formatFloat(e.Value))
	}
	slices.Sort(got)
	slices.Sort(want)
	if slices.Equal(got, want) {
		return ""
	}
	return fmt.Sprintf("expr: %q, time: %s,\n    exp: %v\n    got: %v", q.Expr, model.Duration(q.EvalTime), want, got)
}

func formatFloat(v float64) string {
	if math.IsNaN(v) {
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', 10, 64)
}
