package check

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/internal/schedule"
	"github.com/ninesmon/nines/collector/state"
)

// Writer receives check outcomes: samples for rules and dashboards, and
// results for the availability tracker. (collector.Writer satisfies it.)
type Writer interface {
	Append(lset labels.Labels, t int64, v float64) error
	ProbeResult(ctx context.Context, p state.Probe, now time.Time) error
}

// Runner runs every configured check on its interval. Update may be called
// from any goroutine while Run runs.
type Runner struct {
	logger  *slog.Logger
	skipped atomic.Int64

	mu      sync.Mutex
	specs   []Spec
	results map[string]Last
	changed chan struct{}
	// owns says whether this collector runs a check (sharding); nil:
	// every check.
	owns func(check string) bool
	// runs counts the runs of each check by this collector.
	runs map[string]int64
	// wake tells the check loops that the owners changed.
	wake schedule.Waker
}

// Last is the latest result of a check, for /metrics and the API.
type Last struct {
	Spec   Spec
	Result Result
	At     time.Time
}

// NewRunner returns a runner for specs.
func NewRunner(specs []Spec, logger *slog.Logger) *Runner {
	return &Runner{logger: logger, specs: specs, results: map[string]Last{}, changed: make(chan struct{}, 1)}
}

// Update replaces the checks; running ones are stopped and the new set
// starts.
func (r *Runner) Update(specs []Spec) {
	r.mu.Lock()
	r.specs = specs
	for name := range r.results {
		found := false
		for _, s := range specs {
			found = found || s.Name == name
		}
		if !found {
			delete(r.results, name)
		}
	}
	for name := range r.runs {
		if !slices.ContainsFunc(specs, func(s Spec) bool { return s.Name == name }) {
			delete(r.runs, name)
		}
	}
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// SetOwner makes the runner run only the checks owns says are this
// collector's, asked at each run (collectors sharing a store split the
// checks between them: collector/shard). nil runs every check.
func (r *Runner) SetOwner(owns func(check string) bool) {
	r.mu.Lock()
	r.owns = owns
	r.mu.Unlock()
}

// OwnersChanged tells the runner that the owner of some checks may have
// changed: a check that became this collector's runs at once, not at its
// next slot (see schedule.Handover).
func (r *Runner) OwnersChanged() { r.wake.Wake() }

// Runs returns how many times this collector ran each check.
func (r *Runner) Runs() map[string]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.runs)
}

// mine says whether this collector runs the check now.
func (r *Runner) mine(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.owns == nil || r.owns(name)
}

// Skipped is how many runs were skipped because the previous run of the
// same check was still going.
func (r *Runner) Skipped() int64 { return r.skipped.Load() }

// Results returns the latest result of every check.
func (r *Runner) Results() map[string]Last {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.results)
}

// Run runs the checks until ctx is done.
func (r *Runner) Run(ctx context.Context, w Writer) error {
	schedule.Group(ctx, r.changed, func() []Spec {
		r.mu.Lock()
		defer r.mu.Unlock()
		return append([]Spec(nil), r.specs...)
	}, func(ctx context.Context, s *Spec) { r.loop(ctx, s, w) })
	return nil
}

// loop runs one check every interval, spread over the interval.
func (r *Runner) loop(ctx context.Context, s *Spec, w Writer) {
	var h schedule.Handover
	schedule.EveryOr(ctx, s.Interval, r.wake.C, func(ctx context.Context, woken bool) {
		mine := r.mine(s.Name)
		if !h.Probe(mine, woken) {
			if !mine && !woken {
				// Another collector's: its result here is not the
				// latest, so /metrics shows only the owner's.
				r.mu.Lock()
				delete(r.results, s.Name)
				r.mu.Unlock()
			}
			return
		}
		start := time.Now()
		res := Run(ctx, s)
		if ctx.Err() != nil {
			return // stopped (reload or shutdown), not a failure
		}
		r.record(ctx, s, res, start, w)
	}, func(n int64) {
		r.skipped.Add(n)
		r.logger.Warn("check overran its interval; runs skipped", "check", s.Name, "skipped", n)
	})
}

func (r *Runner) record(ctx context.Context, s *Spec, res Result, at time.Time, w Writer) {
	r.mu.Lock()
	r.results[s.Name] = Last{Spec: *s, Result: res, At: at}
	if r.runs == nil {
		r.runs = map[string]int64{}
	}
	r.runs[s.Name]++
	r.mu.Unlock()

	ts := at.UnixMilli()
	m := make(map[string]string, len(s.Labels)+4)
	maps.Copy(m, s.Labels)
	m["target"], m["check"], m["type"] = s.Name, s.Name, s.Type
	put := func(name string, v float64) {
		m[model.MetricNameLabel] = name
		if err := w.Append(labels.FromMap(m), ts, v); err != nil {
			r.logger.Debug("check sample not stored", "check", s.Name, "err", err)
		}
	}
	success := 0.0
	if res.Success {
		success = 1
	}
	put("nines_check_success", success)
	put("nines_check_duration_seconds", res.Duration.Seconds())
	if res.HTTPStatus != 0 {
		put("nines_check_http_status_code", float64(res.HTTPStatus))
	}
	if !res.CertExpiry.IsZero() {
		put("nines_check_tls_cert_expiry_timestamp_seconds", float64(res.CertExpiry.Unix()))
	}
	if err := w.ProbeResult(ctx, state.Probe{Name: s.Name, Kind: state.KindCheck, Labels: s.Labels, Interval: s.Interval,
		OK: res.Success, Cause: res.Cause}, at); err != nil {
		r.logger.Error("record check result", "check", s.Name, "err", err)
	}
	if res.Success {
		r.logger.Debug("check succeeded", "check", s.Name, "duration_seconds", res.Duration.Seconds())
	} else {
		r.logger.Info("check failed", "check", s.Name, "cause", res.Cause)
	}
}
