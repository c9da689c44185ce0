package rules

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

// Appender receives the results of recording rules.
type Appender interface {
	Append(lset labels.Labels, t int64, v float64) error
}

// Sink receives, after each evaluation of a group, every alert of the
// group that is pending, firing or recently resolved. It is called from
// the manager's goroutine and must not keep the slice.
type Sink interface {
	Alerts(ctx context.Context, now time.Time, group string, alerts []Alert)
}

// Options configure a Manager.
type Options struct {
	Queryable       storage.Queryable
	Appender        Appender // for recording rules; may be nil when there are none
	Sink            Sink
	DefaultInterval time.Duration // for groups that set none
	Logger          *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StateStore, when set, keeps pending and firing alerts across
	// restarts (see Restore).
	StateStore StateStore
	// HoldUntil: before this time, alerts whose condition is not seen are
	// neither resolved nor dropped. After a restart the recent-sample
	// window is empty until senders report again; set it to the start time
	// plus the startup grace.
	HoldUntil time.Time
}

// SLOEvalInterval is how often the generated SLO alerts are evaluated.
const SLOEvalInterval = 30 * time.Second

// Manager evaluates rule groups on their intervals. Update may be called
// from any goroutine; Run owns evaluation. It is a prometheus.Collector
// of each group's evaluation timings.
type Manager struct {
	opts   Options
	engine *promql.Engine
	wake   chan struct{}

	mu     sync.Mutex
	groups []*group

	// Timings of the last evaluation of each group, for /metrics; their
	// own lock, so a scrape does not wait for an evaluation.
	statsMu sync.Mutex
	stats   map[string]*groupStats
}

// groupStats is what Collect reports of one group.
type groupStats struct {
	duration, lag time.Duration
	missed        int
}

type group struct {
	name     string
	interval time.Duration
	alerts   []*alertRule
	records  []RuleSpec
	next     time.Time
	lastErr  error

	savedDigest string // of the alert state last written to the StateStore
}

// NewManager returns a manager with no rules.
func NewManager(opts Options) *Manager {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultInterval <= 0 {
		opts.DefaultInterval = time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		opts: opts,
		engine: promql.NewEngine(promql.EngineOpts{
			MaxSamples:           50_000_000,
			Timeout:              time.Minute,
			LookbackDelta:        5 * time.Minute,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
		}),
		wake: make(chan struct{}, 1),
	}
}

// Update replaces the rule set. Alerts of rules whose group, name,
// expression and labels are unchanged keep their state (a reload does not
// resolve and re-fire them).
func (m *Manager) Update(files []*File) {
	old := map[string]*alertRule{}
	m.mu.Lock()
	for _, g := range m.groups {
		for _, r := range g.alerts {
			old[g.name+"\x00"+r.spec.Alert+"\x00"+r.spec.Expr] = r
		}
	}
	var groups []*group
	now := m.opts.Now()
	for _, f := range files {
		specs := f.Groups
		for _, slo := range f.SLOs {
			specs = append(specs, sloGroup(slo, SLOEvalInterval))
		}
		for _, gs := range specs {
			g := &group{name: gs.Name, interval: gs.Interval.D(), next: now}
			if g.interval <= 0 {
				g.interval = m.opts.DefaultInterval
			}
			for _, rs := range gs.Rules {
				if rs.Record != "" {
					g.records = append(g.records, rs)
					continue
				}
				r := newAlertRule(gs.Name, gs.Labels, rs)
				if prev := old[gs.Name+"\x00"+rs.Alert+"\x00"+rs.Expr]; prev != nil && prev.sameDefinition(r) {
					r.active = prev.active
				}
				g.alerts = append(g.alerts, r)
			}
			groups = append(groups, g)
		}
	}
	m.groups = groups
	m.mu.Unlock()
	m.statsMu.Lock()
	for name := range m.stats {
		if !slices.ContainsFunc(groups, func(g *group) bool { return g.name == name }) {
			delete(m.stats, name)
		}
	}
	m.statsMu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Run evaluates groups when they are due until ctx is done.
func (m *Manager) Run(ctx context.Context) error {
	for {
		now := m.opts.Now()
		m.EvalDue(ctx, now)
		wait := m.untilNext(now)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-m.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func (m *Manager) untilNext(now time.Time) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	wait := time.Minute
	for _, g := range m.groups {
		wait = min(wait, g.next.Sub(now))
	}
	return max(wait, time.Millisecond)
}

// EvalDue evaluates every group whose time has come, at now.
func (m *Manager) EvalDue(ctx context.Context, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, g := range m.groups {
		if now.Before(g.next) {
			continue
		}
		due := g.next
		m.evalGroup(ctx, g, now)
		end := m.opts.Now()
		g.next = g.next.Add(g.interval)
		missed := 0
		if !g.next.After(now) {
			// Fell behind (slow evaluation or a sleeping clock): skip missed
			// slots instead of evaluating them back to back.
			missed = int(now.Sub(g.next)/g.interval) + 1
			g.next = now.Add(g.interval)
		}
		m.record(g.name, end.Sub(now), end.Sub(due), missed)
	}
}

// record keeps the timings of one evaluation of group name.
func (m *Manager) record(name string, duration, lag time.Duration, missed int) {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	if m.stats == nil {
		m.stats = map[string]*groupStats{}
	}
	st := m.stats[name]
	if st == nil {
		st = &groupStats{}
		m.stats[name] = st
	}
	st.duration, st.lag = duration, lag
	st.missed += missed
}

var (
	groupDurationDesc = prometheus.NewDesc("nines_rule_group_last_duration_seconds",
		"How long the last evaluation of the rule group took.", []string{"group"}, nil)
	groupLagDesc = prometheus.NewDesc("nines_rule_group_last_lag_seconds",
		"From when the last evaluation of the rule group was due to when it ended: its duration plus how late it started (other groups evaluating before it, a busy machine).", []string{"group"}, nil)
	groupMissedDesc = prometheus.NewDesc("nines_rule_group_iterations_missed_total",
		"Evaluations of the rule group skipped because the previous ones ran late.", []string{"group"}, nil)
)

// Describe implements prometheus.Collector.
func (m *Manager) Describe(ch chan<- *prometheus.Desc) {
	ch <- groupDurationDesc
	ch <- groupLagDesc
	ch <- groupMissedDesc
}

// Collect implements prometheus.Collector: the timings of each group's
// last evaluation (groups evaluated at least once since the start).
func (m *Manager) Collect(ch chan<- prometheus.Metric) {
	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	for name, st := range m.stats {
		ch <- prometheus.MustNewConstMetric(groupDurationDesc, prometheus.GaugeValue, st.duration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(groupLagDesc, prometheus.GaugeValue, st.lag.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(groupMissedDesc, prometheus.CounterValue, float64(st.missed), name)
	}
}

func (m *Manager) evalGroup(ctx context.Context, g *group, now time.Time) {
	var errs []error
	for _, rs := range g.records {
		vec, err := query(ctx, m.engine, m.opts.Queryable, rs.Expr, now)
		if err != nil {
			errs = append(errs, err)
			m.opts.Logger.Warn("recording rule failed", "group", g.name, "rule", rs.Record, "err", err)
			continue
		}
		for _, s := range vec {
			b := labels.NewBuilder(s.Metric)
			b.Set(model.MetricNameLabel, rs.Record)
			for k, v := range rs.Labels {
				b.Set(k, v)
			}
			if m.opts.Appender != nil {
				if err := m.opts.Appender.Append(b.Labels(), now.UnixMilli(), s.F); err != nil {
					m.opts.Logger.Debug("recording rule sample not stored", "rule", rs.Record, "err", err)
				}
			}
		}
	}
	var out []Alert
	for _, r := range g.alerts {
		if err := r.eval(ctx, m.engine, m.opts.Queryable, now, m.opts.HoldUntil); err != nil {
			errs = append(errs, err)
			m.opts.Logger.Warn("alerting rule failed", "group", g.name, "rule", r.spec.Alert, "err", err)
		}
		for _, a := range r.active {
			out = append(out, *a)
		}
	}
	g.lastErr = errors.Join(errs...)
	if m.opts.StateStore != nil {
		if saved := g.saved(); digest(saved) != g.savedDigest {
			switch err := m.opts.StateStore.SaveAlerts(ctx, g.name, saved); {
			case errors.Is(err, ErrNotSaved):
			case err != nil:
				m.opts.Logger.Error("save alert state", "group", g.name, "err", err)
			default:
				g.savedDigest = digest(saved)
			}
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return labels.Compare(a.Labels, b.Labels) })
	if m.opts.Sink != nil {
		m.opts.Sink.Alerts(ctx, now, g.name, out)
	}
}

// Alerts returns a copy of every active or recently resolved alert.
func (m *Manager) Alerts() []Alert {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Alert
	for _, g := range m.groups {
		for _, r := range g.alerts {
			for _, a := range r.active {
				out = append(out, *a)
			}
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return labels.Compare(a.Labels, b.Labels) })
	return out
}

// Query evaluates an instant expression at ts over the manager's data.
func (m *Manager) Query(ctx context.Context, expr string, ts time.Time) (promql.Vector, error) {
	return query(ctx, m.engine, m.opts.Queryable, expr, ts)
}

// QueryRange evaluates expr over [start, end] every step against the
// recent-sample window, with the same engine the rules use (the web UI's
// charts).
func (m *Manager) QueryRange(ctx context.Context, expr string, start, end time.Time, step time.Duration) (promql.Matrix, error) {
	q, err := m.engine.NewRangeQuery(ctx, m.opts.Queryable, nil, expr, start, end, step)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	res := q.Exec(ctx)
	if res.Err != nil {
		return nil, res.Err
	}
	return res.Matrix()
}
