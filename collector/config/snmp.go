package config

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ninesmon/nines/internal/yamlconf"
)

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

var (
	oidRE        = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)*$`)
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
)

func (s *SNMP) applyDefaults() {
	for i := range s.Modules {
		m := &s.Modules[i]
		for j := range m.Scalars {
			m.Scalars[j].applyDefaults()
		}
		for j := range m.Tables {
			t := &m.Tables[j]
			if len(t.Indexes) == 0 {
				t.Indexes = []string{"index"}
			}
			for k := range t.Columns {
				t.Columns[k].applyDefaults()
			}
		}
	}
}

func (o *SNMPObject) applyDefaults() {
	if o.Type == "" {
		o.Type = "gauge"
	}
}

// build writes each table column and label as its number under the
// table's entry (its full OID, entry.number, is taken too).
func (s *SNMP) build() {
	for i := range s.Modules {
		for j := range s.Modules[i].Tables {
			t := &s.Modules[i].Tables[j]
			for k := range t.Columns {
				t.Columns[k].OID, _ = t.column(t.Columns[k].OID)
			}
			for k := range t.Labels {
				t.Labels[k].OID, _ = t.column(t.Labels[k].OID)
			}
		}
	}
}

// column returns a column's number under the table's entry; oid is the
// number or the full OID (entry.number). ok is false, and oid returned
// unchanged, when it is neither.
func (t *SNMPTable) column(oid string) (string, bool) {
	n := strings.TrimPrefix(strings.TrimPrefix(oid, "."), strings.TrimPrefix(t.Entry, ".")+".")
	if _, err := strconv.ParseUint(n, 10, 32); err != nil {
		return oid, false
	}
	return n, true
}

// validate checks the settings all devices share: the poll bound, the
// credential profiles, the custom modules and the trap receiver.
func (s *SNMP) validate(p *yamlconf.Problems) {
	if s.MaxConcurrentPolls < 1 {
		p.Addf("snmp.max_concurrent_polls", "must be at least 1")
	}
	profiles := map[string]bool{}
	for i, cr := range s.Credentials {
		if cr.Name == "" || profiles[cr.Name] {
			p.Addf(fmt.Sprintf("snmp.credentials[%d].name", i), "want a unique name, got %q", cr.Name)
		}
		profiles[cr.Name] = true
	}
	custom := map[string]bool{}
	for i := range s.Modules {
		m := &s.Modules[i]
		mp := fmt.Sprintf("snmp.modules[%d]", i)
		if m.Name == "" || custom[m.Name] || slices.Contains(BuiltinSNMPModules, m.Name) {
			p.Addf(mp+".name", "want a unique name that is not a built-in module, got %q", m.Name)
		}
		custom[m.Name] = true
		m.validate(p, mp)
	}
	if tr := s.Traps; tr != nil {
		if err := yamlconf.CheckListenAddress(tr.ListenAddress, "udp"); err != nil {
			p.Addf("snmp.traps.listen_address", "%v", err)
		}
		if len(tr.Communities) == 0 && tr.V3 == nil {
			p.Addf("snmp.traps", "accept some traps: set communities, v3 or both")
		}
		if tr.V3 != nil {
			tr.V3.validate(p, "snmp.traps", "trap receiver")
		}
	}
}

// validateTrapSources refuses devices that share a host while traps are
// received: a trap names no device, only its source address, so it could
// not be told which device it is from (it went to the last configured).
func (c *Config) validateTrapSources(p *yamlconf.Problems) {
	if c.SNMP.Traps == nil {
		return
	}
	byHost := map[string]string{}
	for i, d := range c.Devices {
		host := d.Address
		if h, _, err := net.SplitHostPort(d.Address); err == nil {
			host = h
		}
		if other, ok := byHost[host]; ok {
			p.Addf(fmt.Sprintf("devices[%d].address", i), "device %q: %s is also device %q's address; traps come from an address, so with snmp.traps set each device needs one of its own", d.Name, host, other)
			continue
		}
		byHost[host] = d.Name
	}
}

func (m *SNMPModule) validate(p *yamlconf.Problems, mp string) {
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
		if o.Type != "gauge" && o.Type != "counter" {
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
		for k, ix := range t.Indexes {
			if !labelNameRE.MatchString(ix) {
				p.Addf(fmt.Sprintf("%s.indexes[%d]", tp, k), "module %q: want a label name, got %q", m.Name, ix)
			}
		}
		if len(t.Columns) == 0 {
			p.Addf(tp+".columns", "module %q: a table needs at least one numeric column", m.Name)
		}
		column := func(path, oid string) {
			if _, ok := t.column(oid); !ok {
				p.Addf(path+".oid", "module %q: want the column's number under the entry %s (such as 2), got %q", m.Name, t.Entry, oid)
			}
		}
		for k := range t.Columns {
			path := fmt.Sprintf("%s.columns[%d]", tp, k)
			object(path, &t.Columns[k])
			column(path, t.Columns[k].OID)
		}
		for k, l := range t.Labels {
			path := fmt.Sprintf("%s.labels[%d]", tp, k)
			if !labelNameRE.MatchString(l.Label) {
				p.Addf(path+".label", "module %q: want a label name, got %q", m.Name, l.Label)
			}
			column(path, l.OID)
		}
	}
}
