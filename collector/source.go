package collector

import (
	"context"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
)

// Writer is where every source of data delivers: samples for the recent
// window, and availability observations for the tracker. Safe for
// concurrent use.
type Writer interface {
	// Append stores one sample (t in Unix milliseconds).
	Append(lset labels.Labels, t int64, v float64) error
	// Observe records that a target answered at now.
	Observe(ctx context.Context, o state.Observation, now time.Time) error
	// ProbeResult records the outcome of an active probe of a target.
	ProbeResult(ctx context.Context, p state.Probe, now time.Time) error
}

// Source is a long-running producer of data: an SNMP poller, a trap
// listener, active checks. Run blocks until ctx is done (then it returns
// nil) or it fails; it writes only through w. Agent pushes arrive over HTTP
// and reach the same Writer through the ingest handler.
type Source interface {
	Run(ctx context.Context, w Writer) error
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, w Writer) error

// Run calls f.
func (f SourceFunc) Run(ctx context.Context, w Writer) error { return f(ctx, w) }

// writer joins the sample window and the tracker into a Writer.
type writer struct {
	c *Collector
}

func (w writer) Append(lset labels.Labels, t int64, v float64) error {
	return w.c.appender.Append(lset, t, v)
}

func (w writer) Observe(ctx context.Context, o state.Observation, now time.Time) error {
	return w.c.tracker.Observe(ctx, o, now)
}

func (w writer) ProbeResult(ctx context.Context, p state.Probe, now time.Time) error {
	return w.c.tracker.ProbeResult(ctx, p, now)
}
