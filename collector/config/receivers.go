package config

import (
	"cmp"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"time"

	"github.com/ninesmon/nines/alerting/notify/webhook"
	"github.com/ninesmon/nines/internal/yamlconf"
)

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

var jiraKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]+$`)

// defaultSync is a two-way receiver's sync interval: 1m when not set.
func defaultSync(d *yamlconf.Duration) *yamlconf.Duration {
	if d == nil {
		v := yamlconf.Duration(time.Minute)
		return &v
	}
	return d
}

func (r *Receiver) applyDefaults() {
	if j := r.Jira; j != nil {
		if j.Priorities == nil {
			j.Priorities = map[string]string{"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
		}
		j.SyncInterval = defaultSync(j.SyncInterval)
	}
	if sn := r.ServiceNow; sn != nil {
		sn.SyncInterval = defaultSync(sn.SyncInterval)
	}
	if rm := r.Redmine; rm != nil {
		rm.FingerprintField = cmp.Or(rm.FingerprintField, "Alert fingerprint")
		if rm.Priorities == nil {
			rm.Priorities = map[string]string{"P1": "Immediate", "P2": "Urgent", "P3": "High", "P4": "Normal"}
		}
		rm.ResolvedStatus = cmp.Or(rm.ResolvedStatus, "Resolved")
		rm.ClosedStatus = cmp.Or(rm.ClosedStatus, "Closed")
		rm.ReopenedStatus = cmp.Or(rm.ReopenedStatus, "New")
		rm.SyncInterval = defaultSync(rm.SyncInterval)
	}
	if am := r.Alertmanager; am != nil {
		am.Mode = cmp.Or(am.Mode, "webhook")
	}
}

// validateReceivers checks each receiver and that names are unique.
func validateReceivers(p *yamlconf.Problems, receivers []Receiver) {
	seen := map[string]bool{}
	for i := range receivers {
		rp := fmt.Sprintf("receivers[%d]", i)
		p.Name(seen, rp, "receiver", receivers[i].Name)
		receivers[i].validate(p, rp)
	}
}

// httpURL reports whether s is an absolute http:// or https:// URL.
func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

func (r *Receiver) validate(p *yamlconf.Problems, rp string) {
	kinds := 0
	for _, set := range []bool{r.Webhook != nil, r.Alertmanager != nil, r.PagerDuty != nil, r.Redmine != nil, r.ServiceNow != nil, r.Jira != nil, r.Email != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		p.Addf(rp, "receiver %q: set exactly one of webhook, alertmanager, pagerduty, redmine, servicenow, jira and email", r.Name)
		return
	}
	switch {
	case r.Email != nil:
		r.Email.validate(p, rp, r.Name)
	case r.Jira != nil:
		r.Jira.validate(p, rp, r.Name)
	case r.ServiceNow != nil:
		r.ServiceNow.validate(p, rp, r.Name)
	case r.Redmine != nil:
		r.Redmine.validate(p, rp, r.Name)
	case r.PagerDuty != nil:
		r.PagerDuty.validate(p, rp, r.Name)
	case r.Alertmanager != nil:
		r.Alertmanager.validate(p, rp, r.Name)
	default:
		r.Webhook.validate(p, rp, r.Name)
	}
}

func (e *Email) validate(p *yamlconf.Problems, rp, name string) {
	if _, _, err := net.SplitHostPort(e.SMTP); err != nil {
		p.Addf(rp+".email.smtp", "receiver %q: want host:port, got %q", name, e.SMTP)
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		p.Addf(rp+".email.from", "receiver %q: %v", name, err)
	}
	if len(e.To) == 0 {
		p.Addf(rp+".email.to", "receiver %q: at least one recipient", name)
	}
	for j, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			p.Addf(fmt.Sprintf("%s.email.to[%d]", rp, j), "receiver %q: %v", name, err)
		}
	}
	if e.Password != "" && e.PasswordFile != "" {
		p.Addf(rp+".email", "receiver %q: set password or password_file, not both", name)
	}
	switch e.TLS {
	case "", "starttls", "tls", "none":
	default:
		p.Addf(rp+".email.tls", "receiver %q: want starttls, tls or none, got %q", name, e.TLS)
	}
}

func (j *Jira) validate(p *yamlconf.Problems, rp, name string) {
	if !httpURL(j.URL) {
		p.Addf(rp+".jira.url", "receiver %q: want an http:// or https:// URL", name)
	}
	exactlyOne(p, rp+".jira", fmt.Sprintf("receiver %q", name), j.Token, j.TokenFile, "token")
	if !jiraKeyRE.MatchString(j.Project) {
		p.Addf(rp+".jira.project", "receiver %q: want a project key such as OPS, got %q", name, j.Project)
	}
}

func (sn *ServiceNow) validate(p *yamlconf.Problems, rp, name string) {
	if !httpURL(sn.URL) {
		p.Addf(rp+".servicenow.url", "receiver %q: want an http:// or https:// URL", name)
	}
	if sn.User == "" {
		p.Addf(rp+".servicenow.user", "receiver %q: the user must be set", name)
	}
	exactlyOne(p, rp+".servicenow", fmt.Sprintf("receiver %q", name), sn.Password, sn.PasswordFile, "password")
}

func (rm *Redmine) validate(p *yamlconf.Problems, rp, name string) {
	if !httpURL(rm.URL) {
		p.Addf(rp+".redmine.url", "receiver %q: want an http:// or https:// URL", name)
	}
	exactlyOne(p, rp+".redmine", fmt.Sprintf("receiver %q", name), rm.APIKey, rm.APIKeyFile, "api_key")
	if rm.Project == "" {
		p.Addf(rp+".redmine.project", "receiver %q: the project identifier must be set", name)
	}
	for k := range rm.Priorities {
		if !slices.Contains(priorities, k) {
			p.Addf(rp+".redmine.priorities."+k, "receiver %q: want P1 to P4", name)
		}
	}
}

func (pd *PagerDuty) validate(p *yamlconf.Problems, rp, name string) {
	exactlyOne(p, rp+".pagerduty", fmt.Sprintf("receiver %q", name), pd.RoutingKey, pd.RoutingKeyFile, "routing_key")
}

func (am *Alertmanager) validate(p *yamlconf.Problems, rp, name string) {
	if !httpURL(am.URL) {
		p.Addf(rp+".alertmanager.url", "receiver %q: want an http:// or https:// URL", name)
	}
	if am.Mode != "webhook" && am.Mode != "api" {
		p.Addf(rp+".alertmanager.mode", "receiver %q: want webhook or api, got %q", name, am.Mode)
	}
}

func (w *Webhook) validate(p *yamlconf.Problems, rp, name string) {
	if !httpURL(w.URL) {
		p.Addf(rp+".webhook.url", "receiver %q: want an http:// or https:// URL", name)
	}
	if w.Template != "" {
		if _, err := webhook.ParseTemplate(name, w.Template); err != nil {
			p.Addf(rp+".webhook.template", "receiver %q: %v", name, err)
		}
	}
	exactlyOne(p, rp+".webhook", fmt.Sprintf("receiver %q", name), w.Secret, w.SecretFile, "secret")
}

// priorities are the incident priorities, most urgent first.
var priorities = []string{"P1", "P2", "P3", "P4"}

func validateRoutes(p *yamlconf.Problems, routes []Route, n names) {
	for i, rt := range routes {
		rp := fmt.Sprintf("routes[%d]", i)
		if !n.receivers[rt.Receiver] {
			p.Addf(rp+".receiver", "unknown receiver %q", rt.Receiver)
		}
		if rt.Schedule != "" && !n.calendars[rt.Schedule] {
			p.Addf(rp+".schedule", "unknown calendar %q", rt.Schedule)
		}
		for j, pr := range rt.Priorities {
			if !slices.Contains(priorities, pr) {
				p.Addf(fmt.Sprintf("%s.priorities[%d]", rp, j), "want P1 to P4, got %q", pr)
			}
		}
	}
}
