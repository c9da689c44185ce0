// Package config is the nines-collector configuration file: keys,
// defaults, validation and loading (including the rule files it names).
//
// Each section of the file has its own source file (web.go for web and
// auth, storage.go, ingest.go, inventory.go, checks.go, snmp.go and
// devices.go, services.go, calendars.go, receivers.go with the routes,
// incidents.go, maintenance.go, reports.go, forward.go, rulefiles.go,
// query.go) holding its keys, their defaults and a validate method that
// reports problems at their key path. Loading runs in steps that do one thing
// each: decode strictly, ApplyDefaults (defaults that depend on other
// keys), Validate (reads only: calling it twice, or on an invalid
// configuration, changes nothing), then build what is derived from a
// valid configuration (calendars, SNMP column numbers). Resolve, in
// LoadFile, reads the files the configuration names.
package config

import (
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/ninesmon/nines/internal/probe"
	"github.com/ninesmon/nines/internal/yamlconf"
	"github.com/ninesmon/nines/rules"
)

// Config is the whole collector configuration. Start from Default.
type Config struct {
	Web          Web            `yaml:"web"`
	Storage      Storage        `yaml:"storage"`
	Auth         Auth           `yaml:"auth"`
	Ingest       Ingest         `yaml:"ingest"`
	Availability Availability   `yaml:"availability"`
	Inventory    Inventory      `yaml:"inventory"`
	Checks       []probe.Config `yaml:"checks"`
	Services     []Service      `yaml:"services"`
	// Calendars are schedules services, maintenance windows, rules and
	// routes share: business hours in a time zone.
	Calendars []Calendar `yaml:"calendars"`
	// Reports are the service level reports made by themselves.
	Reports     Reports       `yaml:"reports"`
	Devices     []Device      `yaml:"devices"`
	Maintenance []Maintenance `yaml:"maintenance"`
	Incidents   Incidents     `yaml:"incidents"`
	// Receivers are told of every incident change (opened, acknowledged,
	// severity, resolved, reopened, closed).
	Receivers []Receiver `yaml:"receivers"`
	// Routes pick the receivers of each incident; without routes every
	// receiver is told of every incident. A receiver told of an incident
	// is always told of its end.
	Routes []Route `yaml:"routes"`
	// Dependencies name each target's parents (the switch in front of a
	// server, a site's router): a child that goes down with its parent is
	// attached to the parent's incident instead of opening its own.
	Dependencies map[string][]string `yaml:"dependencies"`
	SNMP         SNMP                `yaml:"snmp"`
	Forward      Forward             `yaml:"forward"`
	Rules        Rules               `yaml:"rules"`
	// Query bounds the Prometheus query API over the recent window.
	Query Query `yaml:"query"`

	// RuleFiles are the parsed rule files, filled by LoadFile.
	RuleFiles []*rules.File `yaml:"-"`
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// Default returns the configuration used for keys the file leaves out.
func Default() *Config {
	return &Config{
		Web: Web{ListenAddress: ":9990", Wall: Wall{GroupBy: "site", SessionTTL: yamlconf.Duration(12 * time.Hour)}},
		Storage: Storage{
			Driver:            DriverSQLite,
			Path:              "data/nines.db",
			SamplesRetention:  yamlconf.Duration(time.Hour),
			MaxSeries:         2_000_000,
			HeartbeatInterval: yamlconf.Duration(5 * time.Second),
			Retention: Retention{
				Audit:         yamlconf.Duration(400 * 24 * time.Hour),
				Notifications: yamlconf.Duration(90 * 24 * time.Hour),
				History:       yamlconf.Duration(800 * 24 * time.Hour),
			},
		},
		Ingest: Ingest{MaxBodyBytes: 32 << 20, MaxLineBytes: 64 << 10, MaxSeriesPerTarget: 20_000, MaxConcurrentRequests: 64,
			MaxBodyReadTime: yamlconf.Duration(time.Minute), MinBodyRate: 1024, BodyRateGrace: yamlconf.Duration(5 * time.Second),
		},
		Availability: Availability{
			DownAfterIntervals:  3,
			DefaultPushInterval: yamlconf.Duration(15 * time.Second),
			CheckInterval:       yamlconf.Duration(time.Second),
			CheckFailures:       2,
		},
		Inventory: Inventory{AutoRegister: true, MaxTargets: 10_000, MaxNewTargetsPerMinute: 600},
		SNMP:      SNMP{MaxConcurrentPolls: 64},
		Rules:     Rules{EvaluationInterval: yamlconf.Duration(15 * time.Second), OutageTolerance: yamlconf.Duration(time.Hour)},
		Query:     DefaultQuery(),
	}
}

// Load parses a configuration without touching the file system. It
// decodes strictly, fills the defaults that depend on other keys
// (ApplyDefaults), validates (Validate) and, when all is well, builds
// what is derived from the valid configuration (calendars, SNMP column
// numbers).
func Load(file string, data []byte) (*Config, error) {
	c := Default()
	if err := yamlconf.Decode(file, data, c); err != nil {
		return nil, err
	}
	c.build()
	return c, nil
}

// LoadFile reads a configuration file, resolves relative paths against its
// directory, reads token files and parses every rule file. All problems
// are returned together.
func LoadFile(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Load(path, data)
	if err != nil {
		return nil, err
	}
	if err := c.Resolve(filepath.Dir(path)); err != nil {
		return nil, yamlconf.Place(path, data, err)
	}
	return c, nil
}

// ApplyDefaults fills the defaults that depend on what the file says (a
// device's timeout from its interval, a credential profile's settings);
// see yamlconf.Defaulter. Load calls it before Validate. It is
// idempotent.
func (c *Config) ApplyDefaults() {
	c.Availability.applyDefaults()
	c.Ingest.applyDefaults()
	for i := range c.Checks {
		c.Checks[i].ApplyDefaults()
	}
	for i := range c.Services {
		c.Services[i].applyDefaults()
	}
	c.SNMP.applyDefaults()
	for i := range c.Devices {
		c.Devices[i].applyDefaults(c.SNMP.Credentials)
	}
	for i := range c.Receivers {
		c.Receivers[i].applyDefaults()
	}
	c.Reports.applyDefaults()
	c.Forward.applyDefaults()
}

// Validate checks the decoded configuration and changes nothing; see
// yamlconf.Validator. Each section checks itself, with its problems at
// its key path; references between sections (a service's calendar, a
// route's receiver) are checked against the names the file defines.
func (c *Config) Validate(p *yamlconf.Problems) {
	n := c.names()
	c.Web.validate(p)
	c.Storage.validate(p)
	c.Auth.validate(p)
	c.Ingest.validate(p)
	c.Availability.validate(p)
	c.Inventory.validate(p)
	validateChecks(p, c.Checks, n)
	validateCalendars(p, c.Calendars)
	validateServices(p, c.Services, n)
	c.SNMP.validate(p)
	validateDevices(p, c.Devices, &c.SNMP, n)
	c.validateTrapSources(p)
	c.Incidents.validate(p)
	validateReceivers(p, c.Receivers)
	c.Reports.validate(p, n)
	validateRoutes(p, c.Routes, n)
	validateDependencies(p, c.Dependencies)
	validateMaintenance(p, c.Maintenance, n)
	c.Forward.validate(p)
	c.Rules.validate(p)
	c.Query.validate(p)
}

// build makes what is derived from a valid configuration: the calendars
// and the SNMP tables' column numbers. Load calls it once validation has
// passed, before the configuration is shared.
func (c *Config) build() {
	for i := range c.Calendars {
		c.Calendars[i].build()
	}
	c.SNMP.build()
}

// names are the names sections refer to each other by, as the file
// defines them (valid or not: each definition reports its own problems).
type names struct {
	hosts, checks, calendars, services, receivers, emailReceivers map[string]bool
}

func (c *Config) names() names {
	n := names{hosts: map[string]bool{}, checks: map[string]bool{}, calendars: map[string]bool{},
		services: map[string]bool{}, receivers: map[string]bool{}, emailReceivers: map[string]bool{}}
	for _, h := range c.Inventory.Hosts {
		n.hosts[h.Name] = true
	}
	for _, ch := range c.Checks {
		n.checks[ch.Name] = true
	}
	for _, cal := range c.Calendars {
		n.calendars[cal.Name] = true
	}
	for _, sv := range c.Services {
		n.services[sv.Name] = true
	}
	for _, r := range c.Receivers {
		n.receivers[r.Name] = true
		if r.Email != nil {
			n.emailReceivers[r.Name] = true
		}
	}
	return n
}

// Regexps compiles patterns (interface and host name patterns) anchored,
// so each matches a whole name. Validate has checked them; one that does
// not compile is left out.
func Regexps(patterns []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		if re, err := anchored(p); err == nil {
			out = append(out, re)
		}
	}
	return out
}

// anchored compiles a pattern matched against a whole name.
func anchored(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile("^(?:" + pattern + ")$")
}
