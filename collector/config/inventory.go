package config

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Inventory declares the targets expected to report.
type Inventory struct {
	// Hosts expected to report: a declared host that never reported is
	// UNKNOWN, not absent.
	Hosts []InventoryHost `yaml:"hosts"`
	// AutoRegister lets hosts that are not declared register on their
	// first push (default true).
	AutoRegister bool `yaml:"auto_register"`
	// Allow restricts auto-registration to names matching one of these
	// regular expressions (anchored). Empty: any name.
	Allow []string `yaml:"allow"`
	// MaxTargets bounds the hosts tracked (declared ones included;
	// devices, interfaces and checks are configured, not counted): a host that would register itself beyond it is refused
	// (403, its lines rejected naming it) and counted. Declared hosts are
	// always admitted. 0: no limit.
	MaxTargets int `yaml:"max_targets"`
	// MaxNewTargetsPerMinute bounds how many hosts may register
	// themselves per minute (beyond: 429, lines rejected). 0: no limit.
	MaxNewTargetsPerMinute int `yaml:"max_new_targets_per_minute"`
}

// InventoryHost is one declared host.
type InventoryHost struct {
	Name string `yaml:"name"`
	// Labels are applied to the host's series and state, over the agent's
	// own; group, site and owner are the usual ones.
	Labels map[string]string `yaml:"labels"`
}

// AllowRegexps compiles Allow; Validate has checked it.
func (i *Inventory) AllowRegexps() []*regexp.Regexp { return Regexps(i.Allow) }

func (i *Inventory) validate(p *yamlconf.Problems) {
	seenHosts := map[string]bool{}
	for j, h := range i.Hosts {
		hp := fmt.Sprintf("inventory.hosts[%d]", j)
		p.Name(seenHosts, hp, "host", h.Name)
		for k := range h.Labels {
			if !labelNameRE.MatchString(k) || k == "host" || k == "target" || k == "kind" {
				p.Addf(hp+".labels."+k, "invalid or reserved label name %q", k)
			}
		}
	}
	if i.MaxTargets < 0 {
		p.Addf("inventory.max_targets", "must not be negative (0: no limit)")
	}
	if i.MaxNewTargetsPerMinute < 0 {
		p.Addf("inventory.max_new_targets_per_minute", "must not be negative (0: no limit)")
	}
	for j, a := range i.Allow {
		if _, err := regexp.Compile(a); err != nil {
			p.Addf(fmt.Sprintf("inventory.allow[%d]", j), "invalid regular expression: %v", err)
		}
	}
}

// validateDependencies checks the targets' parents.
func validateDependencies(p *yamlconf.Problems, deps map[string][]string) {
	for child, parents := range deps {
		if slices.Contains(parents, child) {
			p.Addf("dependencies."+child, "target %q cannot depend on itself", child)
		}
	}
}
