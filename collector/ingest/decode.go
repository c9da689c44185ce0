// Package ingest receives line protocol from agents (and, later, any
// line-protocol sender), turns each field into a sample of the recent
// window, and tells the availability tracker who reported.
package ingest

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/agent/wire"
)

// Appender stores samples.
type Appender interface {
	Append(lset labels.Labels, t int64, v float64) error
}

// Result counts what a payload held.
type Result struct {
	Lines    int // lines read (valid or not)
	Points   int // samples stored
	Rejected int // lines refused (syntax, or every sample refused)
	Ignored  int // fields that are not numbers (strings)
	Refused  int // samples the store refused (out of order, series limit)
	// FirstErr is the first bad line, with its line number.
	FirstErr error
}

// Decoder turns line protocol into samples. It reuses its buffers; it is
// not safe for concurrent use (keep one per request, or pool them).
type Decoder struct {
	tags   []tag
	fields []field
	sb     labels.ScratchBuilder
}

type tag struct{ k, v string }

type field struct {
	name string
	v    float64
}

// Decode parses body and appends every sample to app, adding extra labels
// (the sender's identity) to each. Valid lines are kept even when others
// are bad. prec is the timestamp precision; lines without a timestamp get
// now.
func (d *Decoder) Decode(body []byte, prec lineprotocol.Precision, now time.Time, extra []labels.Label, app Appender) Result {
	var res Result
	dec := lineprotocol.NewDecoderWithBytes(body)
	for dec.Next() {
		res.Lines++
		ts, err := d.line(dec, prec, now, &res)
		if err != nil {
			res.Rejected++
			if res.FirstErr == nil {
				res.FirstErr = lineError(err, res.Lines)
			}
			continue
		}
		stored := 0
		for _, f := range d.fields {
			d.sb.Reset()
			d.sb.Add(model.MetricNameLabel, f.name)
			for _, t := range d.tags {
				d.sb.Add(t.k, t.v)
			}
			for _, l := range extra {
				if !d.hasTag(l.Name) {
					d.sb.Add(l.Name, l.Value)
				}
			}
			d.sb.Sort()
			if err := app.Append(d.sb.Labels(), ts, f.v); err != nil {
				res.Refused++
				continue
			}
			stored++
		}
		res.Points += stored
	}
	return res
}

func (d *Decoder) hasTag(name string) bool {
	for _, t := range d.tags {
		if t.k == name {
			return true
		}
	}
	return false
}

// line reads one line into d.tags and d.fields and returns its timestamp
// in milliseconds.
func (d *Decoder) line(dec *lineprotocol.Decoder, prec lineprotocol.Precision, now time.Time, res *Result) (int64, error) {
	d.tags, d.fields = d.tags[:0], d.fields[:0]
	m, err := dec.Measurement()
	if err != nil {
		return 0, err
	}
	for {
		k, v, err := dec.NextTag()
		if err != nil {
			return 0, err
		}
		if k == nil {
			break
		}
		if len(v) == 0 {
			continue
		}
		d.tags = append(d.tags, tag{string(k), string(v)})
	}
	for {
		k, v, err := dec.NextField()
		if err != nil {
			return 0, err
		}
		if k == nil {
			break
		}
		var f float64
		switch v.Kind() {
		case lineprotocol.Float:
			f = v.FloatV()
		case lineprotocol.Int:
			f = float64(v.IntV())
		case lineprotocol.Uint:
			f = float64(v.UintV())
		case lineprotocol.Bool:
			if v.BoolV() {
				f = 1
			}
		default:
			res.Ignored++
			continue
		}
		d.fields = append(d.fields, field{name: wire.MetricName(m, k), v: f})
	}
	t, err := dec.Time(prec, now)
	if err != nil {
		return 0, err
	}
	if len(d.fields) == 0 {
		return 0, errors.New("no numeric field")
	}
	// Tags must be unique and are sorted by ScratchBuilder.Sort later;
	// a duplicate tag key would make an invalid label set.
	sort.Slice(d.tags, func(i, j int) bool { return d.tags[i].k < d.tags[j].k })
	for i := 1; i < len(d.tags); i++ {
		if d.tags[i].k == d.tags[i-1].k {
			return 0, fmt.Errorf("duplicate tag %q", d.tags[i].k)
		}
	}
	return t.UnixMilli(), nil
}

// lineError names the payload line of a decode error.
func lineError(err error, lineNo int) error {
	var de *lineprotocol.DecodeError
	if errors.As(err, &de) {
		return fmt.Errorf("line %d: %w", de.Line, de.Err)
	}
	return fmt.Errorf("line %d: %w", lineNo, err)
}
