package servicelevel

import (
	"context"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/internal/promconst"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// SLOResult is one SLO's figures for one target at the last computation.
type SLOResult struct {
	SLO       string
	Target    string
	Objective float64 // ratio, e.g. 0.999
	Window    string
	Errors    map[string]float64 // error ratio by window label
	Remaining float64            // error budget left in the SLO window, as a ratio of the budget
}

// SLO turns the durable state history into SLI series for the SLOs of
// the rule files: nines_slo_* in the window (for the generated burn-rate
// rules) and on /metrics (it is a prometheus.Collector). Compute runs
// from one goroutine at a time; Results and Collect may run concurrently
// with it.
type SLO struct {
	src Sources

	mu   sync.Mutex
	last []SLOResult
}

// NewSLO returns an SLO computer over src.
func NewSLO(src Sources) *SLO { return &SLO{src: src} }

// Results are the figures of the last computation.
func (s *SLO) Results() []SLOResult {
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

// Compute works out every SLO's error ratios at now and writes them to
// the window as nines_slo_error_ratio{slo,target,window} (and the
// objective and remaining budget), for the generated burn-rate rules.
func (s *SLO) Compute(ctx context.Context, now time.Time) error {
	cfg := s.src.Config()
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
	targets := s.src.Targets()
	longest := time.Duration(0)
	for _, slo := range slos {
		for _, w := range slo.Windows() {
			longest = max(longest, w)
		}
	}
	gs, err := gaps(ctx, s.src.History, now.Add(-longest), now)
	if err != nil {
		return err
	}
	ts := now.UnixMilli()
	byWindow := map[time.Duration]*timelines{}
	timelinesFor := func(w time.Duration) *timelines {
		if tl := byWindow[w]; tl != nil {
			return tl
		}
		tl := &timelines{history: s.src.History, cfg: cfg, window: availability.Span{From: now.Add(-w), To: now}, gaps: gs, targets: targets,
			cache: map[string][]availability.Segment{}}
		byWindow[w] = tl
		return tl
	}
	var results []SLOResult
	for _, slo := range slos {
		objective := slo.Objective / 100
		_ = s.src.Window.Append(labels.FromStrings("__name__", "nines_slo_objective_ratio", "slo", slo.Name), ts, objective)
		subjects := targetsFor(slo, targets)
		if slo.Service != "" {
			subjects = []string{slo.Service}
		}
		for _, target := range subjects {
			r := SLOResult{SLO: slo.Name, Target: target, Objective: objective, Window: rules.WindowLabel(slo.Window.D()), Errors: map[string]float64{}}
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
				_ = s.src.Window.Append(labels.FromStrings("__name__", "nines_slo_error_ratio", "slo", slo.Name, "target", target, "window", wl), ts, res.ErrorRatio())
			}
			allowed := 1 - objective
			r.Remaining = 1 - r.Errors[r.Window]/allowed
			_ = s.src.Window.Append(labels.FromStrings("__name__", "nines_slo_error_budget_remaining_ratio", "slo", slo.Name, "target", target), ts, r.Remaining)
			results = append(results, r)
		}
	}
	s.mu.Lock()
	s.last = results
	s.mu.Unlock()
	return nil
}

var (
	sloErrorDesc = prometheus.NewDesc("nines_slo_error_ratio",
		"Share of eligible time the target was down, over a trailing window, for an SLO.",
		[]string{"slo", "target", "window"}, nil)
	sloObjectiveDesc = prometheus.NewDesc("nines_slo_objective_ratio",
		"The SLO's availability objective as a ratio (0.999 for 99.9 %).",
		[]string{"slo"}, nil)
	sloRemainingDesc = prometheus.NewDesc("nines_slo_error_budget_remaining_ratio",
		"Share of the SLO window's error budget not yet used (negative when overspent).",
		[]string{"slo", "target"}, nil)
)

// Describe implements prometheus.Collector.
func (s *SLO) Describe(ch chan<- *prometheus.Desc) {
	ch <- sloErrorDesc
	ch <- sloObjectiveDesc
	ch <- sloRemainingDesc
}

// Collect implements prometheus.Collector.
func (s *SLO) Collect(ch chan<- prometheus.Metric) {
	objectives := map[string]float64{}
	for _, r := range s.Results() {
		for w, e := range r.Errors {
			promconst.Send(ch, sloErrorDesc, prometheus.GaugeValue, e, r.SLO, r.Target, w)
		}
		promconst.Send(ch, sloRemainingDesc, prometheus.GaugeValue, r.Remaining, r.SLO, r.Target)
		objectives[r.SLO] = r.Objective
	}
	for slo, o := range objectives {
		promconst.Send(ch, sloObjectiveDesc, prometheus.GaugeValue, o, slo)
	}
}
