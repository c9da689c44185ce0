package config

import (
	"fmt"
	"maps"

	"github.com/ninesmon/nines/internal/probe"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// validateChecks checks each active check and that its name is not taken
// by a declared host or another check.
func validateChecks(p *yamlconf.Problems, checks []probe.Config, n names) {
	taken := maps.Clone(n.hosts)
	for i := range checks {
		path := fmt.Sprintf("checks[%d]", i)
		if name := checks[i].Name; name != "" && taken[name] {
			p.Addf(path+".name", "name %q is already used by another check or host", name)
		}
		taken[checks[i].Name] = true
		checks[i].Validate(p, path)
	}
}
