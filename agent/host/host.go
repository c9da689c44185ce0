// Package host collects availability and performance facts about the
// machine the agent runs on.
//
// Each fact source is a Collector registered by name; Registry.Collect runs
// the enabled ones, times each, and fills a Batch of samples whose names
// follow node_exporter's (node_cpu_seconds_total, node_filesystem_avail_bytes,
// ...), so existing dashboards and alert rules work unchanged. gopsutil is
// reached only through the PS interface, so tests use fixture /proc trees
// (through the context) or a fake.
package host

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"sort"
	"time"
)

// Label is one name=value pair of a sample.
type Label struct {
	Name, Value string
}

// Sample is one value. Its metric name is Measurement + "_" + Field (see
// package wire); samples that share Measurement and Labels travel on one
// line-protocol line.
type Sample struct {
	Measurement string
	Field       string
	Labels      []Label // sorted by name
	Value       float64
	Counter     bool
}

// Name is the sample's metric name.
func (s *Sample) Name() string { return s.Measurement + "_" + s.Field }

// Batch is the result of one collection cycle.
type Batch struct {
	Time    time.Time
	Samples []Sample
	// labels is the store the samples' Labels are cut from, so a cycle
	// allocates a few label arrays rather than one per sample.
	labels []Label
}

// Add appends a gauge. labels are name, value pairs.
func (b *Batch) Add(measurement, field string, v float64, labels ...string) {
	b.add(measurement, field, v, false, labels)
}

// AddCounter appends a counter (a monotonically increasing total).
func (b *Batch) AddCounter(measurement, field string, v float64, labels ...string) {
	b.add(measurement, field, v, true, labels)
}

func (b *Batch) add(measurement, field string, v float64, counter bool, labels []string) {
	var ls []Label
	if n := len(labels) / 2; n > 0 {
		if cap(b.labels)-len(b.labels) < n {
			b.labels = make([]Label, 0, max(2*cap(b.labels), 128, n))
		}
		start := len(b.labels)
		for i := 0; i+1 < len(labels); i += 2 {
			b.labels = append(b.labels, Label{labels[i], labels[i+1]})
		}
		// Capped, so an append to one sample's labels cannot reach the next's.
		ls = b.labels[start:len(b.labels):len(b.labels)]
		// Insertion sort: a handful of labels, usually in order already
		// (sort.Slice allocated twice per sample).
		for i := 1; i < len(ls); i++ {
			for j := i; j > 0 && ls[j].Name < ls[j-1].Name; j-- {
				ls[j], ls[j-1] = ls[j-1], ls[j]
			}
		}
	}
	b.Samples = append(b.Samples, Sample{Measurement: measurement, Field: field, Labels: ls, Value: v, Counter: counter})
}

// Collector gathers one kind of fact. Collect is called from one goroutine
// at a time, once per cycle, and appends to b; an error means the facts of
// this collector are missing or partial for the cycle.
type Collector interface {
	Collect(ctx context.Context, b *Batch) error
}

// Options tune the collectors; the zero value is not the default: start
// from DefaultOptions.
type Options struct {
	// CPUPerCore reports node_cpu_seconds_total per core (true) or summed
	// over all cores with cpu="all".
	CPUPerCore bool
	// ExcludeFSTypes are filesystem types not reported.
	ExcludeFSTypes []string
	// ExcludeMountPoints and IncludeMountPoints filter mount points by
	// regular expression (anchored); an empty include matches all.
	ExcludeMountPoints, IncludeMountPoints *regexp.Regexp
	// IncludeVirtualInterfaces also reports loopback, container and bridge
	// interfaces.
	IncludeVirtualInterfaces bool
	// Processes are the named process checks.
	Processes []ProcessMatch
	// WindowsServices are the Windows services whose state is reported.
	WindowsServices []string
}

// DefaultOptions are the settings when the configuration says nothing.
func DefaultOptions() Options {
	return Options{CPUPerCore: true, ExcludeFSTypes: DefaultExcludedFSTypes()}
}

// Factory builds a collector from the shared PS seam and the options.
type Factory func(ps PS, o Options, logger *slog.Logger) Collector

type registration struct {
	factory        Factory
	defaultEnabled bool
}

var factories = map[string]registration{}

// Register adds a collector under name. It is called from init functions.
func Register(name string, defaultEnabled bool, f Factory) {
	if _, dup := factories[name]; dup {
		panic("host: collector registered twice: " + name)
	}
	factories[name] = registration{factory: f, defaultEnabled: defaultEnabled}
}

// Names lists every registered collector, sorted.
func Names() []string {
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DefaultEnabled reports whether the named collector runs when the
// configuration does not say.
func DefaultEnabled(name string) bool { return factories[name].defaultEnabled }

// Registry runs a set of collectors.
type Registry struct {
	names      []string
	collectors []Collector
	logger     *slog.Logger
	// lastErr is each collector's last error, so a lasting failure is
	// logged when it starts, changes or ends, not at every interval (it
	// is always in node_scrape_collector_success).
	lastErr []string
	// lastSamples and lastLabels size the next batch like the last one,
	// so a cycle allocates its arrays once instead of growing them.
	lastSamples, lastLabels int
}

// NewRegistry builds the named collectors. An unknown name is an error.
func NewRegistry(names []string, ps PS, o Options, logger *slog.Logger) (*Registry, error) {
	r := &Registry{logger: logger}
	for _, n := range names {
		reg, ok := factories[n]
		if !ok {
			return nil, fmt.Errorf("unknown collector %q", n)
		}
		r.names = append(r.names, n)
		r.collectors = append(r.collectors, reg.factory(ps, o, logger.With("collector", n)))
	}
	return r, nil
}

// Collect runs every collector and returns the batch, including the
// node_scrape_collector_success and _duration_seconds samples node_exporter
// users know. A panicking collector is recovered, logged and reported as
// failed; the others still run.
func (r *Registry) Collect(ctx context.Context, now time.Time) *Batch {
	b := &Batch{Time: now, Samples: make([]Sample, 0, max(256, r.lastSamples+r.lastSamples/8))}
	if r.lastLabels > 0 {
		b.labels = make([]Label, 0, r.lastLabels+r.lastLabels/8)
	}
	if len(r.lastErr) != len(r.collectors) {
		r.lastErr = make([]string, len(r.collectors))
	}
	for i, c := range r.collectors {
		start := time.Now()
		err := safeCollect(ctx, c, b)
		success := 1.0
		msg := ""
		if err != nil {
			success = 0
			msg = err.Error()
		}
		switch {
		case msg != "" && msg != r.lastErr[i]:
			r.logger.Warn("collector failed; logged again only when the error changes", "collector", r.names[i], "err", err)
		case msg == "" && r.lastErr[i] != "":
			r.logger.Info("collector recovered", "collector", r.names[i])
		}
		r.lastErr[i] = msg
		b.Add("node_scrape_collector", "duration_seconds", time.Since(start).Seconds(), "collector", r.names[i])
		b.Add("node_scrape_collector", "success", success, "collector", r.names[i])
	}
	r.lastSamples, r.lastLabels = len(b.Samples), len(b.labels)
	return b
}

func safeCollect(ctx context.Context, c Collector, b *Batch) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return c.Collect(ctx, b)
}
