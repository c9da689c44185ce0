package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

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

// applyDefaults fills what the device leaves out: first from its
// credential profile, then the built-in defaults.
func (d *Device) applyDefaults(profiles []SNMPCredentials) {
	if i := slices.IndexFunc(profiles, func(cr SNMPCredentials) bool { return cr.Name == d.Credentials }); d.Credentials != "" && i >= 0 {
		cr := profiles[i]
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
}

// validateDevices checks each device and that its name is not taken by
// another target (a declared host, a check or another device).
func validateDevices(p *yamlconf.Problems, devices []Device, s *SNMP, n names) {
	profiles := map[string]bool{}
	for _, cr := range s.Credentials {
		profiles[cr.Name] = true
	}
	custom := map[string]bool{}
	for _, m := range s.Modules {
		custom[m.Name] = true
	}
	taken := maps.Clone(n.hosts)
	maps.Copy(taken, n.checks)
	for i := range devices {
		d := &devices[i]
		dp := fmt.Sprintf("devices[%d]", i)
		if d.Credentials != "" && !profiles[d.Credentials] {
			p.Addf(dp+".credentials", "device %q: unknown credentials %q", d.Name, d.Credentials)
		}
		if d.Name == "" {
			p.Addf(dp, "name must be set")
		} else if taken[d.Name] {
			p.Addf(dp+".name", "name %q is already used by another target", d.Name)
		}
		taken[d.Name] = true
		d.validate(p, dp, custom)
	}
}

func (d *Device) validate(p *yamlconf.Problems, dp string, custom map[string]bool) {
	if d.Address == "" {
		p.Addf(dp, "device %q: address must be set", d.Name)
	}
	for _, f := range []struct {
		key  string
		pats []string
	}{{"include", d.Interfaces.Include}, {"exclude", d.Interfaces.Exclude}, {"monitor", d.Interfaces.Monitor}} {
		for j, pat := range f.pats {
			if _, err := anchored(pat); err != nil {
				p.Addf(fmt.Sprintf("%s.interfaces.%s[%d]", dp, f.key, j), "device %q: %v", d.Name, err)
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
		exactlyOne(p, dp, fmt.Sprintf("device %q", d.Name), d.Community, d.CommunityFile, "community")
	case "3":
		d.V3.validate(p, dp, fmt.Sprintf("device %q", d.Name))
	default:
		p.Addf(dp+".version", "device %q: unknown SNMP version %q (want 1, 2c or 3)", d.Name, d.Version)
	}
}

// validate checks v3 settings at dp; who names their owner in messages
// (`device "x"`, `trap receiver`).
func (v3 *DeviceV3) validate(p *yamlconf.Problems, dp, who string) {
	if v3.Username == "" {
		p.Addf(dp+".v3.username", "%s: must be set", who)
	}
	level := v3.SecurityLevel
	switch level {
	case "noAuthNoPriv", "authNoPriv", "authPriv":
	default:
		p.Addf(dp+".v3.security_level", "%s: want noAuthNoPriv, authNoPriv or authPriv, got %q", who, level)
	}
	if level == "authNoPriv" || level == "authPriv" {
		checkProtocol(p, dp+".v3.auth_protocol", who, "auth", v3.AuthProtocol, []string{"SHA", "SHA224", "SHA256", "SHA384", "SHA512"}, "MD5", v3.AllowInsecure)
		exactlyOne(p, dp+".v3", who, v3.AuthPassphrase, v3.AuthPassphraseFile, "auth_passphrase")
	}
	if level == "authPriv" {
		checkProtocol(p, dp+".v3.priv_protocol", who, "privacy", v3.PrivProtocol, []string{"AES", "AES192", "AES256", "AES192C", "AES256C"}, "DES", v3.AllowInsecure)
		exactlyOne(p, dp+".v3", who, v3.PrivPassphrase, v3.PrivPassphraseFile, "priv_passphrase")
	}
}

// checkProtocol reports an unknown protocol at path, and the broken one
// (MD5, DES) unless allow_insecure is set.
func checkProtocol(p *yamlconf.Problems, path, who, what, value string, known []string, broken string, allowInsecure bool) {
	switch v := strings.ToUpper(value); {
	case slices.Contains(known, v):
	case v == broken:
		if !allowInsecure {
			p.Addf(path, "%s: %s is broken; set allow_insecure: true to use it anyway", who, broken)
		}
	default:
		p.Addf(path, "%s: unknown %s protocol %q", who, what, value)
	}
}

// exactlyOne reports at path unless exactly one of a secret given inline
// and by key_file is set.
func exactlyOne(p *yamlconf.Problems, path, who string, inline yamlconf.Secret, file, key string) {
	if (inline == "") == (file == "") {
		p.Addf(path, "%s: exactly one of %s & %s_file must be configured", who, key, key)
	}
}
