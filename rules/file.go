// Package rules loads rule files in the Prometheus rule-file format and
// evaluates them with the upstream PromQL engine over any
// storage.Queryable, keeping each alert's state (inactive, pending,
// firing) between evaluations.
//
// Files are decoded strictly: an unknown key, a bad expression or an
// invalid label is an error naming file, line, group and rule, and every
// error in a file is reported at once.
package rules

import (
	"fmt"
	"os"
	"regexp"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// File is one rule file.
type File struct {
	Groups []GroupSpec `yaml:"groups"`
	// SLOs are availability objectives (a Nines extension).
	SLOs []SLOSpec `yaml:"slos"`
}

// GroupSpec is a group of rules evaluated together at one interval.
type GroupSpec struct {
	Name     string     `yaml:"name"`
	Interval Duration   `yaml:"interval"`
	Limit    int        `yaml:"limit"`
	Labels   Labels     `yaml:"labels"`
	Rules    []RuleSpec `yaml:"rules"`
}

// RuleSpec is one alerting or recording rule as written in the file.
type RuleSpec struct {
	Record        string   `yaml:"record"`
	Alert         string   `yaml:"alert"`
	Expr          string   `yaml:"expr"`
	For           Duration `yaml:"for"`
	KeepFiringFor Duration `yaml:"keep_firing_for"`
	Labels        Labels   `yaml:"labels"`
	Annotations   Labels   `yaml:"annotations"`

	// Nines extensions (alerting rules only).

	// RecoverExpr: a firing alert resolves only when this expression
	// returns its series (hysteresis: fire above 90 %, resolve below 80 %).
	RecoverExpr string `yaml:"recover_expr"`
	// RecoverFor: a firing alert resolves only after its condition has
	// been clear (and RecoverExpr true, if set) for this long.
	RecoverFor Duration `yaml:"recover_for"`
	// Severities raise the severity of the one alert while a stricter
	// condition holds: the first entry whose expression returns the
	// alert's series sets its severity (and priority); otherwise the
	// rule's own labels apply. The alert stays one alert, with one incident.
	Severities []SeveritySpec `yaml:"severities"`
}

// SeveritySpec is one level of a multi-severity rule.
type SeveritySpec struct {
	Severity string `yaml:"severity"`
	Expr     string `yaml:"expr"`
	Priority string `yaml:"priority"`
}

// Name is the alert or record name.
func (r *RuleSpec) Name() string {
	if r.Alert != "" {
		return r.Alert
	}
	return r.Record
}

// Labels is a label map; key order does not matter.
type Labels map[string]string

// Duration is a Prometheus duration ("30s", "5m", "1h30m", "1d", "1w"):
// the one duration type of every Nines configuration file, so a rule file
// and collector.yml read durations alike.
type Duration = yamlconf.Duration

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// PromQL is the parser used to check and evaluate expressions.
var PromQL = parser.NewParser(parser.Options{})

// Validate checks every group and rule; see yamlconf.Validator.
func (f *File) Validate(p *yamlconf.Problems) {
	f.validateSLOs(p)
	seen := map[string]bool{}
	for gi, g := range f.Groups {
		gp := fmt.Sprintf("groups[%d]", gi)
		if g.Name == "" {
			p.Addf(gp, "group name must not be empty")
		} else if seen[g.Name] {
			p.Addf(gp+".name", "group %q: duplicate group name", g.Name)
		}
		seen[g.Name] = true
		if g.Interval < 0 {
			p.Addf(gp+".interval", "group %q: interval must not be negative", g.Name)
		}
		checkLabels(p, gp+".labels", fmt.Sprintf("group %q", g.Name), g.Labels)
		for ri := range g.Rules {
			r := &g.Rules[ri]
			rp := fmt.Sprintf("%s.rules[%d]", gp, ri)
			where := fmt.Sprintf("group %q, rule %d", g.Name, ri+1)
			if r.Name() != "" {
				where += fmt.Sprintf(" %q", r.Name())
			}
			switch {
			case r.Alert != "" && r.Record != "":
				p.Addf(rp, "%s: only one of 'alert' and 'record' may be set", where)
			case r.Alert == "" && r.Record == "":
				p.Addf(rp, "%s: one of 'alert' or 'record' must be set", where)
			case r.Record != "" && !metricNameRE.MatchString(r.Record):
				p.Addf(rp+".record", "%s: invalid recording rule name %q", where, r.Record)
			}
			if r.Record != "" {
				if r.RecoverExpr != "" || r.RecoverFor != 0 || len(r.Severities) > 0 {
					p.Addf(rp, "%s: recover_expr, recover_for and severities are for alerting rules only", where)
				}
				if r.For != 0 {
					p.Addf(rp+".for", "%s: 'for' is for alerting rules only", where)
				}
				if r.KeepFiringFor != 0 {
					p.Addf(rp+".keep_firing_for", "%s: 'keep_firing_for' is for alerting rules only", where)
				}
				if len(r.Annotations) > 0 {
					p.Addf(rp+".annotations", "%s: annotations are for alerting rules only", where)
				}
			}
			if r.Expr == "" {
				p.Addf(rp, "%s: field 'expr' must be set", where)
			} else if _, err := PromQL.ParseExpr(r.Expr); err != nil {
				p.Addf(rp+".expr", "%s: could not parse expression: %v", where, err)
			}
			checkLabels(p, rp+".labels", where, r.Labels)
			if r.RecoverExpr != "" {
				if _, err := PromQL.ParseExpr(r.RecoverExpr); err != nil {
					p.Addf(rp+".recover_expr", "%s: could not parse recover_expr: %v", where, err)
				}
			}
			if r.RecoverFor < 0 {
				p.Addf(rp+".recover_for", "%s: recover_for must not be negative", where)
			}
			seenSev := map[string]bool{}
			for si, sv := range r.Severities {
				sp := fmt.Sprintf("%s.severities[%d]", rp, si)
				switch {
				case sv.Severity == "":
					p.Addf(sp, "%s: severity must be set", where)
				case seenSev[sv.Severity]:
					p.Addf(sp+".severity", "%s: severity %q listed twice", where, sv.Severity)
				}
				seenSev[sv.Severity] = true
				if sv.Expr == "" {
					p.Addf(sp, "%s: severity %q: expr must be set", where, sv.Severity)
				} else if _, err := PromQL.ParseExpr(sv.Expr); err != nil {
					p.Addf(sp+".expr", "%s: severity %q: could not parse expression: %v", where, sv.Severity, err)
				}
				if sv.Priority != "" && !validPriority(sv.Priority) {
					p.Addf(sp+".priority", "%s: priority must be one of P1, P2, P3, P4, got %q", where, sv.Priority)
				}
			}
			for k, v := range r.Annotations {
				if !labelNameRE.MatchString(k) {
					p.Addf(rp+".annotations."+k, "%s: invalid annotation name %q", where, k)
				}
				if err := checkTemplate(k, v); err != nil {
					p.Addf(rp+".annotations."+k, "%s: annotation %q: %v", where, k, err)
				}
			}
			if r.Labels != nil {
				if pr, ok := r.Labels["priority"]; ok && !validPriority(pr) {
					p.Addf(rp+".labels.priority", "%s: priority must be one of P1, P2, P3, P4, got %q", where, pr)
				}
			}
		}
	}
}

func checkLabels(p *yamlconf.Problems, path, where string, ls Labels) {
	for k := range ls {
		if !labelNameRE.MatchString(k) || k == model.MetricNameLabel {
			p.Addf(path+"."+k, "%s: invalid label name %q", where, k)
		}
	}
}

func validPriority(s string) bool { return s == "P1" || s == "P2" || s == "P3" || s == "P4" }

// Parse decodes and validates a rule file's contents.
func Parse(file string, data []byte) (*File, error) {
	var f File
	if err := yamlconf.Decode(file, data, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// ParseFile reads and parses a rule file.
func ParseFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}
