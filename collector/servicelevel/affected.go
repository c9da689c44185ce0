package servicelevel

import (
	"slices"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// ServicesByTarget maps every target some catalogue service needs to
// those services, sorted: the services that list it, that match it by
// label selector, and those that need such a service (so a host of the
// database hits both "db" and the "webshop" that needs "db").
func ServicesByTarget(cfg *config.Config, targets []state.Target) map[string][]string {
	out := map[string][]string{}
	for _, sv := range cfg.Services {
		for _, t := range TargetsOf(cfg, targets, sv.Name, map[string]bool{}) {
			if !slices.Contains(out[t], sv.Name) {
				out[t] = append(out[t], sv.Name)
			}
		}
	}
	for _, svs := range out {
		slices.Sort(svs)
	}
	return out
}

// Affected lists the services an incident hits: the one it names and
// those its target is part of (see ServicesByTarget), sorted.
func Affected(byTarget map[string][]string, inc alerting.Incident) []string {
	out := slices.Clone(byTarget[inc.Target])
	if inc.Service != "" && !slices.Contains(out, inc.Service) {
		out = append(out, inc.Service)
		slices.Sort(out)
	}
	return out
}

// Budget is an error budget over one window: the downtime the objective
// allows over the window's eligible time, and the downtime spent.
type Budget struct {
	Allowed, Spent time.Duration
}

// BudgetOf is the budget of res under objective (a ratio).
func BudgetOf(res availability.Result, objective float64) Budget {
	return Budget{Allowed: time.Duration(float64(res.Eligible()) * (1 - objective)), Spent: res.Down}
}

// Remaining is the share of the budget left, 0 once exhausted (never
// negative: an overspent budget is Exhausted, by Overrun).
func (b Budget) Remaining() float64 {
	if b.Allowed <= 0 {
		if b.Spent > 0 {
			return 0
		}
		return 1
	}
	return max(0, 1-float64(b.Spent)/float64(b.Allowed))
}

// Exhausted reports whether more downtime was spent than allowed.
func (b Budget) Exhausted() bool { return b.Spent > b.Allowed }

// Overrun is the downtime beyond the budget (0 while within it).
func (b Budget) Overrun() time.Duration { return max(0, b.Spent-b.Allowed) }

// Burn-rate thresholds for a 30-day budget (the Google SRE workbook's
// multiwindow alerts): at these rates 2 % of the budget goes in an hour,
// 5 % in six hours or 10 % in a day, and all of it well before the window
// ends.
var burnAtRisk = map[time.Duration]float64{time.Hour: 14.4, 6 * time.Hour: 6, 24 * time.Hour: 3}

// BurnRate is how fast a window's error budget is being spent: 1 spends
// exactly the budget over the window; 0 without eligible time.
func BurnRate(res availability.Result, objective float64) float64 {
	if res.Eligible() <= 0 || objective >= 1 {
		return 0
	}
	return res.ErrorRatio() / (1 - objective)
}

// AtRisk reports whether the service's SLA is at risk: its 30-day budget
// is exhausted, or it burns faster than a burn-rate threshold over 1 h,
// 6 h or 24 h. It also returns the fastest burn rate over those windows.
func (f Figures) AtRisk() (bool, float64) {
	risk := BudgetOf(f.Windows[30*24*time.Hour], f.Objective).Exhausted()
	fastest := 0.0
	for _, w := range BurnWindows {
		rate := BurnRate(f.Windows[w], f.Objective)
		fastest = max(fastest, rate)
		if limit, ok := burnAtRisk[w]; ok && rate >= limit {
			risk = true
		}
	}
	return risk, fastest
}
