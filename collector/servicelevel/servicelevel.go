// Package servicelevel computes what the catalogue's services achieved:
// their timelines from the durable state history (components combined,
// no-data policy and schedules applied), availability and error budgets
// over rolling windows and calendar periods (the SLA figures), the SLOs
// of the rule files, the service level report and its monthly delivery,
// and each service's live state from its components' states now.
//
// It reads the history through History, which it declares and the store
// implements, and writes its series into the recent window through
// Appender; the collector wires both.
package servicelevel

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/state"
)

// History is the durable history service levels are computed from.
// Implementations must be safe for concurrent use.
type History interface {
	// HistorySince is a target's state at from and its changes in
	// [from, to).
	HistorySince(ctx context.Context, target string, from, to time.Time) (state.State, []state.Change, error)
	// Gaps are the stretches in [from, to) when no collector was
	// observing (not counted as anyone's downtime).
	Gaps(ctx context.Context, from, to time.Time) ([][2]time.Time, error)
	// Incidents lists incidents (bounded by the filter's period and scope).
	Incidents(ctx context.Context, f alerting.Filter) ([]alerting.Incident, error)
}

// Appender takes the computed series into the recent window, for rules
// and dashboards. Errors are the appender's to count: computations carry
// on.
type Appender interface {
	Append(lset labels.Labels, t int64, v float64) error
}

// Sources is what the running computations read: the history, the
// window they write to, the configuration in force and the targets with
// their labels and states now. Config and Targets are called on every
// computation, so a reload takes effect at the next.
type Sources struct {
	History History
	Window  Appender
	Config  func() *config.Config
	Targets func() []state.Target
	// Workers read target histories in parallel (the store's reader
	// pool); 0: DefaultWorkers.
	Workers int
}

// DefaultWorkers is how many target histories a report reads at once
// when Sources.Workers is not set.
const DefaultWorkers = 4

// Report computes the service level report over [from, to) for the
// named services (none: the whole catalogue) with the configuration and
// targets in force.
func (s Sources) Report(ctx context.Context, from, to time.Time, services []string, now time.Time) (*report.Report, error) {
	cfg := s.Config()
	return BuildReport(ctx, s.History, ReportInput{Config: cfg, Policy: IncidentPolicy(cfg), Targets: s.Targets(),
		From: from, To: to, Now: now, Services: services, Workers: s.Workers})
}

// IncidentPolicy is the priority policy the configuration sets.
func IncidentPolicy(cfg *config.Config) alerting.Policy {
	p := alerting.DefaultPolicy()
	for pr, tg := range cfg.Incidents.Targets {
		p.Targets[alerting.Priority(pr)] = alerting.Targets{Respond: tg.Respond.D(), Resolve: tg.Resolve.D()}
	}
	if cfg.Incidents.NearBreach > 0 {
		p.NearBreach = cfg.Incidents.NearBreach
	}
	if ca := cfg.Incidents.CloseAfter; ca != nil {
		p.CloseAfter = ca.D()
	}
	return p
}

// gaps reads the collector gaps in [from, to) as spans.
func gaps(ctx context.Context, h History, from, to time.Time) ([]availability.Span, error) {
	raw, err := h.Gaps(ctx, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]availability.Span, len(raw))
	for i, g := range raw {
		out[i] = availability.Span{From: g[0], To: g[1]}
	}
	return out, nil
}
