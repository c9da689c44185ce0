package snmp

import (
	"regexp"
	"slices"
)

// Interfaces selects a device's interfaces: which if_mib reports (Include
// and Exclude match ifName, ifDescr or ifAlias; Types are ifType numbers,
// e.g. 6 ethernetCsmacd, 117 gigabitEthernet) and which are monitored,
// each its own target "<device>/<ifName>": UP while ifOperStatus is up,
// DOWN when it is not, SHUTDOWN (not an outage) while an administrator
// has set it down.
type Interfaces struct {
	Include, Exclude []*regexp.Regexp
	Types            []float64
	Monitor          []*regexp.Regexp
}

func anyMatch(res []*regexp.Regexp, l map[string]string) bool {
	for _, re := range res {
		for _, k := range []string{"ifName", "ifDescr", "ifAlias"} {
			if l[k] != "" && re.MatchString(l[k]) {
				return true
			}
		}
	}
	return false
}

// selected reports whether if_mib keeps the interface.
func (s Interfaces) selected(l map[string]string, ifType float64, known bool) bool {
	if len(s.Include) > 0 && !anyMatch(s.Include, l) {
		return false
	}
	if anyMatch(s.Exclude, l) {
		return false
	}
	if len(s.Types) > 0 && (!known || !slices.Contains(s.Types, ifType)) {
		return false
	}
	return true
}

// monitored reports whether the interface is a target of its own.
func (s Interfaces) monitored(l map[string]string) bool { return anyMatch(s.Monitor, l) }

// ifRow is one interface's labels and values in a poll.
type ifRow struct {
	labels map[string]string
	values map[string]float64
}

// interfaceRows groups a poll's if_mib samples by ifIndex.
func interfaceRows(samples []Sample) map[string]*ifRow {
	rows := map[string]*ifRow{}
	for _, s := range samples {
		index, ok := labelValue(s.Labels, "ifIndex")
		if !ok {
			continue
		}
		r := rows[index]
		if r == nil {
			l := make(map[string]string, len(s.Labels)/2)
			for i := 0; i+1 < len(s.Labels); i += 2 {
				l[s.Labels[i]] = s.Labels[i+1]
			}
			r = &ifRow{labels: l, values: make(map[string]float64, len(ifValueColumns))}
			rows[index] = r
		}
		r.values[s.Name] = s.Value
	}
	return rows
}

// labelValue finds a label in name, value pairs.
func labelValue(pairs []string, name string) (string, bool) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i] == name {
			return pairs[i+1], true
		}
	}
	return "", false
}

// name of an interface's target.
func (r *ifRow) name(device string) string {
	for _, k := range []string{"ifName", "ifDescr"} {
		if v := r.labels[k]; v != "" {
			return device + "/" + v
		}
	}
	return device + "/" + r.labels["ifIndex"]
}
