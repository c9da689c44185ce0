package config

import (
	"slices"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Incidents sets the response and resolution targets per priority.
type Incidents struct {
	// Targets per priority (P1-P4); missing ones keep their defaults.
	Targets map[string]IncidentTargets `yaml:"targets"`
	// NearBreach is the share of a target after which an incident is
	// flagged as near breach (default 0.8).
	NearBreach float64 `yaml:"near_breach"`
	// CloseAfter closes a resolved incident that stayed resolved this long
	// (default 24h; 0s: never, operators close by hand).
	CloseAfter *yamlconf.Duration `yaml:"close_after"`
}

// IncidentTargets are one priority's targets.
type IncidentTargets struct {
	Respond yamlconf.Duration `yaml:"respond"`
	Resolve yamlconf.Duration `yaml:"resolve"`
}

func (in *Incidents) validate(p *yamlconf.Problems) {
	for pr, tg := range in.Targets {
		ip := "incidents.targets." + pr
		if !slices.Contains(priorities, pr) {
			p.Addf(ip, "unknown priority %q (want P1, P2, P3 or P4)", pr)
		}
		if tg.Respond <= 0 || tg.Resolve <= 0 || tg.Respond > tg.Resolve {
			p.Addf(ip, "want 0 < respond <= resolve")
		}
	}
	if n := in.NearBreach; !(n >= 0 && n < 1) { // NaN too
		p.Addf("incidents.near_breach", "must be between 0 and 1 (0.8 is 80 %%)")
	}
}
