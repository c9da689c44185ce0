package collector

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/state"
)

// stateCollector exposes target states and open incidents, rendered from
// a snapshot at scrape time so that targets that disappear leave no stale
// series behind.
type stateCollector struct {
	tracker   *state.Tracker
	incidents *alerting.Manager
}

var (
	targetUpDesc = prometheus.NewDesc("nines_target_up",
		"Whether the target is up (1) or not (0: down, unknown, maintenance or shut down).",
		[]string{"target", "kind"}, nil)
	targetStateDesc = prometheus.NewDesc("nines_target_state",
		"The target's availability state: 1 for the current state, 0 for the others.",
		[]string{"target", "kind", "state"}, nil)
	targetSinceDesc = prometheus.NewDesc("nines_target_state_since_timestamp_seconds",
		"When the target entered its current state (Unix time).",
		[]string{"target", "kind"}, nil)
	incidentsOpenDesc = prometheus.NewDesc("nines_incidents_open",
		"Incidents open or acknowledged, by priority.",
		[]string{"priority"}, nil)
)

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- targetUpDesc
	ch <- targetStateDesc
	ch <- targetSinceDesc
	ch <- incidentsOpenDesc
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	for _, t := range c.tracker.Snapshot() {
		up := 0.0
		if t.State == state.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(targetUpDesc, prometheus.GaugeValue, up, t.Name, string(t.Kind))
		for _, s := range state.AllStates {
			v := 0.0
			if s == t.State {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(targetStateDesc, prometheus.GaugeValue, v, t.Name, string(t.Kind), string(s))
		}
		ch <- prometheus.MustNewConstMetric(targetSinceDesc, prometheus.GaugeValue, float64(t.Since.UnixMilli())/1000, t.Name, string(t.Kind))
	}
	for p, n := range c.incidents.OpenByPriority() {
		ch <- prometheus.MustNewConstMetric(incidentsOpenDesc, prometheus.GaugeValue, float64(n), string(p))
	}
}
