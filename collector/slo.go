package collector

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// sloResult is one SLO's figures for one target at the last computation.
type sloResult struct {
	SLO       string
	Target    string
	Objective float64 // ratio, e.g. 0.999
	Window    string
	Errors    map[string]float64 // error ratio by window label
	Remaining float64            // error budget left in the SLO window, as a ratio of the budget
}

// sloComputer turns the durable state history into SLI series for the
// SLOs of the rule files.
type sloComputer struct {
	c *Collector

	mu   sync.Mutex
	last []sloResult
}

func (s *sloComputer) results() []sloResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// targetsFor lists the targets an SLO covers.
func targetsFor(slo rules.SLOSpec, targets []state.Target) []string {
	var out []string
	for _, t := range targets {
		if slo.Target != "" {
			if t.Name == slo.Target {
				out = append(out, t.Name)
			}
			continue
		}
		match := true
		for k, v := range slo.Selector {
			if t.Labels[k] != v {
				match = false
				break
			}
		}
		if match {
			out = append(out, t.Name)
		}
	}
	return out
}

// compute works out every SLO's error ratios at now and writes them to
// the window as nines_slo_error_ratio{slo,target,window} (and the
// objective and remaining budget), for the generated burn-rate rules.
func (s *sloComputer) compute(ctx context.Context, now time.Time) error {
	cfg := s.c.config()
	var slos []rules.SLOSpec
	for _, f := range cfg.RuleFiles {
		slos = append(slos, f.SLOs...)
	}
	if len(slos) == 0 {
		s.mu.Lock()
		s.last = nil
		s.mu.Unlock()
		return nil
	}
	targets := s.c.tracker.Snapshot()
	longest := time.Duration(0)
	for _, slo := range slos {
		for _, w := range slo.Windows() {
			longest = max(longest, w)
		}
	}
	rawGaps, err := s.c.store.Gaps(ctx, now.Add(-longest), now)
	if err != nil {
		return err
	}
	gaps := make([]availability.Span, len(rawGaps))
	for i, g := range rawGaps {
		gaps[i] = availability.Span{From: g[0], To: g[1]}
	}
	ts := now.UnixMilli()
	byWindow := map[time.Duration]*timelines{}
	timelinesFor := func(w time.Duration) *timelines {
		if tl := byWindow[w]; tl != nil {
			return tl
		}
		tl := &timelines{history: s.c.store, cfg: cfg, window: availability.Span{From: now.Add(-w), To: now}, gaps: gaps, targets: targets,
			cache: map[string][]availability.Segment{}}
		byWindow[w] = tl
		return tl
	}
	var results []sloResult
	for _, slo := range slos {
		objective := slo.Objective / 100
		_ = s.c.own.Append(labels.FromStrings("__name__", "nines_slo_objective_ratio", "slo", slo.Name), ts, objective)
		subjects := targetsFor(slo, targets)
		if slo.Service != "" {
			subjects = []string{slo.Service}
		}
		for _, target := range subjects {
			r := sloResult{SLO: slo.Name, Target: target, Objective: objective, Window: rules.WindowLabel(slo.Window.D()), Errors: map[string]float64{}}
			for _, w := range slo.Windows() {
				tl := timelinesFor(w)
				var segs []availability.Segment
				var err error
				if slo.Service != "" {
					segs, err = tl.service(ctx, slo.Service)
				} else {
					segs, err = tl.target(ctx, target)
				}
				if err != nil {
					return err
				}
				res, _ := availability.Summarise(tl.window, segs)
				wl := rules.WindowLabel(w)
				r.Errors[wl] = res.ErrorRatio()
				_ = s.c.own.Append(labels.FromStrings("__name__", "nines_slo_error_ratio", "slo", slo.Name, "target", target, "window", wl), ts, res.ErrorRatio())
			}
			allowed := 1 - objective
			r.Remaining = 1 - r.Errors[r.Window]/allowed
			_ = s.c.own.Append(labels.FromStrings("__name__", "nines_slo_error_budget_remaining_ratio", "slo", slo.Name, "target", target), ts, r.Remaining)
			results = append(results, r)
		}
	}
	s.mu.Lock()
	s.last = results
	s.mu.Unlock()
	return nil
}
