package snmp

import (
	"context"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Sample is one value read from a device, named after its MIB object.
type Sample struct {
	Name   string
	Labels []string // name, value pairs
	Value  float64
}

// Module reads one group of objects from a device.
type Module func(ctx context.Context, c Conn) ([]Sample, error)

// Modules are the built-in modules by name.
var Modules = map[string]Module{
	"system":         system,
	"if_mib":         ifMIB,
	"host_resources": hostResources,
	"ups":            ups.Module(),
	"printer":        printer.Module(),
}

const (
	oidSysDescr    = "1.3.6.1.2.1.1.1.0"
	oidSysObjectID = "1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = "1.3.6.1.2.1.1.3.0"
	oidSysName     = "1.3.6.1.2.1.1.5.0"
	oidSysLocation = "1.3.6.1.2.1.1.6.0"
)

// system reads sysUpTime (in hundredths of a second, as the MIB has it)
// and the device's identity as nines_snmp_device_info labels.
func system(ctx context.Context, c Conn) ([]Sample, error) {
	vars, err := c.Get(ctx, []string{oidSysDescr, oidSysObjectID, oidSysUpTime, oidSysName, oidSysLocation})
	if err != nil {
		return nil, err
	}
	info := map[string]string{}
	var out []Sample
	for _, v := range vars {
		switch v.OID {
		case oidSysUpTime:
			if f, ok := Number(v); ok {
				out = append(out, Sample{Name: "sysUpTime", Value: f})
			}
		case oidSysDescr:
			info["sysDescr"] = Text(v)
		case oidSysObjectID:
			info["sysObjectID"] = Text(v)
		case oidSysName:
			info["sysName"] = Text(v)
		case oidSysLocation:
			info["sysLocation"] = Text(v)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("device did not return sysUpTime")
	}
	out = append(out, Sample{Name: "nines_snmp_device_info", Value: 1, Labels: []string{
		"sysDescr", info["sysDescr"], "sysName", info["sysName"], "sysObjectID", info["sysObjectID"], "sysLocation", info["sysLocation"]}})
	return out, nil
}

// Interface columns read by if_mib: the three text columns become labels,
// the others samples.
const (
	ifTableRoot  = "1.3.6.1.2.1.2.2.1"
	ifXTableRoot = "1.3.6.1.2.1.31.1.1.1"
)

var (
	ifLabelColumns = []Object{{ifTableRoot + ".2", "ifDescr"}, {ifXTableRoot + ".1", "ifName"}, {ifXTableRoot + ".18", "ifAlias"}}
	ifValueColumns = [...]Object{
		{ifTableRoot + ".3", "ifType"}, {ifTableRoot + ".4", "ifMtu"}, {ifTableRoot + ".5", "ifSpeed"},
		{ifTableRoot + ".7", "ifAdminStatus"}, {ifTableRoot + ".8", "ifOperStatus"},
		{ifTableRoot + ".10", "ifInOctets"}, {ifTableRoot + ".11", "ifInUcastPkts"}, {ifTableRoot + ".16", "ifOutOctets"}, {ifTableRoot + ".17", "ifOutUcastPkts"},
		{ifTableRoot + ".13", "ifInDiscards"}, {ifTableRoot + ".14", "ifInErrors"}, {ifTableRoot + ".19", "ifOutDiscards"}, {ifTableRoot + ".20", "ifOutErrors"},
		{ifXTableRoot + ".6", "ifHCInOctets"}, {ifXTableRoot + ".7", "ifHCInUcastPkts"}, {ifXTableRoot + ".8", "ifHCInMulticastPkts"},
		{ifXTableRoot + ".10", "ifHCOutOctets"}, {ifXTableRoot + ".11", "ifHCOutUcastPkts"}, {ifXTableRoot + ".12", "ifHCOutMulticastPkts"},
		{ifXTableRoot + ".15", "ifHighSpeed"},
	}
	// ifFallback maps a 32-bit counter column to the 64-bit one it stands
	// in for: it is reported only for interfaces without the 64-bit one
	// (SNMPv1 cannot carry Counter64, and some agents lack ifXTable).
	ifFallback = map[string]string{
		"ifInOctets": "ifHCInOctets", "ifInUcastPkts": "ifHCInUcastPkts",
		"ifOutOctets": "ifHCOutOctets", "ifOutUcastPkts": "ifHCOutUcastPkts",
	}
	// ifFallbackIndex is ifFallback by column index.
	ifFallbackIndex = func() map[int]int {
		at := map[string]int{}
		for i, o := range ifValueColumns {
			at[o.Name] = i
		}
		m := map[int]int{}
		for from, to := range ifFallback {
			m[at[from]] = at[to]
		}
		return m
	}()
	// ifColumn finds a column by OID: label columns are -1-i, value
	// columns i.
	ifColumn = func() map[string]int {
		m := map[string]int{}
		for i, o := range ifLabelColumns {
			m[o.OID] = -1 - i
		}
		for i, o := range ifValueColumns {
			m[o.OID] = i
		}
		return m
	}()
	// ifColumnOIDs are the columns walked: only these, not the whole
	// tables.
	ifColumnOIDs = func() []string {
		var out []string
		for _, o := range append(append([]Object(nil), ifLabelColumns...), ifValueColumns[:]...) {
			out = append(out, o.OID)
		}
		sort.Slice(out, func(i, j int) bool { return compareOIDs(out[i], out[j]) < 0 })
		return out
	}()
)

// ifMIB reads the columns it needs of ifTable and ifXTable and reports
// every numeric column per interface, labelled ifIndex, ifName, ifDescr
// and ifAlias. Counters are reported as read: rate() turns them into
// per-second figures, and reads a wrap or a reboot as a reset, never as a
// spike. Traffic comes from the 64-bit ifHC* counters; where an interface
// has none (always over SNMPv1, which cannot carry Counter64), from the
// 32-bit ifInOctets, ifOutOctets, ifInUcastPkts and ifOutUcastPkts.
func ifMIB(ctx context.Context, c Conn) ([]Sample, error) {
	type iface struct {
		index  string
		labels [3]string
		values [len(ifValueColumns)]float64
		have   [len(ifValueColumns)]bool
	}
	vars, err := c.Walk(ctx, ifColumnOIDs...)
	if err != nil {
		return nil, fmt.Errorf("walk ifTable and ifXTable: %w", err)
	}
	byIndex := map[string]*iface{}
	var order []*iface
	for _, v := range vars {
		i := strings.LastIndexByte(v.OID, '.')
		if i < 0 {
			continue
		}
		col, ok := ifColumn[v.OID[:i]]
		if !ok {
			continue
		}
		index := v.OID[i+1:]
		f := byIndex[index]
		if f == nil {
			f = &iface{index: index}
			byIndex[index] = f
			order = append(order, f)
		}
		if col < 0 {
			f.labels[-1-col] = Text(v)
		} else if n, ok := Number(v); ok {
			f.values[col], f.have[col] = n, true
		}
	}
	out := make([]Sample, 0, len(order)*len(ifValueColumns))
	for _, f := range order {
		// One label slice per interface, shared by its samples.
		l := []string{"ifIndex", f.index, "ifName", f.labels[1], "ifDescr", f.labels[0], "ifAlias", f.labels[2]}
		for i, o := range ifValueColumns {
			if hc, ok := ifFallbackIndex[i]; ok && f.have[hc] {
				continue // the 64-bit counter is there: the 32-bit one would only wrap sooner
			}
			if f.have[i] {
				out = append(out, Sample{Name: o.Name, Labels: l, Value: f.values[i]})
			}
		}
	}
	return out, nil
}

// Number converts a numeric variable to float64.
func Number(v Var) (float64, bool) {
	switch v.Type {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64, gosnmp.Uinteger32:
		switch n := v.Value.(type) {
		case int:
			return float64(n), true
		case uint:
			return float64(n), true
		case uint32:
			return float64(n), true
		case uint64:
			return float64(n), true
		case int64:
			return float64(n), true
		case *big.Int:
			f, _ := new(big.Float).SetInt(n).Float64()
			return f, true
		}
	}
	return 0, false
}

// Text renders a variable as a label value: strings as they are (invalid
// UTF-8 hex-escaped), numbers in decimal, OIDs without the leading dot.
func Text(v Var) string {
	switch x := v.Value.(type) {
	case []byte:
		return strings.ToValidUTF8(string(x), "?")
	case string:
		return strings.ToValidUTF8(strings.TrimPrefix(x, "."), "?")
	case nil:
		return ""
	}
	if f, ok := Number(v); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strings.ToValidUTF8(fmt.Sprint(v.Value), "?")
}

const (
	hrProcessorLoad = "1.3.6.1.2.1.25.3.3.1.2"
	hrStorageTable  = "1.3.6.1.2.1.25.2.3.1"
)

// hostResources reads HOST-RESOURCES-MIB: hrProcessorLoad per processor
// (percent over the last minute) and, per storage area,
// hrStorageAllocationUnits, hrStorageSize and hrStorageUsed (in allocation
// units, as the MIB has them) labelled hrStorageIndex and hrStorageDescr.
func hostResources(ctx context.Context, c Conn) ([]Sample, error) {
	var out []Sample
	loads, err := c.Walk(ctx, hrProcessorLoad)
	if err != nil {
		return nil, fmt.Errorf("walk hrProcessorLoad: %w", err)
	}
	for _, v := range loads {
		if n, ok := Number(v); ok {
			out = append(out, Sample{Name: "hrProcessorLoad", Value: n, Labels: []string{"hrDeviceIndex", lastArc(v.OID)}})
		}
	}
	vars, err := c.Walk(ctx, hrStorageTable+".3", hrStorageTable+".4", hrStorageTable+".5", hrStorageTable+".6")
	if err != nil {
		return nil, fmt.Errorf("walk hrStorageTable: %w", err)
	}
	type storage struct {
		descr  string
		values map[string]float64
	}
	byIndex := map[string]*storage{}
	var order []string
	columns := map[string]string{hrStorageTable + ".4": "hrStorageAllocationUnits", hrStorageTable + ".5": "hrStorageSize", hrStorageTable + ".6": "hrStorageUsed"}
	for _, v := range vars {
		i := strings.LastIndexByte(v.OID, '.')
		if i < 0 {
			continue
		}
		col, index := v.OID[:i], v.OID[i+1:]
		st := byIndex[index]
		if st == nil {
			st = &storage{values: map[string]float64{}}
			byIndex[index] = st
			order = append(order, index)
		}
		if col == hrStorageTable+".3" {
			st.descr = Text(v)
		} else if name, ok := columns[col]; ok {
			if n, ok := Number(v); ok {
				st.values[name] = n
			}
		}
	}
	for _, index := range order {
		st := byIndex[index]
		for name, v := range st.values {
			out = append(out, Sample{Name: name, Value: v, Labels: []string{"hrStorageIndex", index, "hrStorageDescr", st.descr}})
		}
	}
	return out, nil
}

func lastArc(oid string) string {
	if i := strings.LastIndexByte(oid, '.'); i >= 0 {
		return oid[i+1:]
	}
	return oid
}
