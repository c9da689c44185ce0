package probe

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Config is a check as written in a configuration file (the collector's
// checks and the agent's service checks share it).
type Config struct {
	// Name is the check's target name (unique among targets).
	Name string `yaml:"name"`
	// Type is tcp, http, dns or icmp.
	Type string `yaml:"type"`
	// Target: host:port (tcp), URL (http), DNS name (dns), host (icmp).
	Target   string            `yaml:"target"`
	Interval yamlconf.Duration `yaml:"interval"`
	// Timeout must be shorter than Interval. Default: Interval / 2, at most 10s.
	Timeout yamlconf.Duration `yaml:"timeout"`
	Labels  map[string]string `yaml:"labels"`
	HTTP    HTTPConfig        `yaml:"http"`
	DNS     DNSConfig         `yaml:"dns"`
}

// HTTPConfig holds HTTP check options.
type HTTPConfig struct {
	Method string `yaml:"method"`
	// ExpectedStatus lists acceptable codes; empty: any 2xx.
	ExpectedStatus     []int             `yaml:"expected_status"`
	BodyRegexp         string            `yaml:"body_regexp"`
	Headers            map[string]string `yaml:"headers"`
	InsecureSkipVerify bool              `yaml:"insecure_skip_verify"`
	CAFile             string            `yaml:"ca_file"`
}

// DNSConfig holds DNS check options.
type DNSConfig struct {
	// Server is host:port; empty: the system resolver.
	Server string `yaml:"server"`
	// RecordType is A (default), AAAA, CNAME, MX, TXT or NS.
	RecordType string `yaml:"record_type"`
	// Expect lists values one of which must be in the answer.
	Expect []string `yaml:"expect"`
}

// ApplyDefaults fills what the file left out: interval 30s, timeout half
// of the interval up to 10s.
func (c *Config) ApplyDefaults() {
	if c.Interval == 0 {
		c.Interval = yamlconf.Duration(30 * time.Second)
	}
	if c.Timeout == 0 {
		c.Timeout = yamlconf.Duration(min(c.Interval.D()/2, 10*time.Second))
	}
}

// Validate checks the configuration as ApplyDefaults would complete it,
// without changing it. path is its key path for messages.
func (c *Config) Validate(p *yamlconf.Problems, path string) {
	d := *c
	d.ApplyDefaults()
	c = &d
	if c.Name == "" {
		p.Addf(path, "name must be set")
	}
	if c.Interval.D() < 100*time.Millisecond {
		p.Addf(path+".interval", "must be at least 100ms")
	}
	if c.Timeout <= 0 || c.Timeout >= c.Interval {
		p.Addf(path+".timeout", "must be positive and shorter than the interval (%s)", c.Interval)
	}
	if c.Target == "" {
		p.Addf(path, "target must be set")
		return
	}
	switch c.Type {
	case "tcp":
		if _, _, err := net.SplitHostPort(c.Target); err != nil {
			p.Addf(path+".target", "want host:port: %v", err)
		}
	case "http":
		u, err := url.Parse(c.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.Addf(path+".target", "want an http:// or https:// URL, got %q", c.Target)
		}
		if _, err := regexp.Compile(c.HTTP.BodyRegexp); err != nil {
			p.Addf(path+".http.body_regexp", "invalid regular expression: %v", err)
		}
		for j, code := range c.HTTP.ExpectedStatus {
			if code < 100 || code > 599 {
				p.Addf(fmt.Sprintf("%s.http.expected_status[%d]", path, j), "not an HTTP status code: %d", code)
			}
		}
	case "dns":
		switch strings.ToUpper(c.DNS.RecordType) {
		case "", "A", "AAAA", "CNAME", "MX", "TXT", "NS":
		default:
			p.Addf(path+".dns.record_type", "unsupported record type %q (want A, AAAA, CNAME, MX, TXT or NS)", c.DNS.RecordType)
		}
		if c.DNS.Server != "" {
			if _, _, err := net.SplitHostPort(c.DNS.Server); err != nil {
				p.Addf(path+".dns.server", "want host:port: %v", err)
			}
		}
	case "icmp":
	default:
		p.Addf(path+".type", "unknown check type %q (want tcp, http, dns or icmp)", c.Type)
	}
}

// Spec turns a validated configuration into a runnable check, with the
// defaults ApplyDefaults fills.
func (c *Config) Spec() Spec {
	d := *c
	d.ApplyDefaults()
	c = &d
	s := Spec{
		Name: c.Name, Type: c.Type, Target: c.Target, Interval: c.Interval.D(), Timeout: c.Timeout.D(), Labels: c.Labels,
		HTTP: HTTPSpec{Method: c.HTTP.Method, ExpectedStatus: c.HTTP.ExpectedStatus, Headers: c.HTTP.Headers,
			InsecureSkipVerify: c.HTTP.InsecureSkipVerify, CAFile: c.HTTP.CAFile},
		DNS: DNSSpec{Server: c.DNS.Server, RecordType: c.DNS.RecordType, Expect: c.DNS.Expect},
	}
	if c.HTTP.BodyRegexp != "" {
		s.HTTP.BodyRegexp = regexp.MustCompile(c.HTTP.BodyRegexp) // validated
	}
	return s
}
