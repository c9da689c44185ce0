package servicelevel

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// history is the part of History timelines read.
type history interface {
	HistorySince(ctx context.Context, target string, from, to time.Time) (state.State, []state.Change, error)
}

// timelines builds target and service timelines over one window from the
// durable history, each once per computation.
type timelines struct {
	history history
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
	segs, err := tl.read(ctx, name)
	if err != nil {
		return nil, err
	}
	tl.cache[key] = segs
	return segs, nil
}

// read builds a target's timeline from the history; safe to call
// concurrently (prefetch does).
func (tl *timelines) read(ctx context.Context, name string) ([]availability.Segment, error) {
	initial, changes, err := tl.history.HistorySince(ctx, name, tl.window.From, tl.window.To)
	if err != nil {
		return nil, err
	}
	segs := availability.Timeline(tl.window, initial, changes, tl.gaps)
	if initial == state.Unknown {
		// Unknown at the window's start: either its last state before was
		// unknown, or it had none (it came later). Until its first state
		// it was absent, no component of any service yet.
		_, before, err := tl.history.HistorySince(ctx, name, time.UnixMilli(0), tl.window.From)
		if err != nil {
			return nil, err
		}
		if !existedBefore(before, tl.window.From) {
			segs = markAbsent(segs, changes)
		}
	}
	return segs, nil
}

// existedBefore says whether changes (up to and including from) hold one
// before from.
func existedBefore(changes []state.Change, from time.Time) bool {
	return len(changes) > 0 && changes[0].At.Before(from)
}

// markAbsent turns what lies before the first change into Absent; time
// the collector was away stays so. A target with no change at all is not
// absent but silent (a configured component that never reported): its
// time stays Unknown, no data.
func markAbsent(segs []availability.Segment, changes []state.Change) []availability.Segment {
	if len(changes) == 0 {
		return segs
	}
	first := changes[0].At
	out := make([]availability.Segment, len(segs))
	for i, s := range segs {
		// Segments start at each change, so none straddles the first.
		if !s.To.After(first) && s.State == state.Unknown {
			s.State = availability.Absent
		}
		out[i] = s
	}
	return out
}

// service is a service's timeline as its availability counts it: its
// components combined, its no-data policy applied, and the time outside
// its schedule marked as such.
func (tl *timelines) service(ctx context.Context, name string) ([]availability.Segment, error) {
	key := "scheduled\x00" + name
	if segs, ok := tl.cache[key]; ok {
		return segs, nil
	}
	segs, err := tl.combined(ctx, name)
	if err != nil {
		return nil, err
	}
	sv := tl.cfg.Service(name)
	segs = availability.ApplyNoData(segs, availability.NoData(sv.NoData))
	if cal := tl.cfg.Calendar(sv.Schedule); cal != nil {
		segs = availability.Restrict(segs, cal.Spans(tl.window.From, tl.window.To))
	}
	tl.cache[key] = segs
	return segs, nil
}

// combined combines a service's components (the config has no cycles).
// A service that needs another takes that one's combined state, whatever
// its schedule: each service's own schedule decides what counts for it.
func (tl *timelines) combined(ctx context.Context, name string) ([]availability.Segment, error) {
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
		segs, err := tl.combined(ctx, dep)
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

// prefetch reads the timelines of the named targets in parallel (the
// store has a pool of readers), so that the combination that follows
// finds them cached. It returns once its workers are done: when ctx ends
// (a client went away) they stop sending and exit.
func (tl *timelines) prefetch(ctx context.Context, names []string, workers int) error {
	type result struct {
		name string
		segs []availability.Segment
		err  error
	}
	seen := map[string]bool{}
	var uniq []string
	for _, n := range names {
		if _, cached := tl.cache["target\x00"+n]; !cached && !seen[n] {
			seen[n] = true
			uniq = append(uniq, n)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // runs first: the workers stop, then wg.Wait returns
	todo := make(chan string)
	done := make(chan result)
	for range max(1, workers) {
		wg.Go(func() {
			for name := range todo {
				segs, err := tl.read(ctx, name)
				select {
				case done <- result{name, segs, err}:
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wg.Go(func() {
		defer close(todo)
		for _, n := range uniq {
			select {
			case todo <- n:
			case <-ctx.Done():
				return
			}
		}
	})
	var firstErr error
	for range uniq {
		select {
		case r := <-done:
			if r.err != nil && firstErr == nil {
				firstErr = r.err
			}
			if r.err == nil {
				tl.cache["target\x00"+r.name] = r.segs
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return firstErr
}

// TargetsOf lists the targets a service needs, through the services it
// needs, skipping the services in seen (and adding those it visits).
// Label-selector components match the labels of targets.
func TargetsOf(cfg *config.Config, targets []state.Target, service string, seen map[string]bool) []string {
	if seen[service] {
		return nil
	}
	seen[service] = true
	sv := cfg.Service(service)
	if sv == nil {
		return nil
	}
	out := slices.Clone(sv.Components.Targets)
	if len(sv.Components.Selector) > 0 {
		for _, t := range targets {
			if hasAll(t.Labels, sv.Components.Selector) {
				out = append(out, t.Name)
			}
		}
	}
	for _, dep := range sv.Components.Services {
		out = append(out, TargetsOf(cfg, targets, dep, seen)...)
	}
	return out
}
