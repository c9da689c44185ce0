package config

import (
	"fmt"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Maintenance is a one-off maintenance window: the targets it covers are
// MAINTENANCE (not DOWN) from Start to End, open no incidents, and the
// time does not count against their availability.
type Maintenance struct {
	Name     string            `yaml:"name"`
	Targets  []string          `yaml:"targets"`
	Selector map[string]string `yaml:"selector"`
	// Services puts every target of these services (and of the services
	// they need) in the window.
	Services []string `yaml:"services"`
	// Start and End are RFC 3339 times ("2026-11-28T22:00:00+01:00").
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	// Schedule makes the window recurring instead: in force whenever the
	// named calendar covers the time (say, sun 02:00-04:00 for the weekly
	// patch window).
	Schedule string `yaml:"schedule"`
}

// Times returns the window's start and end (validated).
func (m *Maintenance) Times() (time.Time, time.Time) {
	from, _ := time.Parse(time.RFC3339, m.Start)
	to, _ := time.Parse(time.RFC3339, m.End)
	return from, to
}

func validateMaintenance(p *yamlconf.Problems, windows []Maintenance, n names) {
	for i := range windows {
		windows[i].validate(p, fmt.Sprintf("maintenance[%d]", i), n)
	}
}

func (m *Maintenance) validate(p *yamlconf.Problems, mp string, n names) {
	if m.Name == "" {
		p.Addf(mp, "name must be set")
	}
	if len(m.Targets) == 0 && len(m.Selector) == 0 && len(m.Services) == 0 {
		p.Addf(mp, "window %q: set targets, a selector or services", m.Name)
	}
	for j, sv := range m.Services {
		if !n.services[sv] {
			p.Addf(fmt.Sprintf("%s.services[%d]", mp, j), "window %q: unknown service %q", m.Name, sv)
		}
	}
	if m.Schedule != "" {
		if m.Start != "" || m.End != "" {
			p.Addf(mp, "window %q: a recurring window (schedule) has no start and end", m.Name)
		}
		if !n.calendars[m.Schedule] {
			p.Addf(mp+".schedule", "window %q: unknown calendar %q", m.Name, m.Schedule)
		}
		return
	}
	from, err1 := time.Parse(time.RFC3339, m.Start)
	if err1 != nil {
		p.Addf(mp+".start", "window %q: want an RFC 3339 time such as 2026-11-28T22:00:00+01:00: %v", m.Name, err1)
	}
	to, err2 := time.Parse(time.RFC3339, m.End)
	if err2 != nil {
		p.Addf(mp+".end", "window %q: want an RFC 3339 time such as 2026-11-29T02:00:00+01:00: %v", m.Name, err2)
	}
	if err1 == nil && err2 == nil && !to.After(from) {
		p.Addf(mp+".end", "window %q: end must be after start", m.Name)
	}
}
