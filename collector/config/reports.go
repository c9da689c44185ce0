package config

import (
	"fmt"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Reports configures scheduled reports.
type Reports struct {
	Monthly *MonthlyReports `yaml:"monthly"`
}

// MonthlyReports: once a month is over, its service level report for the
// whole catalogue is written to Directory (sla-YYYY-MM.<format>) and,
// when Email names an email receiver, mailed (the HTML attached).
type MonthlyReports struct {
	Directory string   `yaml:"directory"`
	Formats   []string `yaml:"formats"`   // default [html, csv]
	TimeZone  string   `yaml:"time_zone"` // of the month; default UTC
	Email     string   `yaml:"email"`
}

func (r *Reports) applyDefaults() {
	if mr := r.Monthly; mr != nil && len(mr.Formats) == 0 {
		mr.Formats = []string{"html", "csv"}
	}
}

func (r *Reports) validate(p *yamlconf.Problems, n names) {
	mr := r.Monthly
	if mr == nil {
		return
	}
	if mr.Directory == "" {
		p.Addf("reports.monthly.directory", "must be set")
	}
	for j, f := range mr.Formats {
		if f != "html" && f != "csv" && f != "json" {
			p.Addf(fmt.Sprintf("reports.monthly.formats[%d]", j), "want html, csv or json, got %q", f)
		}
	}
	if mr.TimeZone != "" {
		if _, err := time.LoadLocation(mr.TimeZone); err != nil {
			p.Addf("reports.monthly.time_zone", "unknown time zone %q", mr.TimeZone)
		}
	}
	if mr.Email != "" && !n.emailReceivers[mr.Email] {
		p.Addf("reports.monthly.email", "%q is not an email receiver", mr.Email)
	}
}
