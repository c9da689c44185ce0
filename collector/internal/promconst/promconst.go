// Package promconst sends constant metrics to a Prometheus collector's
// channel without panicking: a label value that is not valid UTF-8 (a
// name that came from the network or a file) becomes one invalid metric,
// which promhttp with ContinueOnError logs and leaves out, instead of a
// panic that takes the whole of /metrics (or the process) down.
package promconst

import "github.com/prometheus/client_golang/prometheus"

// Send sends the metric, or, when its labels are invalid, an invalid
// metric that carries the error.
func Send(ch chan<- prometheus.Metric, desc *prometheus.Desc, typ prometheus.ValueType, v float64, labelValues ...string) {
	m, err := prometheus.NewConstMetric(desc, typ, v, labelValues...)
	if err != nil {
		m = prometheus.NewInvalidMetric(desc, err)
	}
	ch <- m
}
