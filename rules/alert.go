package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/template"
)

// AlertState is where an alert is in its lifecycle.
type AlertState int

// The alert states, as in Prometheus.
const (
	StateInactive AlertState = iota // resolved, kept for a while so the resolution is seen
	StatePending                    // condition true, 'for' not yet elapsed
	StateFiring
)

func (s AlertState) String() string {
	switch s {
	case StatePending:
		return "pending"
	case StateFiring:
		return "firing"
	default:
		return "inactive"
	}
}

// resolvedRetention is how long a resolved alert stays visible to sinks.
const resolvedRetention = 15 * time.Minute

// Alert is one instance of an alerting rule: one label set.
type Alert struct {
	Group       string
	Rule        string // the alert name
	Labels      labels.Labels
	Annotations map[string]string
	State       AlertState
	Value       float64
	ActiveAt    time.Time // condition first seen true
	FiredAt     time.Time // zero until firing
	ResolvedAt  time.Time // zero while active
	LastSeenAt  time.Time // condition last seen true
	// ClearSince is when the condition was first seen clear (and the
	// recover condition true) while firing; zero otherwise.
	ClearSince time.Time
}

// Resolved reports whether the alert fired and has since cleared.
func (a *Alert) Resolved() bool { return !a.ResolvedAt.IsZero() }

type alertRule struct {
	group  string
	spec   RuleSpec
	labels map[string]string // group labels overlaid by rule labels
	active map[uint64]*Alert
}

func newAlertRule(group string, groupLabels Labels, spec RuleSpec) *alertRule {
	ls := map[string]string{}
	for k, v := range groupLabels {
		ls[k] = v
	}
	for k, v := range spec.Labels {
		ls[k] = v
	}
	return &alertRule{group: group, spec: spec, labels: ls, active: map[uint64]*Alert{}}
}

// sameDefinition reports whether state can carry over to other: the same
// alert, expression and labels.
func (r *alertRule) sameDefinition(o *alertRule) bool {
	if r.spec.Alert != o.spec.Alert || r.spec.Expr != o.spec.Expr || len(r.labels) != len(o.labels) ||
		len(r.spec.Severities) != len(o.spec.Severities) {
		return false
	}
	for k, v := range r.labels {
		if o.labels[k] != v {
			return false
		}
	}
	return true
}

// eval runs the rule at now. Before holdUntil, alerts whose condition is
// not seen are kept as they are (not resolved, not dropped): after a
// restart the data they need has not arrived yet.
func (r *alertRule) eval(ctx context.Context, ng *promql.Engine, q storage.Queryable, now, holdUntil time.Time) error {
	vec, err := query(ctx, ng, q, r.spec.Expr, now)
	if err != nil {
		return err
	}
	// Severity levels: which alert identities each stricter condition
	// covers. Evaluated before the alerts change, so an error leaves them
	// as they were.
	var levels []map[uint64]bool
	for _, sv := range r.spec.Severities {
		v, err := query(ctx, ng, q, sv.Expr, now)
		if err != nil {
			return fmt.Errorf("severity %q: %w", sv.Severity, err)
		}
		set := make(map[uint64]bool, len(v))
		for _, s := range v {
			set[r.identity(r.alertLabels(s.Metric))] = true
		}
		levels = append(levels, set)
	}
	var recoverable map[uint64]bool
	if r.spec.RecoverExpr != "" {
		v, err := query(ctx, ng, q, r.spec.RecoverExpr, now)
		if err != nil {
			return fmt.Errorf("recover_expr: %w", err)
		}
		recoverable = make(map[uint64]bool, len(v))
		for _, s := range v {
			recoverable[r.identity(r.alertLabels(s.Metric))] = true
		}
	}

	seen := make(map[uint64]bool, len(vec))
	for _, s := range vec {
		lset := r.alertLabels(s.Metric)
		h := r.identity(lset)
		if seen[h] {
			return fmt.Errorf("vector contains metrics with the same labelset after applying alert labels")
		}
		seen[h] = true
		lset = r.withSeverity(lset, h, levels)
		a := r.active[h]
		if a == nil || a.Resolved() {
			a = &Alert{Group: r.group, Rule: r.spec.Alert, State: StatePending, ActiveAt: now}
			r.active[h] = a
		}
		a.Labels = lset
		a.Value = s.F
		a.LastSeenAt = now
		a.ClearSince = time.Time{}
		a.Annotations = r.annotations(ctx, lset, s.F, now, func(ctx context.Context, expr string, at time.Time) (promql.Vector, error) {
			return query(ctx, ng, q, expr, at)
		})
	}
	for h, a := range r.active {
		if seen[h] {
			if a.State == StatePending && now.Sub(a.ActiveAt) >= r.spec.For.D() {
				a.State = StateFiring
				a.FiredAt = now
			}
			continue
		}
		switch {
		case now.Before(holdUntil) && !a.Resolved():
			// Data not back yet after a restart: keep the alert as it is.
		case a.State == StatePending:
			delete(r.active, h)
		case a.State == StateFiring:
			if r.mayResolve(a, h, recoverable, now) {
				a.State = StateInactive
				a.ResolvedAt = now
			}
		case a.Resolved() && now.Sub(a.ResolvedAt) > resolvedRetention:
			delete(r.active, h)
		}
	}
	return nil
}

// mayResolve decides whether a firing alert whose condition is no longer
// true resolves now: keep_firing_for, recover_expr and recover_for can
// each hold it.
func (r *alertRule) mayResolve(a *Alert, h uint64, recoverable map[uint64]bool, now time.Time) bool {
	if now.Sub(a.LastSeenAt) < r.spec.KeepFiringFor.D() {
		return false
	}
	if recoverable != nil && !recoverable[h] {
		a.ClearSince = time.Time{} // not recovered far enough: hysteresis holds it
		return false
	}
	if a.ClearSince.IsZero() {
		a.ClearSince = now
	}
	return now.Sub(a.ClearSince) >= r.spec.RecoverFor.D()
}

// alertLabels are a result series' labels as the alert carries them: no
// metric name, the rule's labels, the alert name.
func (r *alertRule) alertLabels(metric labels.Labels) labels.Labels {
	b := labels.NewBuilder(metric)
	b.Del(model.MetricNameLabel)
	for k, v := range r.labels {
		b.Set(k, v)
	}
	b.Set(labels.AlertName, r.spec.Alert)
	return b.Labels()
}

// identity is what makes an alert the same alert: its labels, less
// severity and priority when the rule has severity levels (so a change
// of severity does not make a new alert).
func (r *alertRule) identity(lset labels.Labels) uint64 {
	if len(r.spec.Severities) == 0 {
		return lset.Hash()
	}
	return labels.NewBuilder(lset).Del("severity", "priority").Labels().Hash()
}

// withSeverity applies the first severity level that covers the alert.
func (r *alertRule) withSeverity(lset labels.Labels, h uint64, levels []map[uint64]bool) labels.Labels {
	for i, set := range levels {
		if set[h] {
			sv := r.spec.Severities[i]
			b := labels.NewBuilder(lset)
			b.Set("severity", sv.Severity)
			if sv.Priority != "" {
				b.Set("priority", sv.Priority)
			}
			return b.Labels()
		}
	}
	return lset
}

// annotations renders the rule's annotations for an alert at now; the
// templates' query calls go through queryFn (nil: none available).
func (r *alertRule) annotations(ctx context.Context, lset labels.Labels, v float64, now time.Time, queryFn template.QueryFunc) map[string]string {
	if len(r.spec.Annotations) == 0 {
		return nil
	}
	lm := lset.Map()
	out := make(map[string]string, len(r.spec.Annotations))
	for k, text := range r.spec.Annotations {
		out[k] = expand(ctx, k, text, lm, v, now, queryFn)
	}
	return out
}

func query(ctx context.Context, ng *promql.Engine, q storage.Queryable, expr string, now time.Time) (promql.Vector, error) {
	qry, err := ng.NewInstantQuery(ctx, q, nil, expr, now)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	switch v := res.Value.(type) {
	case promql.Vector:
		return v, nil
	case promql.Scalar:
		return promql.Vector{promql.Sample{T: v.T, F: v.V, Metric: labels.EmptyLabels()}}, nil
	default:
		return nil, fmt.Errorf("rule expression returned %s, want a vector or scalar", res.Value.Type())
	}
}
