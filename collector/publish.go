package collector

import (
	"errors"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

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

// PublishIncidents writes nines_incidents_open{priority,service} into w
// (the recent window), as /metrics has it, so dashboards reading the
// query API see the open incidents: open counts incidents by priority and
// service (OpenByService; "" for none, which gets no service label), and
// every priority has a series even when none is open.
func PublishIncidents(w rules.Appender, open map[[2]string]int, now time.Time) {
	ts := now.UnixMilli()
	put := func(priority, service string, n int) {
		l := []string{model.MetricNameLabel, "nines_incidents_open", "priority", priority}
		if service != "" {
			l = append(l, "service", service)
		}
		_ = w.Append(labels.FromStrings(l...), ts, float64(n)) // w counts its errors
	}
	for _, p := range alerting.Priorities {
		if _, ok := open[[2]string{string(p), ""}]; !ok {
			put(string(p), "", 0)
		}
	}
	for k, n := range open {
		put(k[0], k[1], n)
	}
}
