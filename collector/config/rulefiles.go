package config

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
	"github.com/ninesmon/nines/rules"
)

// Rules names rule files and how often their groups run by default.
type Rules struct {
	Files              []string          `yaml:"files"`
	EvaluationInterval yamlconf.Duration `yaml:"evaluation_interval"`
	// OutageTolerance: pending and firing alerts survive a collector
	// restart when it was away no longer than this.
	OutageTolerance yamlconf.Duration `yaml:"outage_tolerance"`
}

func (r *Rules) validate(p *yamlconf.Problems) {
	if r.EvaluationInterval.D() < 10*time.Millisecond {
		p.Addf("rules.evaluation_interval", "must be at least 10ms")
	}
}

// loadRuleFiles parses the rule files rules.files names (abs makes a
// pattern absolute) into RuleFiles, and checks that the services and
// calendars they name are the collector's.
func (c *Config) loadRuleFiles(abs func(string) string) []error {
	var errs []error
	var files []string
	for _, pattern := range c.Rules.Files {
		matches, err := filepath.Glob(abs(pattern))
		if err != nil {
			errs = append(errs, fmt.Errorf("rules.files: %q: %w", pattern, err))
			continue
		}
		if len(matches) == 0 {
			errs = append(errs, fmt.Errorf("rules.files: %q matches no file", pattern))
		}
		files = append(files, matches...)
	}
	c.RuleFiles = nil
	for _, f := range files {
		rf, err := rules.ParseFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, slo := range rf.SLOs {
			if slo.Service != "" && c.Service(slo.Service) == nil {
				errs = append(errs, fmt.Errorf("%s: slo %q: service %q is not in the collector's services", f, slo.Name, slo.Service))
			}
		}
		for _, g := range rf.Groups {
			for _, r := range g.Rules {
				if name := r.Labels["schedule"]; r.Alert != "" && name != "" && c.Calendar(name) == nil {
					errs = append(errs, fmt.Errorf("%s: group %q, rule %q: label schedule: %q is not in the collector's calendars", f, g.Name, r.Alert, name))
				}
			}
		}
		c.RuleFiles = append(c.RuleFiles, rf)
	}
	return errs
}
