package collector

import (
	"context"
	"fmt"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// timelines builds target and service timelines over one window from the
// durable history, each once per computation.
type timelines struct {
	c       *Collector
	cfg     *config.Config
	window  availability.Span
	gaps    []availability.Span
	targets []state.Target
	cache   map[string][]availability.Segment
}

func (tl *timelines) target(ctx context.Context, name string) ([]availability.Segment, error) {
	key := "target\x00" + name
	if segs, ok := tl.cache[key]; ok {
		return segs, nil
	}
	initial, changes, err := tl.c.store.HistorySince(ctx, name, tl.window.From, tl.window.To)
	if err != nil {
		return nil, err
	}
	segs := availability.Timeline(tl.window, initial, changes, tl.gaps)
	tl.cache[key] = segs
	return segs, nil
}

// service combines a service's components (the config has no cycles).
func (tl *timelines) service(ctx context.Context, name string) ([]availability.Segment, error) {
	key := "service\x00" + name
	if segs, ok := tl.cache[key]; ok {
		return segs, nil
	}
	sv := tl.cfg.Service(name)
	if sv == nil {
		return nil, fmt.Errorf("unknown service %q", name)
	}
	var comps [][]availability.Segment
	names := append([]string(nil), sv.Components.Targets...)
	if len(sv.Components.Selector) > 0 {
		for _, t := range tl.targets {
			if hasAll(t.Labels, sv.Components.Selector) {
				names = append(names, t.Name)
			}
		}
	}
	for _, n := range names {
		segs, err := tl.target(ctx, n)
		if err != nil {
			return nil, err
		}
		comps = append(comps, segs)
	}
	for _, dep := range sv.Components.Services {
		segs, err := tl.service(ctx, dep)
		if err != nil {
			return nil, err
		}
		comps = append(comps, segs)
	}
	segs := availability.Combine(tl.window, availability.Mode{Kind: sv.Combine, K: sv.K}, comps)
	tl.cache[key] = segs
	return segs, nil
}

func hasAll(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
