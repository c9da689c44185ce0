package rules

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
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
	if r.spec.Alert != o.spec.Alert || r.spec.Expr != o.spec.Expr || len(r.labels) != len(o.labels) {
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
	seen := make(map[uint64]bool, len(vec))
	for _, s := range vec {
		b := labels.NewBuilder(s.Metric)
		b.Del(model.MetricNameLabel)
		for k, v := range r.labels {
			b.Set(k, v)
		}
		b.Set(labels.AlertName, r.spec.Alert)
		lset := b.Labels()
		h := lset.Hash()
		if seen[h] {
			return fmt.Errorf("vector contains metrics with the same labelset after applying alert labels")
		}
		seen[h] = true
		a := r.active[h]
		if a == nil || a.Resolved() {
			a = &Alert{Group: r.group, Rule: r.spec.Alert, Labels: lset, State: StatePending, ActiveAt: now}
			r.active[h] = a
		}
		a.Value = s.F
		a.LastSeenAt = now
		a.Annotations = r.annotations(lset, s.F)
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
		case a.State == StateFiring && now.Sub(a.LastSeenAt) < r.spec.KeepFiringFor.D():
			// keep_firing_for: hold the alert through short gaps.
		case a.State == StateFiring:
			a.State = StateInactive
			a.ResolvedAt = now
		case a.Resolved() && now.Sub(a.ResolvedAt) > resolvedRetention:
			delete(r.active, h)
		}
	}
	return nil
}

func (r *alertRule) annotations(lset labels.Labels, v float64) map[string]string {
	if len(r.spec.Annotations) == 0 {
		return nil
	}
	lm := lset.Map()
	out := make(map[string]string, len(r.spec.Annotations))
	for k, text := range r.spec.Annotations {
		out[k] = expand(k, text, lm, v)
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
