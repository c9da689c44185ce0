package servicelevel

import (
	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// LiveService is a service's state now, from its components' states now.
type LiveService struct {
	State      string // up, degraded, down, maintenance, unknown
	Components []Component
	Down       int // components down
}

// Component is one part of a service: a target, or a service it needs
// (Kind "service").
type Component struct {
	Name, Kind, State string
}

// Live decides every catalogue service's state now from its targets'
// states (a service it needs counts with that service's state).
func Live(cfg *config.Config, targets []state.Target) map[string]*LiveService {
	byName := make(map[string]state.Target, len(targets))
	for _, t := range targets {
		byName[t.Name] = t
	}
	out := map[string]*LiveService{}
	var decide func(name string) *LiveService
	decide = func(name string) *LiveService {
		if ls, ok := out[name]; ok {
			return ls
		}
		ls := &LiveService{State: "unknown"}
		out[name] = ls // the config has no cycles; this also guards
		sv := cfg.Service(name)
		if sv == nil {
			return ls
		}
		var states []state.State
		degradedParts := 0
		add := func(c Component, st state.State) {
			ls.Components = append(ls.Components, c)
			states = append(states, st)
			if c.State == "down" {
				ls.Down++
			}
		}
		addTarget := func(n string) {
			t, ok := byName[n]
			st, kind := state.Unknown, "target"
			if ok {
				st, kind = t.State, string(t.Kind)
			}
			add(Component{Name: n, Kind: kind, State: string(st)}, st)
		}
		seen := map[string]bool{}
		for _, n := range sv.Components.Targets {
			seen[n] = true
			addTarget(n)
		}
		if len(sv.Components.Selector) > 0 {
			for _, t := range targets {
				if !seen[t.Name] && hasAll(t.Labels, sv.Components.Selector) {
					seen[t.Name] = true
					addTarget(t.Name)
				}
			}
		}
		for _, dep := range sv.Components.Services {
			d := decide(dep)
			st := state.Unknown
			switch d.State {
			case "degraded":
				st = state.Up
				degradedParts++
			case "up":
				st = state.Up
			case "down":
				st = state.Down
			}
			add(Component{Name: dep, Kind: "service", State: d.State}, st)
		}
		st, degraded := availability.Mode{Kind: sv.Combine, K: sv.K}.Decide(states)
		switch {
		case degraded || (st == state.Up && degradedParts > 0):
			// A redundant part down, here or in a service it needs.
			ls.State = "degraded"
		default:
			ls.State = string(st)
		}
		return ls
	}
	for _, sv := range cfg.Services {
		decide(sv.Name)
	}
	return out
}
