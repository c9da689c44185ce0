// Package config is the nines-collector configuration file: keys,
// defaults, validation and loading (including the rule files it names).
package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting/notify/webhook"
	"github.com/ninesmon/nines/collector/calendar"
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

	// RuleFiles are the parsed rule files, filled by LoadFile.
	RuleFiles []*rules.File `yaml:"-"`
}

// Web is the HTTP listener (API, ingest, /metrics).
type Web struct {
	ListenAddress string `yaml:"listen_address"`
	TLSCertFile   string `yaml:"tls_cert_file"`
	TLSKeyFile    string `yaml:"tls_key_file"`
	// MetricsPublic serves /metrics without a token. Default false: the
	// SLA and state figures are data and need a viewer token.
	MetricsPublic bool `yaml:"metrics_public"`
	// Wall configures the NOC wall view and operator web UI (/ui/).
	Wall Wall `yaml:"wall"`
}

// Wall configures the NOC wall view.
type Wall struct {
	// GroupBy is the target label whose values become one tile each
	// (hosts and devices per site, say). Default "site"; targets without
	// it are grouped as "other".
	GroupBy string `yaml:"group_by"`
	// SessionTTL is how long a web login lasts (default 12h).
	SessionTTL yamlconf.Duration `yaml:"session_ttl"`
}

// Storage is where state is kept.
type Storage struct {
	// Path of the SQLite database. Default data/nines.db, relative to the
	// config file's directory.
	Path string `yaml:"path"`
	// SamplesRetention is the in-memory window rules can look at.
	SamplesRetention yamlconf.Duration `yaml:"samples_retention"`
	// MaxSeries bounds the in-memory series; beyond it new series are
	// rejected and counted.
	MaxSeries int `yaml:"max_series"`
}

// Auth lists the API tokens.
type Auth struct {
	Tokens []Token `yaml:"tokens"`
}

// Role is what a token may do.
type Role string

// The roles: agent may only push; viewer reads; operator reads and works
// incidents; admin does everything.
const (
	RoleAgent    Role = "agent"
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
)

// Token is one credential. The secret is never in the file in clear:
// give its SHA-256 (token_sha256) or a file holding it (token_file).
type Token struct {
	Name        string `yaml:"name"`
	Role        Role   `yaml:"role"`
	TokenSHA256 string `yaml:"token_sha256"`
	TokenFile   string `yaml:"token_file"`

	// Hash is the SHA-256 of the token, filled by LoadFile.
	Hash [32]byte `yaml:"-"`
}

// Ingest bounds what senders may send.
type Ingest struct {
	// MaxBodyBytes bounds a request body, counted after decompression.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxLineBytes rejects longer line-protocol lines.
	MaxLineBytes int `yaml:"max_line_bytes"`
	// MaxSeriesPerTarget bounds the series of one host (cardinality
	// limit); samples of new series beyond it are refused and counted.
	MaxSeriesPerTarget int `yaml:"max_series_per_target"`
	// MaxConcurrentRequests are decoded at once; more get 429.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
}

// Availability sets how target states are decided.
type Availability struct {
	// DownAfterIntervals: a host is DOWN after this many push intervals
	// without data.
	DownAfterIntervals int `yaml:"down_after_intervals"`
	// DefaultPushInterval applies to senders that do not announce one.
	DefaultPushInterval yamlconf.Duration `yaml:"default_push_interval"`
	// StartupGrace delays DOWN decisions after the collector starts, so
	// agents' queued data arrives first. Default: two default intervals.
	StartupGrace yamlconf.Duration `yaml:"startup_grace"`
	// CheckInterval is how often deadlines are checked.
	CheckInterval yamlconf.Duration `yaml:"check_interval"`
	// CheckFailures: an active check's target is DOWN after this many
	// consecutive failures.
	CheckFailures int `yaml:"check_failures"`
}

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
}

// InventoryHost is one declared host.
type InventoryHost struct {
	Name string `yaml:"name"`
	// Labels are applied to the host's series and state, over the agent's
	// own; group, site and owner are the usual ones.
	Labels map[string]string `yaml:"labels"`
}

// AllowRegexps compiles Allow; Validate has checked it.
func (i *Inventory) AllowRegexps() []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(i.Allow))
	for _, a := range i.Allow {
		if re, err := regexp.Compile("^(?:" + a + ")$"); err == nil {
			out = append(out, re)
		}
	}
	return out
}

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

// Calendar is a schedule: working hours by weekday in a time zone.
type Calendar struct {
	Name string `yaml:"name"`
	// TimeZone is an IANA name ("Europe/Berlin"); default UTC.
	TimeZone string `yaml:"time_zone"`
	// Hours maps days ("mon", "mon-fri", "sat-sun") to time ranges
	// ("08:00-12:00", "13:00-17:00"; "00:00-24:00" for the whole day).
	Hours map[string][]string `yaml:"hours"`
	// Holidays are dates (YYYY-MM-DD) not worked.
	Holidays []string `yaml:"holidays"`
	// ExtraWorkingDays are dates worked although their weekday is not,
	// with ExtraDayHours (default: Monday's hours).
	ExtraWorkingDays []string `yaml:"extra_working_days"`
	ExtraDayHours    []string `yaml:"extra_day_hours"`

	built *calendar.Calendar
}

// Calendar returns the named schedule, nil for "" (24x7) or an unknown
// name (validation refuses those).
func (c *Config) Calendar(name string) *calendar.Calendar {
	for i := range c.Calendars {
		if c.Calendars[i].Name == name {
			return c.Calendars[i].built
		}
	}
	return nil
}

func (c *Config) validateCalendars(p *yamlconf.Problems) {
	seen := map[string]bool{}
	for i := range c.Calendars {
		cal := &c.Calendars[i]
		cp := fmt.Sprintf("calendars[%d]", i)
		p.Name(seen, cp, "calendar", cal.Name)
		b := &calendar.Calendar{Name: cal.Name, Location: time.UTC, Holidays: map[string]bool{}, Extra: map[string]bool{}}
		if cal.TimeZone != "" {
			loc, err := time.LoadLocation(cal.TimeZone)
			if err != nil {
				p.Addf(cp+".time_zone", "calendar %q: unknown time zone %q", cal.Name, cal.TimeZone)
			} else {
				b.Location = loc
			}
		}
		if len(cal.Hours) == 0 {
			p.Addf(cp+".hours", "calendar %q: no working hours", cal.Name)
		}
		ranges := func(path string, specs []string) []calendar.Range {
			var out []calendar.Range
			for j, spec := range specs {
				r, err := calendar.ParseRange(spec)
				if err != nil {
					p.Addf(fmt.Sprintf("%s[%d]", path, j), "calendar %q: %v", cal.Name, err)
					continue
				}
				out = append(out, r)
			}
			return out
		}
		days := make([]string, 0, len(cal.Hours))
		for d := range cal.Hours {
			days = append(days, d)
		}
		sort.Strings(days)
		for _, d := range days {
			wds, err := calendar.ParseDays(d)
			if err != nil {
				p.Addf(cp+".hours."+d, "calendar %q: %v", cal.Name, err)
				continue
			}
			rs := ranges(cp+".hours."+d, cal.Hours[d])
			for _, wd := range wds {
				b.Hours[wd] = append(b.Hours[wd], rs...)
			}
		}
		for j, day := range cal.Holidays {
			if _, err := time.Parse(time.DateOnly, day); err != nil {
				p.Addf(fmt.Sprintf("%s.holidays[%d]", cp, j), "calendar %q: want a date YYYY-MM-DD, got %q", cal.Name, day)
			}
			b.Holidays[day] = true
		}
		for j, day := range cal.ExtraWorkingDays {
			if _, err := time.Parse(time.DateOnly, day); err != nil {
				p.Addf(fmt.Sprintf("%s.extra_working_days[%d]", cp, j), "calendar %q: want a date YYYY-MM-DD, got %q", cal.Name, day)
			}
			b.Extra[day] = true
		}
		b.ExtraHours = b.Hours[time.Monday]
		if len(cal.ExtraDayHours) > 0 {
			b.ExtraHours = ranges(cp+".extra_day_hours", cal.ExtraDayHours)
		}
		b.Sort()
		cal.built = b
	}
}

// ServiceComponents are what a service is made of.
type ServiceComponents struct {
	Targets  []string          `yaml:"targets"`
	Selector map[string]string `yaml:"selector"`
	Services []string          `yaml:"services"`
}

// Route sends the incidents that match to a receiver.
type Route struct {
	Receiver string `yaml:"receiver"`
	// Match: labels that must be equal (the incident's labels, and
	// service, target, severity, priority).
	Match map[string]string `yaml:"match"`
	// Priorities the route takes (P1-P4); empty: all.
	Priorities []string `yaml:"priorities"`
	// RepeatInterval reminds the receiver of an incident still open and
	// unacknowledged this often (default: never).
	RepeatInterval yamlconf.Duration `yaml:"repeat_interval"`
	// Schedule limits the route to a calendar's hours.
	Schedule string `yaml:"schedule"`
}

// Receiver is one notification destination.
type Receiver struct {
	Name         string        `yaml:"name"`
	Webhook      *Webhook      `yaml:"webhook"`
	Alertmanager *Alertmanager `yaml:"alertmanager"`
	PagerDuty    *PagerDuty    `yaml:"pagerduty"`
	Redmine      *Redmine      `yaml:"redmine"`
	ServiceNow   *ServiceNow   `yaml:"servicenow"`
	Jira         *Jira         `yaml:"jira"`
	Email        *Email        `yaml:"email"`
}

// Email sends notifications over SMTP.
type Email struct {
	// SMTP is the relay, host:port.
	SMTP         string          `yaml:"smtp"`
	From         string          `yaml:"from"`
	To           []string        `yaml:"to"`
	Username     string          `yaml:"username"`
	Password     yamlconf.Secret `yaml:"password"`
	PasswordFile string          `yaml:"password_file"`
	// TLS: starttls (default: when offered, required with a password),
	// tls (implicit, port 465) or none.
	TLS string `yaml:"tls"`
	// Link is the web UI's base URL, for a link to the incident.
	Link    string            `yaml:"link"`
	Timeout yamlconf.Duration `yaml:"timeout"`
}

// Jira raises each incident as one Jira issue (REST API v2), labelled with
// its fingerprint and found again by JQL so that it is never created
// twice.
type Jira struct {
	URL string `yaml:"url"`
	// User with the token: basic auth (Jira Cloud: e-mail and API token);
	// no user: the token is a bearer personal access token (Data Center).
	User      string          `yaml:"user"`
	Token     yamlconf.Secret `yaml:"token"`
	TokenFile string          `yaml:"token_file"`
	Project   string          `yaml:"project"`    // key
	IssueType string          `yaml:"issue_type"` // default Task
	// Priorities maps P1-P4 to Jira priority names (default Highest,
	// High, Medium, Low).
	Priorities map[string]string `yaml:"priorities"`
	// Statuses the resolved, closed and reopened transitions lead to
	// (default Done, Done, To Do).
	ResolvedStatus string            `yaml:"resolved_status"`
	ClosedStatus   string            `yaml:"closed_status"`
	ReopenedStatus string            `yaml:"reopened_status"`
	Timeout        yamlconf.Duration `yaml:"timeout"`
	// SyncInterval reads linked issues back, as for Redmine (default 1m;
	// 0s: off).
	SyncInterval *yamlconf.Duration `yaml:"sync_interval"`
}

// ServiceNow raises each incident as one ServiceNow incident (Table API),
// found again by correlation_id so that it is never created twice.
type ServiceNow struct {
	// URL is the instance, https://<name>.service-now.com.
	URL          string          `yaml:"url"`
	User         string          `yaml:"user"`
	Password     yamlconf.Secret `yaml:"password"`
	PasswordFile string          `yaml:"password_file"`
	// AssignmentGroup of new incidents (sys_id or name); empty: none.
	AssignmentGroup string `yaml:"assignment_group"`
	// CloseCode given on resolution (default "Solved (Permanently)").
	CloseCode string            `yaml:"close_code"`
	Timeout   yamlconf.Duration `yaml:"timeout"`
	// SyncInterval reads linked incidents back, as for Redmine (default
	// 1m; 0s: off).
	SyncInterval *yamlconf.Duration `yaml:"sync_interval"`
}

// Redmine raises each incident as one Redmine issue (REST API), found
// again by a fingerprint custom field so that it is never created twice.
type Redmine struct {
	// URL is Redmine's base URL.
	URL        string          `yaml:"url"`
	APIKey     yamlconf.Secret `yaml:"api_key"`
	APIKeyFile string          `yaml:"api_key_file"`
	// Project is the project's identifier.
	Project string `yaml:"project"`
	// FingerprintField is an issue custom field (text, used as a filter)
	// Nines keeps its incident fingerprint in. Default "Alert fingerprint".
	FingerprintField string `yaml:"fingerprint_field"`
	// Priorities maps P1-P4 to Redmine priority names (default Immediate,
	// Urgent, High, Normal).
	Priorities map[string]string `yaml:"priorities"`
	// Statuses for resolved, closed and reopened incidents (default
	// Resolved, Closed, New).
	ResolvedStatus string            `yaml:"resolved_status"`
	ClosedStatus   string            `yaml:"closed_status"`
	ReopenedStatus string            `yaml:"reopened_status"`
	Timeout        yamlconf.Duration `yaml:"timeout"`
	// SyncInterval is how often linked issues are read back: closed in
	// Redmine resolves the incident, assigned or in progress acknowledges
	// it, and an issue left open for a resolved incident is resolved
	// (default 1m; 0 turns it off).
	SyncInterval *yamlconf.Duration `yaml:"sync_interval"`
}

// PagerDuty sends to a PagerDuty service through the Events API v2.
type PagerDuty struct {
	// RoutingKeyFile holds the service's integration (routing) key.
	RoutingKey     yamlconf.Secret   `yaml:"routing_key"`
	RoutingKeyFile string            `yaml:"routing_key_file"`
	URL            string            `yaml:"url"` // default: PagerDuty's events endpoint
	Timeout        yamlconf.Duration `yaml:"timeout"`
}

// Alertmanager sends to Prometheus Alertmanager: its webhook format
// (mode webhook, version 4) to any URL, or alerts pushed to an
// Alertmanager's v2 API (mode api, URL its base).
type Alertmanager struct {
	URL             string            `yaml:"url"`
	Mode            string            `yaml:"mode"`
	BearerTokenFile string            `yaml:"bearer_token_file"`
	Timeout         yamlconf.Duration `yaml:"timeout"`
	// ExternalURL links alerts back to Nines.
	ExternalURL string `yaml:"external_url"`

	BearerToken yamlconf.Secret `yaml:"-"`
}

// Webhook posts signed JSON (see alerting/notify/webhook).
type Webhook struct {
	URL        string            `yaml:"url"`
	Secret     yamlconf.Secret   `yaml:"secret"`
	SecretFile string            `yaml:"secret_file"`
	Timeout    yamlconf.Duration `yaml:"timeout"`
	// Template, when set, is a Go text/template that makes the body from
	// the payload ({{.Event.Action}}, {{.Incident.Title}}, {{json ...}}),
	// sent as ContentType (default application/json).
	Template    string `yaml:"template"`
	ContentType string `yaml:"content_type"`
}

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

// SNMP holds settings for all devices.
type SNMP struct {
	// MaxConcurrentPolls bounds how many devices are polled at once.
	MaxConcurrentPolls int `yaml:"max_concurrent_polls"`
	// Traps, when set, receives traps and informs.
	Traps *Traps `yaml:"traps"`
	// Credentials are named profiles devices share (credentials: name).
	Credentials []SNMPCredentials `yaml:"credentials"`
	// Modules are custom modules: scalars and tables by OID.
	Modules []SNMPModule `yaml:"modules"`
}

// SNMPCredentials is a named set of SNMP credentials.
type SNMPCredentials struct {
	Name          string          `yaml:"name"`
	Version       string          `yaml:"version"`
	Community     yamlconf.Secret `yaml:"community"`
	CommunityFile string          `yaml:"community_file"`
	V3            DeviceV3        `yaml:"v3"`
}

// SNMPModule is a custom module: objects by OID, named as the MIB does.
type SNMPModule struct {
	Name    string       `yaml:"name"`
	Scalars []SNMPObject `yaml:"scalars"`
	Tables  []SNMPTable  `yaml:"tables"`
}

// SNMPObject is a scalar (its instance OID, ending in .0) or a table
// column (its number under the table's entry).
type SNMPObject struct {
	OID    string `yaml:"oid"`
	Metric string `yaml:"metric"`
	// Type is gauge (default) or counter (rules take rate() of it; a
	// wrap or a device reboot reads as a reset).
	Type string `yaml:"type"`
}

// SNMPTable is a table read by walking its entry.
type SNMPTable struct {
	Entry string `yaml:"entry"`
	// Indexes name the parts of the row index; one name takes it whole.
	Indexes []string     `yaml:"indexes"`
	Columns []SNMPObject `yaml:"columns"`
	// Labels are text columns that label the row's samples.
	Labels []SNMPLabel `yaml:"labels"`
}

// SNMPLabel is a text column that becomes a label.
type SNMPLabel struct {
	OID   string `yaml:"oid"`
	Label string `yaml:"label"`
}

// BuiltinSNMPModules are the modules Nines has by itself.
var BuiltinSNMPModules = []string{"system", "if_mib", "host_resources", "ups", "printer"}

// Traps configures the trap receiver.
type Traps struct {
	// ListenAddress is host:port (UDP); 162 needs privileges or
	// CAP_NET_BIND_SERVICE.
	ListenAddress string `yaml:"listen_address"`
	// Communities accepted for v1 and v2c traps (secrets).
	Communities []yamlconf.Secret `yaml:"communities"`
	// V3 is the accepted v3 user (same keys as a device's v3).
	V3 *DeviceV3 `yaml:"v3"`
	// AllowUnknownSources accepts traps from addresses that are not
	// configured devices (named by their address); otherwise they are
	// counted and dropped.
	AllowUnknownSources bool `yaml:"allow_unknown_sources"`
}

// Device is a network device polled over SNMP.
type Device struct {
	Name string `yaml:"name"`
	// Address is host or host:port (default port 161).
	Address string `yaml:"address"`
	// Version is 1, 2c (default) or 3.
	Version       string            `yaml:"version"`
	Community     yamlconf.Secret   `yaml:"community"`
	CommunityFile string            `yaml:"community_file"`
	V3            DeviceV3          `yaml:"v3"`
	Timeout       yamlconf.Duration `yaml:"timeout"`
	Retries       int               `yaml:"retries"`
	// MaxRepetitions for GETBULK (default 25).
	MaxRepetitions uint32            `yaml:"max_repetitions"`
	Interval       yamlconf.Duration `yaml:"interval"`
	Labels         map[string]string `yaml:"labels"`
	// Modules to read: system (always), if_mib, host_resources, ups,
	// printer, or a custom module's name.
	Modules []string `yaml:"modules"`
	// Credentials names a profile in snmp.credentials: its version,
	// community and v3 settings apply where the device sets none.
	Credentials string `yaml:"credentials"`
	// Interfaces selects and monitors interfaces (if_mib).
	Interfaces DeviceInterfaces `yaml:"interfaces"`
}

// DeviceInterfaces selects a device's interfaces. Patterns are regular
// expressions (anchored) matched against ifName, ifDescr and ifAlias.
type DeviceInterfaces struct {
	// Include keeps only matching interfaces (empty: all); Exclude drops
	// matching ones; Types keeps only these ifType numbers (6
	// ethernetCsmacd, 117 gigabitEthernet, 24 softwareLoopback...).
	Include []string `yaml:"include"`
	Exclude []string `yaml:"exclude"`
	Types   []int    `yaml:"types"`
	// Monitor makes matching interfaces targets of their own
	// ("<device>/<ifName>"): UP or DOWN from ifOperStatus, SHUTDOWN while
	// administratively down (not an outage).
	Monitor []string `yaml:"monitor"`
}

// Regexps compiles patterns anchored (validated).
func Regexps(patterns []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		if re, err := regexp.Compile("^(?:" + p + ")$"); err == nil {
			out = append(out, re)
		}
	}
	return out
}

// DeviceV3 holds SNMPv3 user-based security.
type DeviceV3 struct {
	Username string `yaml:"username"`
	// SecurityLevel is noAuthNoPriv, authNoPriv or authPriv.
	SecurityLevel      string          `yaml:"security_level"`
	AuthProtocol       string          `yaml:"auth_protocol"`
	AuthPassphrase     yamlconf.Secret `yaml:"auth_passphrase"`
	AuthPassphraseFile string          `yaml:"auth_passphrase_file"`
	PrivProtocol       string          `yaml:"priv_protocol"`
	PrivPassphrase     yamlconf.Secret `yaml:"priv_passphrase"`
	PrivPassphraseFile string          `yaml:"priv_passphrase_file"`
	// AllowInsecure permits MD5 and DES, which are broken.
	AllowInsecure bool `yaml:"allow_insecure"`
}

// Forward sends everything ingested on to long-term storage.
type Forward struct {
	RemoteWrite *RemoteWrite `yaml:"remote_write"`
}

// RemoteWrite is a Prometheus remote-write receiver.
type RemoteWrite struct {
	URL             string            `yaml:"url"`
	BearerTokenFile string            `yaml:"bearer_token_file"`
	QueueSize       int               `yaml:"queue_size"`
	BatchSize       int               `yaml:"batch_size"`
	FlushInterval   yamlconf.Duration `yaml:"flush_interval"`
	Timeout         yamlconf.Duration `yaml:"timeout"`
	ExternalLabels  map[string]string `yaml:"external_labels"`

	// BearerToken is read from BearerTokenFile by Resolve.
	BearerToken yamlconf.Secret `yaml:"-"`
}

// Rules names rule files and how often their groups run by default.
type Rules struct {
	Files              []string          `yaml:"files"`
	EvaluationInterval yamlconf.Duration `yaml:"evaluation_interval"`
	// OutageTolerance: pending and firing alerts survive a collector
	// restart when it was away no longer than this.
	OutageTolerance yamlconf.Duration `yaml:"outage_tolerance"`
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

var jiraKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

// Default returns the configuration used for keys the file leaves out.
func Default() *Config {
	return &Config{
		Web: Web{ListenAddress: ":9990", Wall: Wall{GroupBy: "site", SessionTTL: yamlconf.Duration(12 * time.Hour)}},
		Storage: Storage{
			Path:             "data/nines.db",
			SamplesRetention: yamlconf.Duration(time.Hour),
			MaxSeries:        2_000_000,
		},
		Ingest: Ingest{MaxBodyBytes: 32 << 20, MaxLineBytes: 64 << 10, MaxSeriesPerTarget: 20_000, MaxConcurrentRequests: 64},
		Availability: Availability{
			DownAfterIntervals:  3,
			DefaultPushInterval: yamlconf.Duration(15 * time.Second),
			CheckInterval:       yamlconf.Duration(time.Second),
			CheckFailures:       2,
		},
		Inventory: Inventory{AutoRegister: true},
		SNMP:      SNMP{MaxConcurrentPolls: 64},
		Rules:     Rules{EvaluationInterval: yamlconf.Duration(15 * time.Second), OutageTolerance: yamlconf.Duration(time.Hour)},
	}
}

// Load parses a configuration without touching the file system.
func Load(file string, data []byte) (*Config, error) {
	c := Default()
	if err := yamlconf.Decode(file, data, c); err != nil {
		return nil, err
	}
	if c.Availability.StartupGrace == 0 {
		c.Availability.StartupGrace = 2 * c.Availability.DefaultPushInterval
	}
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
		return nil, err
	}
	return c, nil
}

// Resolve makes paths absolute against dir, hashes token files and loads
// rule files.
func (c *Config) Resolve(dir string) error {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	var errs []error
	c.Storage.Path = abs(c.Storage.Path)
	c.Web.TLSCertFile, c.Web.TLSKeyFile = abs(c.Web.TLSCertFile), abs(c.Web.TLSKeyFile)
	if mr := c.Reports.Monthly; mr != nil {
		mr.Directory = abs(mr.Directory)
	}
	for i := range c.Checks {
		c.Checks[i].HTTP.CAFile = abs(c.Checks[i].HTTP.CAFile)
	}
	// secretFile reads a *_file secret into its value, naming where it
	// belongs in the error.
	secretFile := func(val *yamlconf.Secret, file *string, key, where string) {
		if *file == "" {
			return
		}
		*file = abs(*file)
		v, err := yamlconf.ResolveSecret("", *file, key)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			return
		}
		*val = v
	}
	for i := range c.Receivers {
		r := &c.Receivers[i]
		where := fmt.Sprintf("receivers[%d] (%s)", i, r.Name)
		if pd := r.PagerDuty; pd != nil {
			secretFile(&pd.RoutingKey, &pd.RoutingKeyFile, "routing_key", where)
		}
		if am := r.Alertmanager; am != nil {
			secretFile(&am.BearerToken, &am.BearerTokenFile, "bearer_token", where)
		}
		if w := r.Webhook; w != nil {
			secretFile(&w.Secret, &w.SecretFile, "secret", where)
		}
		if rm := r.Redmine; rm != nil {
			secretFile(&rm.APIKey, &rm.APIKeyFile, "api_key", where)
		}
		if sn := r.ServiceNow; sn != nil {
			secretFile(&sn.Password, &sn.PasswordFile, "password", where)
		}
		if j := r.Jira; j != nil {
			secretFile(&j.Token, &j.TokenFile, "token", where)
		}
		if e := r.Email; e != nil && e.PasswordFile != "" {
			secretFile(&e.Password, &e.PasswordFile, "password", where)
		}
	}
	for i := range c.Devices {
		d := &c.Devices[i]
		where := fmt.Sprintf("devices[%d] (%s)", i, d.Name)
		secretFile(&d.Community, &d.CommunityFile, "community", where)
		secretFile(&d.V3.AuthPassphrase, &d.V3.AuthPassphraseFile, "auth_passphrase", where)
		secretFile(&d.V3.PrivPassphrase, &d.V3.PrivPassphraseFile, "priv_passphrase", where)
	}
	if rw := c.Forward.RemoteWrite; rw != nil {
		secretFile(&rw.BearerToken, &rw.BearerTokenFile, "bearer_token", "forward.remote_write")
	}
	for i := range c.Auth.Tokens {
		t := &c.Auth.Tokens[i]
		if t.TokenFile != "" {
			t.TokenFile = abs(t.TokenFile)
			sec, err := yamlconf.ResolveSecret("", t.TokenFile, "token")
			if err != nil {
				errs = append(errs, fmt.Errorf("auth.tokens[%d] (%s): %w", i, t.Name, err))
				continue
			}
			t.Hash = sha256.Sum256([]byte(sec.Reveal()))
		} else {
			b, _ := hex.DecodeString(t.TokenSHA256) // checked by Validate
			copy(t.Hash[:], b)
		}
	}
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
	return errors.Join(errs...)
}

// Validate checks the decoded configuration; see yamlconf.Validator.
func (c *Config) Validate(p *yamlconf.Problems) {
	if _, _, err := net.SplitHostPort(c.Web.ListenAddress); err != nil {
		p.Addf("web.listen_address", "%v", err)
	}
	if (c.Web.TLSCertFile == "") != (c.Web.TLSKeyFile == "") {
		p.Addf("web", "tls_cert_file and tls_key_file must be set together")
	}
	if c.Web.Wall.GroupBy == "" || !labelNameRE.MatchString(c.Web.Wall.GroupBy) {
		p.Addf("web.wall.group_by", "want a label name, got %q", c.Web.Wall.GroupBy)
	}
	if c.Web.Wall.SessionTTL.D() < time.Minute {
		p.Addf("web.wall.session_ttl", "want at least 1m, got %s", c.Web.Wall.SessionTTL.D())
	}
	if c.Storage.Path == "" {
		p.Addf("storage.path", "must not be empty")
	}
	if c.Storage.SamplesRetention.D() < time.Minute {
		p.Addf("storage.samples_retention", "must be at least 1m, got %s", c.Storage.SamplesRetention)
	}
	if c.Storage.MaxSeries < 1 {
		p.Addf("storage.max_series", "must be at least 1")
	}
	names := map[string]bool{}
	for i, t := range c.Auth.Tokens {
		tp := fmt.Sprintf("auth.tokens[%d]", i)
		p.Name(names, tp, "token", t.Name)
		switch t.Role {
		case RoleAgent, RoleViewer, RoleOperator, RoleAdmin:
		default:
			p.Addf(tp+".role", "unknown role %q (want agent, viewer, operator or admin)", t.Role)
		}
		switch {
		case t.TokenSHA256 != "" && t.TokenFile != "":
			p.Addf(tp, "at most one of token_sha256 & token_file must be configured")
		case t.TokenSHA256 == "" && t.TokenFile == "":
			p.Addf(tp, "one of token_sha256 or token_file must be set")
		case t.TokenSHA256 != "":
			if b, err := hex.DecodeString(t.TokenSHA256); err != nil || len(b) != sha256.Size {
				p.Addf(tp+".token_sha256", "must be 64 hex digits (sha256sum of the token)")
			}
		}
	}
	if c.Ingest.MaxBodyBytes < 1024 {
		p.Addf("ingest.max_body_bytes", "must be at least 1024")
	}
	if c.Ingest.MaxLineBytes < 256 {
		p.Addf("ingest.max_line_bytes", "must be at least 256")
	}
	if c.Ingest.MaxSeriesPerTarget < 1 {
		p.Addf("ingest.max_series_per_target", "must be at least 1")
	}
	if c.Ingest.MaxConcurrentRequests < 1 {
		p.Addf("ingest.max_concurrent_requests", "must be at least 1")
	}
	a := c.Availability
	if a.DownAfterIntervals < 1 {
		p.Addf("availability.down_after_intervals", "must be at least 1")
	}
	if a.DefaultPushInterval.D() <= 0 {
		p.Addf("availability.default_push_interval", "must be positive")
	}
	if a.StartupGrace < 0 {
		p.Addf("availability.startup_grace", "must not be negative")
	}
	if a.CheckFailures < 1 {
		p.Addf("availability.check_failures", "must be at least 1")
	}
	if a.CheckInterval.D() < 10*time.Millisecond {
		p.Addf("availability.check_interval", "must be at least 10ms")
	}
	seenHosts := map[string]bool{}
	for i, h := range c.Inventory.Hosts {
		hp := fmt.Sprintf("inventory.hosts[%d]", i)
		p.Name(seenHosts, hp, "host", h.Name)
		for k := range h.Labels {
			if !labelNameRE.MatchString(k) || k == "host" || k == "target" || k == "kind" {
				p.Addf(hp+".labels."+k, "invalid or reserved label name %q", k)
			}
		}
	}
	for i, a := range c.Inventory.Allow {
		if _, err := regexp.Compile(a); err != nil {
			p.Addf(fmt.Sprintf("inventory.allow[%d]", i), "invalid regular expression: %v", err)
		}
	}
	c.validateChecks(p)
	c.validateCalendars(p)
	c.validateServices(p)
	c.validateDevices(p)
	if tr := c.SNMP.Traps; tr != nil {
		if _, _, err := net.SplitHostPort(tr.ListenAddress); err != nil {
			p.Addf("snmp.traps.listen_address", "%v", err)
		}
		if len(tr.Communities) == 0 && tr.V3 == nil {
			p.Addf("snmp.traps", "accept some traps: set communities, v3 or both")
		}
	}
	for pr, tg := range c.Incidents.Targets {
		ip := "incidents.targets." + pr
		switch pr {
		case "P1", "P2", "P3", "P4":
		default:
			p.Addf(ip, "unknown priority %q (want P1, P2, P3 or P4)", pr)
		}
		if tg.Respond <= 0 || tg.Resolve <= 0 || tg.Respond > tg.Resolve {
			p.Addf(ip, "want 0 < respond <= resolve")
		}
	}
	receiverNames := map[string]bool{}
	for i, r := range c.Receivers {
		rp := fmt.Sprintf("receivers[%d]", i)
		p.Name(receiverNames, rp, "receiver", r.Name)
		kinds := 0
		for _, set := range []bool{r.Webhook != nil, r.Alertmanager != nil, r.PagerDuty != nil, r.Redmine != nil, r.ServiceNow != nil, r.Jira != nil, r.Email != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			p.Addf(rp, "receiver %q: set exactly one of webhook, alertmanager, pagerduty, redmine, servicenow, jira and email", r.Name)
			continue
		}
		if e := r.Email; e != nil {
			if _, _, err := net.SplitHostPort(e.SMTP); err != nil {
				p.Addf(rp+".email.smtp", "receiver %q: want host:port, got %q", r.Name, e.SMTP)
			}
			if _, err := mail.ParseAddress(e.From); err != nil {
				p.Addf(rp+".email.from", "receiver %q: %v", r.Name, err)
			}
			if len(e.To) == 0 {
				p.Addf(rp+".email.to", "receiver %q: at least one recipient", r.Name)
			}
			for j, to := range e.To {
				if _, err := mail.ParseAddress(to); err != nil {
					p.Addf(fmt.Sprintf("%s.email.to[%d]", rp, j), "receiver %q: %v", r.Name, err)
				}
			}
			if e.Password != "" && e.PasswordFile != "" {
				p.Addf(rp+".email", "receiver %q: set password or password_file, not both", r.Name)
			}
			switch e.TLS {
			case "", "starttls", "tls", "none":
			default:
				p.Addf(rp+".email.tls", "receiver %q: want starttls, tls or none, got %q", r.Name, e.TLS)
			}
			continue
		}
		if j := r.Jira; j != nil {
			u, err := url.Parse(j.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Addf(rp+".jira.url", "receiver %q: want an http:// or https:// URL", r.Name)
			}
			if (j.Token == "") == (j.TokenFile == "") {
				p.Addf(rp+".jira", "receiver %q: exactly one of token & token_file must be configured", r.Name)
			}
			if !jiraKeyRE.MatchString(j.Project) {
				p.Addf(rp+".jira.project", "receiver %q: want a project key such as OPS, got %q", r.Name, j.Project)
			}
			if j.Priorities == nil {
				j.Priorities = map[string]string{"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
			}
			j.SyncInterval = defaultSync(j.SyncInterval)
			continue
		}
		if sn := r.ServiceNow; sn != nil {
			u, err := url.Parse(sn.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Addf(rp+".servicenow.url", "receiver %q: want an http:// or https:// URL", r.Name)
			}
			if sn.User == "" {
				p.Addf(rp+".servicenow.user", "receiver %q: the user must be set", r.Name)
			}
			if (sn.Password == "") == (sn.PasswordFile == "") {
				p.Addf(rp+".servicenow", "receiver %q: exactly one of password & password_file must be configured", r.Name)
			}
			sn.SyncInterval = defaultSync(sn.SyncInterval)
			continue
		}
		if rm := r.Redmine; rm != nil {
			u, err := url.Parse(rm.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Addf(rp+".redmine.url", "receiver %q: want an http:// or https:// URL", r.Name)
			}
			if (rm.APIKey == "") == (rm.APIKeyFile == "") {
				p.Addf(rp+".redmine", "receiver %q: exactly one of api_key & api_key_file must be configured", r.Name)
			}
			if rm.Project == "" {
				p.Addf(rp+".redmine.project", "receiver %q: the project identifier must be set", r.Name)
			}
			if rm.FingerprintField == "" {
				rm.FingerprintField = "Alert fingerprint"
			}
			if rm.Priorities == nil {
				rm.Priorities = map[string]string{"P1": "Immediate", "P2": "Urgent", "P3": "High", "P4": "Normal"}
			}
			for k := range rm.Priorities {
				if !slices.Contains([]string{"P1", "P2", "P3", "P4"}, k) {
					p.Addf(rp+".redmine.priorities."+k, "receiver %q: want P1 to P4", r.Name)
				}
			}
			rm.ResolvedStatus = cmp.Or(rm.ResolvedStatus, "Resolved")
			rm.ClosedStatus = cmp.Or(rm.ClosedStatus, "Closed")
			rm.ReopenedStatus = cmp.Or(rm.ReopenedStatus, "New")
			rm.SyncInterval = defaultSync(rm.SyncInterval)
			continue
		}
		if pd := r.PagerDuty; pd != nil {
			if (pd.RoutingKey == "") == (pd.RoutingKeyFile == "") {
				p.Addf(rp+".pagerduty", "receiver %q: exactly one of routing_key & routing_key_file must be configured", r.Name)
			}
			continue
		}
		if am := r.Alertmanager; am != nil {
			u, err := url.Parse(am.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.Addf(rp+".alertmanager.url", "receiver %q: want an http:// or https:// URL", r.Name)
			}
			if am.Mode == "" {
				am.Mode = "webhook"
			}
			if am.Mode != "webhook" && am.Mode != "api" {
				p.Addf(rp+".alertmanager.mode", "receiver %q: want webhook or api, got %q", r.Name, am.Mode)
			}
			continue
		}
		u, err := url.Parse(r.Webhook.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.Addf(rp+".webhook.url", "receiver %q: want an http:// or https:// URL", r.Name)
		}
		if r.Webhook.Template != "" {
			if _, err := webhook.ParseTemplate(r.Name, r.Webhook.Template); err != nil {
				p.Addf(rp+".webhook.template", "receiver %q: %v", r.Name, err)
			}
		}
		if (r.Webhook.Secret == "") == (r.Webhook.SecretFile == "") {
			p.Addf(rp+".webhook", "receiver %q: exactly one of secret & secret_file must be configured", r.Name)
		}
	}
	if mr := c.Reports.Monthly; mr != nil {
		if mr.Directory == "" {
			p.Addf("reports.monthly.directory", "must be set")
		}
		if len(mr.Formats) == 0 {
			mr.Formats = []string{"html", "csv"}
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
		if mr.Email != "" {
			found := false
			for _, r := range c.Receivers {
				found = found || (r.Name == mr.Email && r.Email != nil)
			}
			if !found {
				p.Addf("reports.monthly.email", "%q is not an email receiver", mr.Email)
			}
		}
	}
	for i, rt := range c.Routes {
		rp := fmt.Sprintf("routes[%d]", i)
		if !receiverNames[rt.Receiver] {
			p.Addf(rp+".receiver", "unknown receiver %q", rt.Receiver)
		}
		if rt.Schedule != "" && c.Calendar(rt.Schedule) == nil {
			p.Addf(rp+".schedule", "unknown calendar %q", rt.Schedule)
		}
		for j, pr := range rt.Priorities {
			if !slices.Contains([]string{"P1", "P2", "P3", "P4"}, pr) {
				p.Addf(fmt.Sprintf("%s.priorities[%d]", rp, j), "want P1 to P4, got %q", pr)
			}
		}
	}
	for child, parents := range c.Dependencies {
		if slices.Contains(parents, child) {
			p.Addf("dependencies."+child, "target %q cannot depend on itself", child)
		}
	}
	if n := c.Incidents.NearBreach; n < 0 || n >= 1 {
		p.Addf("incidents.near_breach", "must be between 0 and 1 (0.8 is 80 %%)")
	}
	for i := range c.Maintenance {
		m := &c.Maintenance[i]
		mp := fmt.Sprintf("maintenance[%d]", i)
		if m.Name == "" {
			p.Addf(mp, "name must be set")
		}
		if len(m.Targets) == 0 && len(m.Selector) == 0 && len(m.Services) == 0 {
			p.Addf(mp, "window %q: set targets, a selector or services", m.Name)
		}
		for j, sv := range m.Services {
			if c.Service(sv) == nil {
				p.Addf(fmt.Sprintf("%s.services[%d]", mp, j), "window %q: unknown service %q", m.Name, sv)
			}
		}
		if m.Schedule != "" {
			if m.Start != "" || m.End != "" {
				p.Addf(mp, "window %q: a recurring window (schedule) has no start and end", m.Name)
			}
			if c.Calendar(m.Schedule) == nil {
				p.Addf(mp+".schedule", "window %q: unknown calendar %q", m.Name, m.Schedule)
			}
			continue
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
	if rw := c.Forward.RemoteWrite; rw != nil {
		u, err := url.Parse(rw.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.Addf("forward.remote_write.url", "want an http:// or https:// URL, got %q", rw.URL)
		}
		if rw.QueueSize == 0 {
			rw.QueueSize = 1_000_000
		}
		if rw.BatchSize == 0 {
			rw.BatchSize = 5000
		}
		if rw.FlushInterval == 0 {
			rw.FlushInterval = yamlconf.Duration(time.Second)
		}
		if rw.Timeout == 0 {
			rw.Timeout = yamlconf.Duration(30 * time.Second)
		}
		if rw.QueueSize < rw.BatchSize || rw.BatchSize < 1 {
			p.Addf("forward.remote_write", "batch_size must be at least 1 and no larger than queue_size")
		}
		for k := range rw.ExternalLabels {
			if !labelNameRE.MatchString(k) {
				p.Addf("forward.remote_write.external_labels."+k, "invalid label name %q", k)
			}
		}
	}
	if c.Rules.EvaluationInterval.D() < 10*time.Millisecond {
		p.Addf("rules.evaluation_interval", "must be at least 10ms")
	}
}

func (c *Config) validateChecks(p *yamlconf.Problems) {
	names := map[string]bool{}
	for _, h := range c.Inventory.Hosts {
		names[h.Name] = true
	}
	for i := range c.Checks {
		path := fmt.Sprintf("checks[%d]", i)
		if n := c.Checks[i].Name; n != "" && names[n] {
			p.Addf(path+".name", "name %q is already used by another check or host", n)
		}
		names[c.Checks[i].Name] = true
		c.Checks[i].Validate(p, path)
	}
}

func (c *Config) validateServices(p *yamlconf.Problems) {
	byName := map[string]*Service{}
	serviceNames := map[string]bool{}
	for i := range c.Services {
		sv := &c.Services[i]
		sp := fmt.Sprintf("services[%d]", i)
		p.Name(serviceNames, sp, "service", sv.Name)
		byName[sv.Name] = sv
		if sv.Combine == "" {
			sv.Combine = "all"
		}
		if sv.Objective == 0 {
			sv.Objective = 99.9
		}
		switch sv.Criticality {
		case "":
			sv.Criticality = "medium"
		case "critical", "high", "medium", "low":
		default:
			p.Addf(sp+".criticality", "service %q: want critical, high, medium or low, got %q", sv.Name, sv.Criticality)
		}
		if sv.Objective <= 0 || sv.Objective >= 100 {
			p.Addf(sp+".objective", "service %q: objective must be a percentage between 0 and 100", sv.Name)
		}
		if sv.Schedule != "" && c.Calendar(sv.Schedule) == nil {
			p.Addf(sp+".schedule", "service %q: unknown calendar %q", sv.Name, sv.Schedule)
		}
		switch sv.NoData {
		case "":
			sv.NoData = "exclude"
		case "exclude", "down", "up":
		default:
			p.Addf(sp+".no_data", "service %q: unknown policy %q (want exclude, down or up)", sv.Name, sv.NoData)
		}
		n := len(sv.Components.Targets) + len(sv.Components.Services)
		switch sv.Combine {
		case "all", "any":
		case "k_of_n":
			if sv.K < 1 || (len(sv.Components.Selector) == 0 && sv.K > n) {
				p.Addf(sp+".k", "service %q: k must be between 1 and the number of components (%d)", sv.Name, n)
			}
		default:
			p.Addf(sp+".combine", "service %q: unknown combine %q (want all, any or k_of_n)", sv.Name, sv.Combine)
		}
		if n == 0 && len(sv.Components.Selector) == 0 {
			p.Addf(sp+".components", "service %q: needs at least one component", sv.Name)
		}
	}
	for i, sv := range c.Services {
		for j, dep := range sv.Components.Services {
			if byName[dep] == nil {
				p.Addf(fmt.Sprintf("services[%d].components.services[%d]", i, j), "service %q: unknown service %q", sv.Name, dep)
			}
		}
	}
	// No service may contain itself, however indirectly: a depth-first
	// walk reports each cycle it closes.
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
	for _, sv := range c.Services {
		if color[sv.Name] == 0 && sv.Name != "" {
			visit(sv.Name)
		}
	}
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

func (c *Config) validateDevices(p *yamlconf.Problems) {
	names := map[string]bool{}
	for _, h := range c.Inventory.Hosts {
		names[h.Name] = true
	}
	for _, ch := range c.Checks {
		names[ch.Name] = true
	}
	if c.SNMP.MaxConcurrentPolls < 1 {
		p.Addf("snmp.max_concurrent_polls", "must be at least 1")
	}
	profiles, custom := c.validateSNMPShared(p)
	for i := range c.Devices {
		d := &c.Devices[i]
		dp := fmt.Sprintf("devices[%d]", i)
		if d.Credentials != "" {
			cr, ok := profiles[d.Credentials]
			if !ok {
				p.Addf(dp+".credentials", "device %q: unknown credentials %q", d.Name, d.Credentials)
			} else {
				if d.Version == "" {
					d.Version = cr.Version
				}
				if d.Community == "" && d.CommunityFile == "" {
					d.Community, d.CommunityFile = cr.Community, cr.CommunityFile
				}
				if d.V3 == (DeviceV3{}) {
					d.V3 = cr.V3
				}
			}
		}
		if d.Name == "" {
			p.Addf(dp, "name must be set")
		} else if names[d.Name] {
			p.Addf(dp+".name", "name %q is already used by another target", d.Name)
		}
		names[d.Name] = true
		if d.Address == "" {
			p.Addf(dp, "device %q: address must be set", d.Name)
		}
		if d.Version == "" {
			d.Version = "2c"
		}
		if d.Interval == 0 {
			d.Interval = yamlconf.Duration(time.Minute)
		}
		if d.Timeout == 0 {
			d.Timeout = yamlconf.Duration(min(5*time.Second, d.Interval.D()/4))
		}
		if d.MaxRepetitions == 0 {
			d.MaxRepetitions = 25
		}
		if len(d.Modules) == 0 {
			d.Modules = []string{"system", "if_mib"}
		}
		if !slices.Contains(d.Modules, "system") {
			d.Modules = append([]string{"system"}, d.Modules...)
		}
		for field, pats := range map[string][]string{"include": d.Interfaces.Include, "exclude": d.Interfaces.Exclude, "monitor": d.Interfaces.Monitor} {
			for j, pat := range pats {
				if _, err := regexp.Compile("^(?:" + pat + ")$"); err != nil {
					p.Addf(fmt.Sprintf("%s.interfaces.%s[%d]", dp, field, j), "device %q: %v", d.Name, err)
				}
			}
		}
		for j, m := range d.Modules {
			if !slices.Contains(BuiltinSNMPModules, m) && !custom[m] {
				p.Addf(fmt.Sprintf("%s.modules[%d]", dp, j), "device %q: unknown module %q (want %s, or one of snmp.modules)", d.Name, m, strings.Join(BuiltinSNMPModules, ", "))
			}
		}
		if d.Interval.D() < time.Second {
			p.Addf(dp+".interval", "device %q: must be at least 1s", d.Name)
		}
		if d.Timeout.D()*time.Duration(d.Retries+1) >= d.Interval.D() {
			p.Addf(dp+".timeout", "device %q: timeout x (retries+1) must be shorter than the interval", d.Name)
		}
		switch d.Version {
		case "1", "2c":
			if (d.Community == "") == (d.CommunityFile == "") {
				p.Addf(dp, "device %q: exactly one of community & community_file must be configured", d.Name)
			}
		case "3":
			v3 := d.V3
			if v3.Username == "" {
				p.Addf(dp+".v3.username", "device %q: must be set", d.Name)
			}
			level := v3.SecurityLevel
			switch level {
			case "noAuthNoPriv", "authNoPriv", "authPriv":
			default:
				p.Addf(dp+".v3.security_level", "device %q: want noAuthNoPriv, authNoPriv or authPriv, got %q", d.Name, level)
			}
			if level == "authNoPriv" || level == "authPriv" {
				switch strings.ToUpper(v3.AuthProtocol) {
				case "SHA", "SHA224", "SHA256", "SHA384", "SHA512":
				case "MD5":
					if !v3.AllowInsecure {
						p.Addf(dp+".v3.auth_protocol", "device %q: MD5 is broken; set allow_insecure: true to use it anyway", d.Name)
					}
				default:
					p.Addf(dp+".v3.auth_protocol", "device %q: unknown auth protocol %q", d.Name, v3.AuthProtocol)
				}
				if (v3.AuthPassphrase == "") == (v3.AuthPassphraseFile == "") {
					p.Addf(dp+".v3", "device %q: exactly one of auth_passphrase & auth_passphrase_file must be configured", d.Name)
				}
			}
			if level == "authPriv" {
				switch strings.ToUpper(v3.PrivProtocol) {
				case "AES", "AES192", "AES256", "AES192C", "AES256C":
				case "DES":
					if !v3.AllowInsecure {
						p.Addf(dp+".v3.priv_protocol", "device %q: DES is broken; set allow_insecure: true to use it anyway", d.Name)
					}
				default:
					p.Addf(dp+".v3.priv_protocol", "device %q: unknown privacy protocol %q", d.Name, v3.PrivProtocol)
				}
				if (v3.PrivPassphrase == "") == (v3.PrivPassphraseFile == "") {
					p.Addf(dp+".v3", "device %q: exactly one of priv_passphrase & priv_passphrase_file must be configured", d.Name)
				}
			}
		default:
			p.Addf(dp+".version", "device %q: unknown SNMP version %q (want 1, 2c or 3)", d.Name, d.Version)
		}
	}
}

// ObjectiveRatio is the objective as a ratio (99.9 -> 0.999), rounded so
// that no binary-float residue shows in reports.
func (s *Service) ObjectiveRatio() float64 { return math.Round(s.Objective*1e4) / 1e6 }

// defaultSync is a two-way receiver's sync interval: 1m when not set.
func defaultSync(d *yamlconf.Duration) *yamlconf.Duration {
	if d == nil {
		v := yamlconf.Duration(time.Minute)
		return &v
	}
	return d
}

var (
	oidRE        = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)*$`)
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

// validateSNMPShared checks the credential profiles and custom modules
// and returns them by name.
func (c *Config) validateSNMPShared(p *yamlconf.Problems) (map[string]*SNMPCredentials, map[string]bool) {
	profiles := map[string]*SNMPCredentials{}
	for i := range c.SNMP.Credentials {
		cr := &c.SNMP.Credentials[i]
		cp := fmt.Sprintf("snmp.credentials[%d]", i)
		if cr.Name == "" || profiles[cr.Name] != nil {
			p.Addf(cp+".name", "want a unique name, got %q", cr.Name)
		}
		profiles[cr.Name] = cr
	}
	custom := map[string]bool{}
	for i := range c.SNMP.Modules {
		m := &c.SNMP.Modules[i]
		mp := fmt.Sprintf("snmp.modules[%d]", i)
		if m.Name == "" || custom[m.Name] || slices.Contains(BuiltinSNMPModules, m.Name) {
			p.Addf(mp+".name", "want a unique name that is not a built-in module, got %q", m.Name)
		}
		custom[m.Name] = true
		if len(m.Scalars) == 0 && len(m.Tables) == 0 {
			p.Addf(mp, "module %q: no scalars and no tables", m.Name)
		}
		object := func(path string, o *SNMPObject) {
			if !oidRE.MatchString(o.OID) {
				p.Addf(path+".oid", "module %q: want a numeric OID such as 1.3.6.1.2.1.1.3.0, got %q", m.Name, o.OID)
			}
			if !metricNameRE.MatchString(o.Metric) {
				p.Addf(path+".metric", "module %q: want a metric name, got %q", m.Name, o.Metric)
			}
			switch o.Type {
			case "":
				o.Type = "gauge"
			case "gauge", "counter":
			default:
				p.Addf(path+".type", "module %q: want gauge or counter, got %q", m.Name, o.Type)
			}
		}
		for j := range m.Scalars {
			object(fmt.Sprintf("%s.scalars[%d]", mp, j), &m.Scalars[j])
		}
		for j := range m.Tables {
			t := &m.Tables[j]
			tp := fmt.Sprintf("%s.tables[%d]", mp, j)
			if !oidRE.MatchString(t.Entry) {
				p.Addf(tp+".entry", "module %q: want the table entry's numeric OID, got %q", m.Name, t.Entry)
			}
			if len(t.Indexes) == 0 {
				t.Indexes = []string{"index"}
			}
			for k, ix := range t.Indexes {
				if !labelNameRE.MatchString(ix) {
					p.Addf(fmt.Sprintf("%s.indexes[%d]", tp, k), "module %q: want a label name, got %q", m.Name, ix)
				}
			}
			if len(t.Columns) == 0 {
				p.Addf(tp+".columns", "module %q: a table needs at least one numeric column", m.Name)
			}
			// A column is its number under the entry; its full OID
			// (entry.number) is taken too.
			column := func(path, oid string) string {
				n := strings.TrimPrefix(strings.TrimPrefix(oid, "."), strings.TrimPrefix(t.Entry, ".")+".")
				if _, err := strconv.ParseUint(n, 10, 32); err != nil {
					p.Addf(path+".oid", "module %q: want the column's number under the entry %s (such as 2), got %q", m.Name, t.Entry, oid)
					return oid
				}
				return n
			}
			for k := range t.Columns {
				path := fmt.Sprintf("%s.columns[%d]", tp, k)
				object(path, &t.Columns[k])
				t.Columns[k].OID = column(path, t.Columns[k].OID)
			}
			for k := range t.Labels {
				l := &t.Labels[k]
				path := fmt.Sprintf("%s.labels[%d]", tp, k)
				if !labelNameRE.MatchString(l.Label) {
					p.Addf(path+".label", "module %q: want a label name, got %q", m.Name, l.Label)
				}
				l.OID = column(path, l.OID)
			}
		}
	}
	return profiles, custom
}
