package snmp

import (
	"context"
	"fmt"
	"strings"
)

// Definition is a module described as data: scalar objects and table
// columns, each named after its MIB object. The ups and printer modules
// are definitions, and so are the custom modules of the configuration.
type Definition struct {
	Name    string
	Scalars []Object
	Tables  []Table
}

// Object is one MIB object: its OID (for a scalar, the instance, ending
// in .0; for a table column, its number under the entry) and the metric
// (or label) name.
type Object struct {
	OID  string
	Name string
}

// Table is a conceptual table read by walking its entry.
type Table struct {
	Entry string // the entry OID, e.g. 1.3.6.1.2.1.33.1.3.3.1
	// Indexes name the parts of the row index (split on dots); with one
	// name, the whole index is its value.
	Indexes []string
	Columns []Object // numeric columns: one sample each per row
	Labels  []Object // text columns: labels of the row's samples
}

// Module reads the definition's objects; objects the device does not
// have are left out, not errors.
func (d Definition) Module() Module {
	return func(ctx context.Context, c Conn) ([]Sample, error) {
		var out []Sample
		if len(d.Scalars) > 0 {
			oids := make([]string, len(d.Scalars))
			names := map[string]string{}
			for i, s := range d.Scalars {
				oids[i] = strings.TrimPrefix(s.OID, ".")
				names[oids[i]] = s.Name
			}
			vars, err := c.Get(ctx, oids)
			if err != nil {
				return nil, err
			}
			for _, v := range vars {
				name, asked := names[strings.TrimPrefix(v.OID, ".")]
				if !asked {
					continue // an answer for an OID we did not ask for
				}
				if f, ok := Number(v); ok {
					out = append(out, Sample{Name: name, Value: f})
				}
			}
		}
		for _, t := range d.Tables {
			rows, err := t.read(ctx, c)
			if err != nil {
				return out, err
			}
			out = append(out, rows...)
		}
		return out, nil
	}
}

func (t Table) read(ctx context.Context, c Conn) ([]Sample, error) {
	entry := strings.TrimPrefix(t.Entry, ".")
	var roots []string
	for _, o := range append(append([]Object(nil), t.Columns...), t.Labels...) {
		roots = append(roots, entry+"."+strings.Trim(o.OID, "."))
	}
	vars, err := c.Walk(ctx, roots...)
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", entry, err)
	}
	columns, labels := map[string]string{}, map[string]string{}
	for _, o := range t.Columns {
		columns[o.OID] = o.Name
	}
	for _, o := range t.Labels {
		labels[o.OID] = o.Name
	}
	type row struct {
		labels map[string]string
		values map[string]float64
	}
	rows := map[string]*row{}
	var order []string
	for _, v := range vars {
		rest, ok := strings.CutPrefix(strings.TrimPrefix(v.OID, "."), entry+".")
		if !ok {
			continue
		}
		col, index, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		index = strings.ToValidUTF8(index, "\uFFFD") // it becomes a label value
		metric, isCol := columns[col]
		label, isLabel := labels[col]
		if !isCol && !isLabel {
			continue
		}
		r := rows[index]
		if r == nil {
			r = &row{labels: map[string]string{}, values: map[string]float64{}}
			rows[index] = r
			order = append(order, index)
		}
		if isLabel {
			r.labels[label] = Text(v)
		} else if f, ok := Number(v); ok {
			r.values[metric] = f
		}
	}
	var out []Sample
	for _, index := range order {
		r := rows[index]
		var l []string
		parts := strings.Split(index, ".")
		switch {
		case len(t.Indexes) == 1:
			l = append(l, t.Indexes[0], index)
		case len(t.Indexes) == len(parts):
			for i, name := range t.Indexes {
				l = append(l, name, parts[i])
			}
		default:
			l = append(l, "index", index)
		}
		for _, o := range t.Labels {
			l = append(l, o.Name, r.labels[o.Name])
		}
		for _, o := range t.Columns {
			if v, ok := r.values[o.Name]; ok {
				out = append(out, Sample{Name: o.Name, Labels: l, Value: v})
			}
		}
	}
	return out, nil
}

// ups is UPS-MIB (RFC 1628): battery, input, output and alarms.
var ups = Definition{Name: "ups",
	Scalars: []Object{
		{"1.3.6.1.2.1.33.1.2.1.0", "upsBatteryStatus"}, // 1 unknown, 2 normal, 3 low, 4 depleted
		{"1.3.6.1.2.1.33.1.2.2.0", "upsSecondsOnBattery"},
		{"1.3.6.1.2.1.33.1.2.3.0", "upsEstimatedMinutesRemaining"},
		{"1.3.6.1.2.1.33.1.2.4.0", "upsEstimatedChargeRemaining"}, // percent
		{"1.3.6.1.2.1.33.1.2.5.0", "upsBatteryVoltage"},           // 0.1 V
		{"1.3.6.1.2.1.33.1.2.7.0", "upsBatteryTemperature"},       // degrees Celsius
		{"1.3.6.1.2.1.33.1.4.1.0", "upsOutputSource"},             // 3 normal, 4 bypass, 5 battery ...
		{"1.3.6.1.2.1.33.1.6.1.0", "upsAlarmsPresent"},
	},
	Tables: []Table{
		{Entry: "1.3.6.1.2.1.33.1.3.3.1", Indexes: []string{"upsInputLineIndex"},
			Columns: []Object{{"2", "upsInputFrequency"}, {"3", "upsInputVoltage"}}},
		{Entry: "1.3.6.1.2.1.33.1.4.4.1", Indexes: []string{"upsOutputLineIndex"},
			Columns: []Object{{"2", "upsOutputVoltage"}, {"3", "upsOutputCurrent"}, {"4", "upsOutputPower"}, {"5", "upsOutputPercentLoad"}}},
	},
}

// printer is Printer-MIB (RFC 3805) supplies and HOST-RESOURCES printer
// status.
var printer = Definition{Name: "printer",
	Tables: []Table{
		{Entry: "1.3.6.1.2.1.43.11.1.1", Indexes: []string{"hrDeviceIndex", "prtMarkerSuppliesIndex"},
			Labels:  []Object{{"6", "prtMarkerSuppliesDescription"}},
			Columns: []Object{{"4", "prtMarkerSuppliesClass"}, {"5", "prtMarkerSuppliesType"}, {"8", "prtMarkerSuppliesMaxCapacity"}, {"9", "prtMarkerSuppliesLevel"}}},
		{Entry: "1.3.6.1.2.1.25.3.5.1", Indexes: []string{"hrDeviceIndex"},
			Columns: []Object{{"1", "hrPrinterStatus"}}}, // 1 other, 2 unknown, 3 idle, 4 printing, 5 warmup
	},
}
