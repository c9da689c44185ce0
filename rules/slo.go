package rules

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// SLOSpec is an availability objective, written under "slos:" in a rule
// file. The collector computes its error ratio over several trailing
// windows from the durable state history and publishes it as
// nines_slo_error_ratio{slo,target,window}; the rules it generates alert
// on error-budget burn (multi-window, multi-burn-rate, as in the Google
// SRE workbook) and on an exhausted budget.
type SLOSpec struct {
	Name string `yaml:"name"`
	// Target names one target; Selector matches targets by labels (one SLO
	// series per target); Service names a service of the collector's
	// catalogue, whose availability combines its components'. One of the
	// three.
	Target   string            `yaml:"target"`
	Selector map[string]string `yaml:"selector"`
	Service  string            `yaml:"service"`
	// Objective in percent (default 99.9).
	Objective float64 `yaml:"objective"`
	// Window of the objective (default 30d).
	Window Duration `yaml:"window"`
	// Labels are added to the generated alerts (service, priority...).
	Labels Labels `yaml:"labels"`
	// BurnRates override the default alerts.
	BurnRates []BurnRate `yaml:"burn_rates"`
	// NoAlerts turns the generated alerts off (the SLI series stay).
	NoAlerts bool `yaml:"no_alerts"`
}

// BurnRate is one multi-window alert: the error ratio over both windows
// above Factor times the allowed error ratio.
type BurnRate struct {
	LongWindow  Duration `yaml:"long_window"`
	ShortWindow Duration `yaml:"short_window"`
	Factor      float64  `yaml:"factor"`
	Severity    string   `yaml:"severity"`
	Priority    string   `yaml:"priority"`
}

// DefaultBurnRates are the SRE workbook's: 2 % of a 30-day budget in 1 h
// (14.4x, checked over 5 m too), 5 % in 6 h (6x, 30 m), 10 % in 3 days
// (1x, 6 h).
func DefaultBurnRates() []BurnRate {
	return []BurnRate{
		{LongWindow: Duration(time.Hour), ShortWindow: Duration(5 * time.Minute), Factor: 14.4, Severity: "critical", Priority: "P2"},
		{LongWindow: Duration(6 * time.Hour), ShortWindow: Duration(30 * time.Minute), Factor: 6, Severity: "critical", Priority: "P2"},
		{LongWindow: Duration(72 * time.Hour), ShortWindow: Duration(6 * time.Hour), Factor: 1, Severity: "warning", Priority: "P3"},
	}
}

// WindowLabel is how a window appears in the window label ("5m", "3d").
func WindowLabel(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	return d.String()
}

var sloNameRE = regexp.MustCompile(`^[a-zA-Z0-9_.:-]+$`)

// withDefaults fills the defaults.
func (s *SLOSpec) withDefaults() {
	if s.Objective == 0 {
		s.Objective = 99.9
	}
	if s.Window == 0 {
		s.Window = Duration(30 * 24 * time.Hour)
	}
	if s.BurnRates == nil {
		s.BurnRates = DefaultBurnRates()
	}
}

// Windows lists every trailing window the SLO needs computed.
func (s *SLOSpec) Windows() []time.Duration {
	seen := map[time.Duration]bool{}
	var out []time.Duration
	add := func(d time.Duration) {
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	add(s.Window.D())
	for _, b := range s.BurnRates {
		add(b.LongWindow.D())
		add(b.ShortWindow.D())
	}
	return out
}

func (f *File) validateSLOs(p *yamlconf.Problems) {
	seen := map[string]bool{}
	for i := range f.SLOs {
		s := &f.SLOs[i]
		sp := fmt.Sprintf("slos[%d]", i)
		s.withDefaults()
		switch {
		case s.Name == "":
			p.Addf(sp, "name must be set")
		case !sloNameRE.MatchString(s.Name):
			p.Addf(sp+".name", "slo %q: name may hold letters, digits and _ . : - only", s.Name)
		case seen[s.Name]:
			p.Addf(sp+".name", "slo %q defined twice", s.Name)
		}
		seen[s.Name] = true
		set := 0
		for _, b := range []bool{s.Target != "", len(s.Selector) > 0, s.Service != ""} {
			if b {
				set++
			}
		}
		if set != 1 {
			p.Addf(sp, "slo %q: exactly one of target, selector and service must be set", s.Name)
		}
		if s.Objective <= 0 || s.Objective >= 100 {
			p.Addf(sp+".objective", "slo %q: objective must be a percentage between 0 and 100, got %v", s.Name, s.Objective)
		}
		if s.Window.D() < time.Hour {
			p.Addf(sp+".window", "slo %q: window must be at least 1h", s.Name)
		}
		checkLabels(p, sp+".labels", fmt.Sprintf("slo %q", s.Name), s.Labels)
		for j, b := range s.BurnRates {
			bp := fmt.Sprintf("%s.burn_rates[%d]", sp, j)
			if b.LongWindow <= 0 || b.ShortWindow <= 0 || b.ShortWindow >= b.LongWindow {
				p.Addf(bp, "slo %q: want 0 < short_window < long_window", s.Name)
			}
			if b.Factor <= 0 {
				p.Addf(bp+".factor", "slo %q: factor must be positive", s.Name)
			}
			if b.Priority != "" && !validPriority(b.Priority) {
				p.Addf(bp+".priority", "slo %q: priority must be one of P1, P2, P3, P4", s.Name)
			}
		}
	}
}

// sloGroup generates the alerting rules of an SLO.
func sloGroup(s SLOSpec, interval time.Duration) GroupSpec {
	allowed := 1 - s.Objective/100
	sel := fmt.Sprintf(`nines_slo_error_ratio{slo=%q,window=%q}`, s.Name, "%s")
	g := GroupSpec{Name: "slo:" + s.Name, Interval: Duration(interval)}
	if s.NoAlerts {
		return g
	}
	base := func(extra map[string]string) Labels {
		l := Labels{"slo": s.Name}
		for k, v := range s.Labels {
			l[k] = v
		}
		for k, v := range extra {
			l[k] = v
		}
		return l
	}
	for _, b := range s.BurnRates {
		long, short := WindowLabel(b.LongWindow.D()), WindowLabel(b.ShortWindow.D())
		threshold := strconv.FormatFloat(b.Factor*allowed, 'g', -1, 64)
		sev := b.Severity
		if sev == "" {
			sev = "critical"
		}
		extra := map[string]string{"severity": sev, "long_window": long, "short_window": short,
			"burn_rate": strconv.FormatFloat(b.Factor, 'g', -1, 64)}
		if b.Priority != "" {
			extra["priority"] = b.Priority
		}
		g.Rules = append(g.Rules, RuleSpec{
			Alert: "SLOErrorBudgetBurn",
			Expr: fmt.Sprintf(`max without (window) (%s > %s) and ignoring (window) (%s > %s)`,
				fmt.Sprintf(sel, long), threshold, fmt.Sprintf(sel, short), threshold),
			Labels: base(extra),
			Annotations: Labels{
				"summary": fmt.Sprintf("%s burns its %s error budget %sx too fast on {{ $labels.target }}",
					s.Name, WindowLabel(s.Window.D()), strconv.FormatFloat(b.Factor, 'g', -1, 64)),
				"description": fmt.Sprintf("Error ratio {{ $value | humanizePercentage }} over %s (and over %s), objective %v%%.",
					long, short, s.Objective),
			},
		})
	}
	g.Rules = append(g.Rules, RuleSpec{
		Alert:  "SLOErrorBudgetExhausted",
		Expr:   fmt.Sprintf(`%s > %s`, fmt.Sprintf(sel, WindowLabel(s.Window.D())), strconv.FormatFloat(allowed, 'g', -1, 64)),
		Labels: base(map[string]string{"severity": "critical", "priority": "P2"}),
		Annotations: Labels{
			"summary": fmt.Sprintf("%s has used its whole %s error budget on {{ $labels.target }}", s.Name, WindowLabel(s.Window.D())),
		},
	})
	return g
}
