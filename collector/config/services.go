package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Service is what an IT department promises ("e-mail", "ERP"): its
// availability is combined from its components'.
type Service struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Owner       string `yaml:"owner"`
	// Criticality is the business's view of the service: critical, high,
	// medium or low (default medium); shown in the API and reports.
	Criticality string `yaml:"criticality"`
	// Group sorts the service onto wall pages ("network", "office"):
	// the wall's ?groups= kiosk option shows only the named groups.
	Group string `yaml:"group"`
	// Combine is all (down when any component is down; default), any
	// (redundant: down only when all are down) or k_of_n (down when fewer
	// than K are up).
	Combine    string            `yaml:"combine"`
	K          int               `yaml:"k"`
	Components ServiceComponents `yaml:"components"`
	// Objective is the availability promised, in percent (default 99.9).
	Objective float64 `yaml:"objective"`
	// Schedule names a calendar: only its hours count. Empty: 24x7.
	Schedule string `yaml:"schedule"`
	// NoData is what time without data counts as: exclude (default: not
	// eligible, reported), down or up.
	NoData string `yaml:"no_data"`
}

// ServiceComponents are what a service is made of.
type ServiceComponents struct {
	Targets  []string          `yaml:"targets"`
	Selector map[string]string `yaml:"selector"`
	Services []string          `yaml:"services"`
}

// Service returns the named service, or nil.
func (c *Config) Service(name string) *Service {
	for i := range c.Services {
		if c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

// ObjectiveRatio is the objective as a ratio (99.9 -> 0.999), rounded so
// that no binary-float residue shows in reports.
func (s *Service) ObjectiveRatio() float64 { return math.Round(s.Objective*1e4) / 1e6 }

func (sv *Service) applyDefaults() {
	if sv.Combine == "" {
		sv.Combine = "all"
	}
	if sv.Objective == 0 {
		sv.Objective = 99.9
	}
	if sv.Criticality == "" {
		sv.Criticality = "medium"
	}
	if sv.NoData == "" {
		sv.NoData = "exclude"
	}
}

func (sv *Service) validate(p *yamlconf.Problems, sp string, n names) {
	switch sv.Criticality {
	case "critical", "high", "medium", "low":
	default:
		p.Addf(sp+".criticality", "service %q: want critical, high, medium or low, got %q", sv.Name, sv.Criticality)
	}
	if !(sv.Objective > 0 && sv.Objective < 100) { // NaN too
		p.Addf(sp+".objective", "service %q: objective must be a percentage between 0 and 100", sv.Name)
	}
	if sv.Schedule != "" && !n.calendars[sv.Schedule] {
		p.Addf(sp+".schedule", "service %q: unknown calendar %q", sv.Name, sv.Schedule)
	}
	switch sv.NoData {
	case "exclude", "down", "up":
	default:
		p.Addf(sp+".no_data", "service %q: unknown policy %q (want exclude, down or up)", sv.Name, sv.NoData)
	}
	k := len(sv.Components.Targets) + len(sv.Components.Services)
	switch sv.Combine {
	case "all", "any":
	case "k_of_n":
		if sv.K < 1 || (len(sv.Components.Selector) == 0 && sv.K > k) {
			p.Addf(sp+".k", "service %q: k must be between 1 and the number of components (%d)", sv.Name, k)
		}
	default:
		p.Addf(sp+".combine", "service %q: unknown combine %q (want all, any or k_of_n)", sv.Name, sv.Combine)
	}
	if k == 0 && len(sv.Components.Selector) == 0 {
		p.Addf(sp+".components", "service %q: needs at least one component", sv.Name)
	}
	for j, dep := range sv.Components.Services {
		if !n.services[dep] {
			p.Addf(fmt.Sprintf("%s.components.services[%d]", sp, j), "service %q: unknown service %q", sv.Name, dep)
		}
	}
}

// validateServices checks each service, that names are unique and that no
// service contains itself, however indirectly.
func validateServices(p *yamlconf.Problems, services []Service, n names) {
	byName := map[string]*Service{}
	seen := map[string]bool{}
	for i := range services {
		sv := &services[i]
		sp := fmt.Sprintf("services[%d]", i)
		p.Name(seen, sp, "service", sv.Name)
		byName[sv.Name] = sv
		sv.validate(p, sp, n)
	}
	// A depth-first walk reports each cycle it closes.
	color := map[string]int{} // 0 unvisited, 1 on the current path, 2 done
	var path []string
	var visit func(name string)
	visit = func(name string) {
		color[name] = 1
		path = append(path, name)
		for _, dep := range byName[name].Components.Services {
			if byName[dep] == nil {
				continue
			}
			switch color[dep] {
			case 1:
				start := slices.Index(path, dep)
				p.Addf("services", "service %q depends on itself: %s", dep, strings.Join(append(slices.Clone(path[start:]), dep), " -> "))
			case 0:
				visit(dep)
			}
		}
		path = path[:len(path)-1]
		color[name] = 2
	}
	for _, sv := range services {
		if color[sv.Name] == 0 && sv.Name != "" {
			visit(sv.Name)
		}
	}
}
