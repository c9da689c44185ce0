// Package wire defines the agent-to-collector push protocol: the endpoint,
// the headers that carry the agent's identity and sequence number, and how
// line-protocol measurements and fields map to metric names.
//
// A push is an HTTP POST of InfluxDB line protocol (gzip-encoded) with a
// bearer token. Each line is "measurement,tags field=value,... timestamp";
// the collector names a series measurement + "_" + field, the convention
// VictoriaMetrics uses, so a line "node_load load1=0.5" is the sample
// node_load_load1. The agent chooses measurement and field names so that the
// result matches node_exporter's metric names.
package wire

import "time"

// PushPath is the collector's native ingest endpoint.
const PushPath = "/api/v1/push"

// Headers of a push request.
const (
	// HeaderHostID is the agent's stable host ID (machine ID from the OS).
	HeaderHostID = "X-Nines-Host-Id"
	// HeaderHostname is the host's name; it becomes the target name.
	HeaderHostname = "X-Nines-Hostname"
	// HeaderSequence is the batch's sequence number, increasing per agent
	// run, so the collector can drop retried duplicates.
	HeaderSequence = "X-Nines-Sequence"
	// HeaderInterval is the agent's push interval as a Go duration; the
	// collector derives the host's down deadline from it.
	HeaderInterval = "X-Nines-Interval"
	// HeaderGoodbye marks the agent's last push before a clean stop.
	HeaderGoodbye = "X-Nines-Goodbye"
	// HeaderMetricsAddress is the host:port of the agent's own /metrics
	// listener, for the collector's Prometheus service discovery. A
	// wildcard host means "the address this push came from".
	HeaderMetricsAddress = "X-Nines-Metrics-Address"
	// HeaderLabels carries the agent's configured labels as
	// comma-separated name=value pairs (values URL-query-escaped).
	HeaderLabels = "X-Nines-Labels"
)

// Limits the collector enforces on a push's headers (400 beyond); the
// agent's configuration is checked against them too.
const (
	// MaxHostnameBytes bounds HeaderHostname (and a line's host tag): a
	// DNS name's limit.
	MaxHostnameBytes = 253
	// MaxHostIDBytes bounds HeaderHostID: machine IDs are 32 to 36
	// characters.
	MaxHostIDBytes = 128
	// MaxLabels bounds the labels of HeaderLabels.
	MaxLabels = 32
	// MaxLabelNameBytes and MaxLabelValueBytes bound a label's name and
	// value (HeaderLabels, a line's tags).
	MaxLabelNameBytes  = 128
	MaxLabelValueBytes = 1024
	// MinInterval and MaxInterval bound HeaderInterval: the agent's own
	// lower bound, and an hour (a host announcing 100000h would never be
	// found down).
	MinInterval = 100 * time.Millisecond
	MaxInterval = time.Hour
)

// MetricName is the series name for a line-protocol field.
func MetricName(measurement, field []byte) string {
	b := make([]byte, 0, len(measurement)+1+len(field))
	b = append(b, measurement...)
	b = append(b, '_')
	b = append(b, field...)
	return string(b)
}
