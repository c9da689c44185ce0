package grafana

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Query is one PromQL expression of a dashboard file: a panel target's,
// or a query variable's label_values() (Metric and Label set; Expr is
// the metric selector).
type Query struct {
	Panel   string // the panel's title, or "variable <name>"
	Expr    string
	Instant bool
	// Label is the label a label_values() variable lists.
	Label string
}

// Queries reads every panel target and query variable of a dashboard
// file (rows' panels included).
func Queries(file []byte) ([]Query, error) {
	var d struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(file, &d); err != nil {
		return nil, err
	}
	var out []Query
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			return nil, fmt.Errorf("variable %s: %w", v.Name, err)
		}
		m := labelValuesRE.FindStringSubmatch(q.Query)
		if m == nil {
			return nil, fmt.Errorf("variable %s: want label_values(selector, label), got %q", v.Name, q.Query)
		}
		out = append(out, Query{Panel: "variable " + v.Name, Expr: m[1], Label: m[2]})
	}
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				out = append(out, Query{Panel: p.Title, Expr: t.Expr, Instant: t.Instant && !t.Range})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out, nil
}

type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr    string `json:"expr"`
		Instant bool   `json:"instant"`
		Range   bool   `json:"range"`
	} `json:"targets"`
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// Expand replaces Grafana's variables in expr: $__rate_interval and
// $__interval by rate, the dashboard's own ($host, ${host}) by vars.
func Expand(expr, rate string, vars map[string]string) string {
	r := []string{"$__rate_interval", rate, "$__interval", rate, "${__rate_interval}", rate, "${__interval}", rate}
	for k, v := range vars {
		r = append(r, "${"+k+"}", v, "$"+k, v)
	}
	return strings.NewReplacer(r...).Replace(expr)
}
