package collector

import (
	"errors"
	"log/slog"
	"maps"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// ownSeries appends the collector's own series (target states, SLO and
// SLA figures) into the window, outside its series limits, and counts
// and logs what the window still refuses: once per reason, not once per
// sample, since it repeats every check interval. Safe for concurrent use.
type ownSeries struct {
	window   *samples.Store
	logger   *slog.Logger
	failures *prometheus.CounterVec // by reason

	mu     sync.Mutex
	logged map[string]bool // reasons already logged
}

func newOwnSeries(window *samples.Store, logger *slog.Logger) *ownSeries {
	return &ownSeries{window: window, logger: logger, logged: map[string]bool{},
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_own_series_append_failures_total",
			Help: "Samples of the collector's own series (target states, SLO and SLA figures) the recent window refused, by reason; rules over them see stale data."},
			[]string{"reason"})}
}

// Append implements servicelevel.Appender: it never fails, it counts.
func (o *ownSeries) Append(lset labels.Labels, t int64, v float64) error {
	err := o.window.AppendOwn(lset, t, v)
	if err == nil {
		return nil
	}
	reason := "other"
	switch {
	case errors.Is(err, samples.ErrOutOfOrder):
		reason = "out_of_order"
	case errors.Is(err, samples.ErrTooMany):
		reason = "series_limit"
	case errors.Is(err, samples.ErrTooManyForTarget):
		reason = "target_series_limit"
	}
	o.failures.WithLabelValues(reason).Inc()
	o.mu.Lock()
	first := !o.logged[reason]
	o.logged[reason] = true
	o.mu.Unlock()
	if first {
		o.logger.Warn("the window refused one of the collector's own series; counting further refusals in nines_own_series_append_failures_total",
			"reason", reason, "series", lset.String(), "err", err)
	}
	return nil
}

// PublishStates writes nines_target_up and nines_target_state of every
// target into w (the recent window), so rules (host down, check failed)
// are plain PromQL. Errors are w's to count (the collector's ownSeries
// counts and logs them).
func PublishStates(w rules.Appender, targets []state.Target, now time.Time) {
	ts := now.UnixMilli()
	for _, t := range targets {
		m := maps.Clone(t.Labels)
		if m == nil {
			m = map[string]string{}
		}
		m["target"], m["kind"] = t.Name, string(t.Kind)
		if t.Kind == state.KindHost {
			m["host"] = t.Name
		}
		up := 0.0
		if t.State == state.Up {
			up = 1
		}
		m[model.MetricNameLabel] = "nines_target_up"
		_ = w.Append(labels.FromMap(m), ts, up) // w counts its errors
		m[model.MetricNameLabel] = "nines_target_state"
		for _, s := range state.AllStates {
			v := 0.0
			if s == t.State {
				v = 1
			}
			m["state"] = string(s)
			_ = w.Append(labels.FromMap(m), ts, v)
		}
	}
}

// incidentSeries writes nines_incidents_open{priority,service} into the
// recent window, as /metrics has it, so dashboards reading the query API
// see the open incidents. A series whose last incident ended gets a
// staleness marker, as Prometheus writes when a scraped series goes away,
// so queries stop showing its last count at once rather than for the
// lookback delta. Safe for concurrent use.
type incidentSeries struct {
	mu   sync.Mutex
	last map[[2]string]bool // (priority, service) published with a count
}

// publish writes open (incidents by priority and service, as
// OpenByService counts them; service "" for none, which gets no service
// label) into w; every priority has a series even when none is open.
func (s *incidentSeries) publish(w rules.Appender, open map[[2]string]int, now time.Time) {
	ts := now.UnixMilli()
	put := func(k [2]string, v float64) {
		l := []string{model.MetricNameLabel, "nines_incidents_open", "priority", k[0]}
		if k[1] != "" {
			l = append(l, "service", k[1])
		}
		_ = w.Append(labels.FromStrings(l...), ts, v) // w counts its errors
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range alerting.Priorities {
		if _, ok := open[[2]string{string(p), ""}]; !ok {
			put([2]string{string(p), ""}, 0)
		}
	}
	for k := range s.last {
		if _, ok := open[k]; !ok {
			if k[1] != "" {
				put(k, math.Float64frombits(value.StaleNaN))
			}
			delete(s.last, k)
		}
	}
	if s.last == nil {
		s.last = map[[2]string]bool{}
	}
	for k, n := range open {
		put(k, float64(n))
		s.last[k] = true
	}
}
