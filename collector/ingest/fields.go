package ingest

import "github.com/prometheus/client_golang/prometheus"

// fieldString is the type label of string fields in
// nines_ingest_fields_dropped_total.
const fieldString = "string"

// newFieldsDropped counts the fields of accepted lines that are not
// stored. Only string fields are dropped: they are not samples (Telegraf's
// inputs.system sends uptime_format="1 day" at every interval), and a line
// holding nothing else is accepted as InfluxDB accepts it, so Telegraf's
// default configuration writes without errors.
func newFieldsDropped() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nines_ingest_fields_dropped_total",
		Help: "Fields of accepted lines that are not stored, by type (string: string fields are not samples).",
	}, []string{"type"})
	c.WithLabelValues(fieldString)
	return c
}
