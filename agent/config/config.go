// Package config is the nines-agent configuration file: its keys, defaults,
// validation and loading.
package config

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/internal/probe"
	"github.com/ninesmon/nines/internal/wire"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// Config is the whole agent configuration. The zero value is not valid:
// start from Default.
type Config struct {
	// Profile is "server" (default) or "desktop"; desktop changes the
	// default interval to 60s.
	Profile string `yaml:"profile"`
	// Interval between collections (and pushes). Default 15s (60s desktop).
	Interval yamlconf.Duration `yaml:"interval"`
	// Hostname overrides the OS hostname as the target name.
	Hostname string `yaml:"hostname"`
	// Labels are added to every series and describe the host (site, role,
	// service).
	Labels map[string]string `yaml:"labels"`
	Web    Web               `yaml:"web"`
	Push   Push              `yaml:"push"`
	// Collectors turns host collectors on and off by name.
	Collectors Collectors `yaml:"collectors"`
	// Processes are named process checks: how many run, their CPU and
	// memory, and whether enough run.
	Processes []Process `yaml:"processes"`
	// WindowsServices are the names of Windows services whose state is
	// reported (nines_service_state and, on /metrics,
	// windows_service_state). Windows only.
	WindowsServices []string `yaml:"windows_services"`
	// Checks are checks of the services on this host (databases,
	// middleware, web apps): TCP, HTTP(S) with status, body and
	// certificate expiry, DNS, ICMP.
	Checks []probe.Config `yaml:"checks"`
}

// Web is the /metrics listener.
type Web struct {
	// ListenAddress defaults to 127.0.0.1:9991: data stays on the host until
	// the operator opens it up (and should then set TLS).
	ListenAddress string `yaml:"listen_address"`
	TLSCertFile   string `yaml:"tls_cert_file"`
	TLSKeyFile    string `yaml:"tls_key_file"`
	// BasicAuth, when set, protects /metrics.
	BasicAuth *BasicAuth `yaml:"basic_auth"`
}

// BasicAuth is one user name and password for HTTP basic auth.
type BasicAuth struct {
	Username     string          `yaml:"username"`
	Password     yamlconf.Secret `yaml:"password"`
	PasswordFile string          `yaml:"password_file"`
}

// Push is delivery to the collector.
type Push struct {
	// URLs of collectors. Empty: push is off (scrape only).
	URLs []string `yaml:"urls"`
	// Mode is "failover" (default: the URLs are tried in order and each
	// batch goes to the first that accepts it) or "all" (every batch goes
	// to every URL, for a collector HA pair; each collector has its own
	// queue and spool, so one that is down delays only its own copy).
	Mode string `yaml:"mode"`
	// Token is the bearer token; or read it from TokenFile.
	Token     yamlconf.Secret   `yaml:"token"`
	TokenFile string            `yaml:"token_file"`
	Timeout   yamlconf.Duration `yaml:"timeout"`
	// QueueSize is how many batches wait in memory while no collector
	// accepts, when there is no spool; the oldest is dropped (and counted)
	// beyond it.
	QueueSize int `yaml:"queue_size"`
	// SpoolDir keeps batches on disk until a collector accepts them, so a
	// collector outage, an agent restart or a crash loses nothing. Default:
	// the platform's state directory (DefaultSpoolDir); "" turns the spool
	// off (memory only).
	SpoolDir *string `yaml:"spool_dir"`
	// SpoolMaxBytes bounds the spool; past it the oldest batches are
	// dropped and counted. Default 64 MiB.
	SpoolMaxBytes int64 `yaml:"spool_max_bytes"`
}

// Spool returns the spool directory ("" for none).
func (p *Push) Spool() string {
	if p.SpoolDir == nil {
		return DefaultSpoolDir()
	}
	return *p.SpoolDir
}

// Process is one named process check. All given conditions must hold.
type Process struct {
	Name string `yaml:"name"`
	// Comm is a regular expression (anchored) on the executable name.
	Comm string `yaml:"comm"`
	// Cmdline is a regular expression (unanchored) on the command line.
	Cmdline string `yaml:"cmdline"`
	User    string `yaml:"user"`
	// Min is how many must run for the check to be up (default 1).
	Min int `yaml:"min"`
}

// Collectors lists collectors to add to or remove from the defaults, and
// tunes some of them.
type Collectors struct {
	Enable     []string          `yaml:"enable"`
	Disable    []string          `yaml:"disable"`
	CPU        CPUOptions        `yaml:"cpu"`
	Filesystem FilesystemOptions `yaml:"filesystem"`
	Netdev     NetdevOptions     `yaml:"netdev"`
}

// CPUOptions tune the cpu collector.
type CPUOptions struct {
	// PerCore reports every core (default true); false sums them.
	PerCore *bool `yaml:"per_core"`
}

// FilesystemOptions tune the filesystem collector.
type FilesystemOptions struct {
	// ExcludeFSTypes replaces the default list of pseudo and network
	// filesystem types that are skipped.
	ExcludeFSTypes []string `yaml:"exclude_fstypes"`
	// ExcludeMountPoints and IncludeMountPoints are regular expressions
	// (anchored) on the mount point.
	ExcludeMountPoints string `yaml:"exclude_mount_points"`
	IncludeMountPoints string `yaml:"include_mount_points"`
}

// NetdevOptions tune the netdev collector.
type NetdevOptions struct {
	// IncludeVirtual also reports loopback, container and bridge interfaces.
	IncludeVirtual bool `yaml:"include_virtual"`
}

// HostOptions turns the collector settings into host.Options.
func (c *Config) HostOptions() host.Options {
	o := host.DefaultOptions()
	if c.Collectors.CPU.PerCore != nil {
		o.CPUPerCore = *c.Collectors.CPU.PerCore
	}
	if c.Collectors.Filesystem.ExcludeFSTypes != nil {
		o.ExcludeFSTypes = c.Collectors.Filesystem.ExcludeFSTypes
	}
	if r := c.Collectors.Filesystem.ExcludeMountPoints; r != "" {
		o.ExcludeMountPoints = regexp.MustCompile("^(?:" + r + ")$") // validated
	}
	if r := c.Collectors.Filesystem.IncludeMountPoints; r != "" {
		o.IncludeMountPoints = regexp.MustCompile("^(?:" + r + ")$")
	}
	o.IncludeVirtualInterfaces = c.Collectors.Netdev.IncludeVirtual
	o.WindowsServices = c.WindowsServices
	for _, p := range c.Processes {
		m := host.ProcessMatch{Name: p.Name, User: p.User, Min: p.Min}
		if p.Comm != "" {
			m.Comm = regexp.MustCompile("^(?:" + p.Comm + ")$") // validated
		}
		if p.Cmdline != "" {
			m.Cmdline = regexp.MustCompile(p.Cmdline)
		}
		o.Processes = append(o.Processes, m)
	}
	return o
}

// Default returns the configuration used for keys the file leaves out.
func Default() *Config {
	return &Config{
		Profile:  "server",
		Interval: yamlconf.Duration(15 * time.Second),
		Web:      Web{ListenAddress: "127.0.0.1:9991"},
		Push: Push{
			Mode:          "failover",
			Timeout:       yamlconf.Duration(10 * time.Second),
			QueueSize:     1024,
			SpoolMaxBytes: 64 << 20,
		},
	}
}

// Load parses a configuration. file names the source in error messages.
func Load(file string, data []byte) (*Config, error) {
	c := Default()
	c.Interval = 0
	if err := yamlconf.Decode(file, data, c); err != nil {
		return nil, err
	}
	return c, nil
}

// LoadFile reads and parses a configuration file, resolves relative paths
// against its directory, reads every *_file secret and checks every other
// *_file (yamlconf.ResolveFiles).
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

// Resolve makes paths absolute against dir, reads every *_file secret
// and checks every other *_file (yamlconf.ResolveFiles).
func (c *Config) Resolve(dir string) error {
	if p := c.Push.SpoolDir; p != nil && *p != "" && !filepath.IsAbs(*p) {
		*p = filepath.Join(dir, *p)
	}
	return yamlconf.ResolveFiles(c, dir)
}

var labelNameRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// ApplyDefaults fills the defaults that depend on other keys: the
// interval from the profile (15s, 60s for desktop) and the checks'
// intervals and timeouts; see yamlconf.Defaulter. Load calls it before
// Validate.
func (c *Config) ApplyDefaults() {
	if c.Interval == 0 {
		c.Interval = yamlconf.Duration(15 * time.Second)
		if c.Profile == "desktop" {
			c.Interval = yamlconf.Duration(60 * time.Second)
		}
	}
	for i := range c.Checks {
		c.Checks[i].ApplyDefaults()
	}
}

// Validate checks the decoded configuration and changes nothing; see
// yamlconf.Validator.
func (c *Config) Validate(p *yamlconf.Problems) {
	switch c.Profile {
	case "server", "desktop":
	default:
		p.Addf("profile", "unknown profile %q (want server or desktop)", c.Profile)
	}
	// The collector refuses pushes outside its limits (wire): say so here,
	// not in a 400 that drops every batch.
	if c.Interval.D() < wire.MinInterval {
		p.Addf("interval", "must be at least %s, got %s", wire.MinInterval, c.Interval)
	}
	if c.Interval.D() > wire.MaxInterval {
		p.Addf("interval", "must be at most %s, got %s", wire.MaxInterval, c.Interval)
	}
	if h := c.Hostname; h != "" && (len(h) > wire.MaxHostnameBytes || !utf8.ValidString(h) ||
		strings.ContainsFunc(h, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) })) {
		p.Addf("hostname", "want printable UTF-8 without spaces, at most %d bytes", wire.MaxHostnameBytes)
	}
	if len(c.Labels) > wire.MaxLabels {
		p.Addf("labels", "%d labels, at most %d allowed", len(c.Labels), wire.MaxLabels)
	}
	for k, v := range c.Labels {
		if !labelNameRE.MatchString(k) || strings.HasPrefix(k, "__") || len(k) > wire.MaxLabelNameBytes {
			p.Addf("labels."+k, "invalid label name %q (want [a-zA-Z_][a-zA-Z0-9_]*, no __ prefix, at most %d bytes)", k, wire.MaxLabelNameBytes)
		}
		if k == "host" || k == "host_id" {
			p.Addf("labels."+k, "label %q is set by the agent itself", k)
		}
		if len(v) > wire.MaxLabelValueBytes || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
			p.Addf("labels."+k, "invalid value: want UTF-8 without control characters, at most %d bytes", wire.MaxLabelValueBytes)
		}
	}
	if err := yamlconf.CheckListenAddress(c.Web.ListenAddress, "tcp"); err != nil {
		p.Addf("web.listen_address", "%v", err)
	}
	if ba := c.Web.BasicAuth; ba != nil {
		if ba.Username == "" {
			p.Addf("web.basic_auth.username", "must be set")
		}
		if (ba.Password == "") == (ba.PasswordFile == "") {
			p.Addf("web.basic_auth", "exactly one of password & password_file must be configured")
		}
	}
	if (c.Web.TLSCertFile == "") != (c.Web.TLSKeyFile == "") {
		p.Addf("web", "tls_cert_file and tls_key_file must be set together")
	}
	for i, u := range c.Push.URLs {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			p.Addf(fmt.Sprintf("push.urls[%d]", i), "want an http:// or https:// URL, got %q", u)
		}
	}
	if c.Push.Mode != "failover" && c.Push.Mode != "all" {
		p.Addf("push.mode", "unknown mode %q (want failover or all)", c.Push.Mode)
	}
	if c.Push.Token != "" && c.Push.TokenFile != "" {
		p.Addf("push.token", "at most one of token & token_file must be configured")
	}
	if len(c.Push.URLs) > 0 && c.Push.Token == "" && c.Push.TokenFile == "" {
		p.Addf("push", "a token or token_file is required to push to a collector")
	}
	if c.Push.SpoolMaxBytes < 1<<20 {
		p.Addf("push.spool_max_bytes", "must be at least 1 MiB (1048576)")
	}
	if c.Push.QueueSize < 1 {
		p.Addf("push.queue_size", "must be at least 1")
	}
	if c.Push.Timeout.D() <= 0 {
		p.Addf("push.timeout", "must be positive")
	}
	for key, r := range map[string]string{
		"collectors.filesystem.exclude_mount_points": c.Collectors.Filesystem.ExcludeMountPoints,
		"collectors.filesystem.include_mount_points": c.Collectors.Filesystem.IncludeMountPoints,
	} {
		if _, err := regexp.Compile(r); err != nil {
			p.Addf(key, "invalid regular expression: %v", err)
		}
	}
	seen := map[string]bool{}
	for i, pr := range c.Processes {
		pp := fmt.Sprintf("processes[%d]", i)
		p.Name(seen, pp, "process check", pr.Name)
		if pr.Comm == "" && pr.Cmdline == "" && pr.User == "" {
			p.Addf(pp, "process check %q: set at least one of comm, cmdline and user", pr.Name)
		}
		for key, r := range map[string]string{pp + ".comm": pr.Comm, pp + ".cmdline": pr.Cmdline} {
			if _, err := regexp.Compile(r); err != nil {
				p.Addf(key, "invalid regular expression: %v", err)
			}
		}
		if pr.Min < 0 {
			p.Addf(pp+".min", "must not be negative")
		}
	}
	svcSeen := map[string]bool{}
	for i, name := range c.WindowsServices {
		path := fmt.Sprintf("windows_services[%d]", i)
		switch {
		case name == "":
			p.Addf(path, "must not be empty")
		case svcSeen[name]:
			p.Addf(path, "windows service %q listed twice", name)
		}
		svcSeen[name] = true
	}
	checkNames := map[string]bool{}
	for i := range c.Checks {
		path := fmt.Sprintf("checks[%d]", i)
		if n := c.Checks[i].Name; n != "" && checkNames[n] {
			p.Addf(path+".name", "check %q defined twice", n)
		}
		checkNames[c.Checks[i].Name] = true
		c.Checks[i].Validate(p, path)
	}
	known := host.Names()
	for i, n := range c.Collectors.Enable {
		if !slices.Contains(known, n) {
			p.Addf(fmt.Sprintf("collectors.enable[%d]", i), "unknown collector %q (known: %v)", n, known)
		}
	}
	for i, n := range c.Collectors.Disable {
		if !slices.Contains(known, n) {
			p.Addf(fmt.Sprintf("collectors.disable[%d]", i), "unknown collector %q (known: %v)", n, known)
		}
	}
}

// EnabledCollectors is the list of collectors to run.
func (c *Config) EnabledCollectors() []string {
	var out []string
	for _, n := range host.Names() {
		on := host.DefaultEnabled(n) || slices.Contains(c.Collectors.Enable, n)
		if on && !slices.Contains(c.Collectors.Disable, n) {
			out = append(out, n)
		}
	}
	return out
}
