// Package push turns collected batches into gzip-compressed line protocol
// and delivers them to the collector: a bounded queue that drops the oldest
// batch when full (and counts it), and a sender that retries with
// exponential backoff and jitter, failing over between collector URLs.
package push

import (
	"math"
	"slices"

	"github.com/influxdata/line-protocol/v2/lineprotocol"

	"github.com/ninesmon/nines/agent/host"
)

// Encoder appends batches as line protocol. Samples that share a measurement
// and label set, one after another, become one line with several fields.
// A zero Encoder is ready to use; it is not safe for concurrent use.
type Encoder struct {
	enc     lineprotocol.Encoder
	skipped int
}

// Skipped is the number of samples left out so far because line protocol
// cannot carry them (NaN or infinite values).
func (e *Encoder) Skipped() int { return e.skipped }

// Append encodes b after dst and returns the extended buffer. extra labels
// are added to every line (the agent's configured labels); a sample's own
// label of the same name wins.
func (e *Encoder) Append(dst []byte, b *host.Batch, extra []host.Label) ([]byte, error) {
	e.enc.SetBuffer(dst)
	e.enc.SetPrecision(lineprotocol.Millisecond)
	open := false
	var cur *host.Sample
	var tags []host.Label
	for i := range b.Samples {
		s := &b.Samples[i]
		v, ok := lineprotocol.FloatValue(s.Value)
		if !ok || math.IsNaN(s.Value) {
			e.skipped++
			continue
		}
		if open && (s.Measurement != cur.Measurement || !slices.Equal(s.Labels, cur.Labels)) {
			e.enc.EndLine(b.Time)
			open = false
		}
		if !open {
			e.enc.StartLine(s.Measurement)
			tags = mergeLabels(tags[:0], s.Labels, extra)
			for _, t := range tags {
				if t.Value != "" {
					e.enc.AddTag(t.Name, t.Value)
				}
			}
			cur, open = s, true
		}
		e.enc.AddField(s.Field, v)
	}
	if open {
		e.enc.EndLine(b.Time)
	}
	out := e.enc.Bytes()
	err := e.enc.Err()
	e.enc.ClearErr()
	return out, err
}

// mergeLabels merges two name-sorted label lists into dst, sorted; on equal
// names the first list wins.
func mergeLabels(dst, own, extra []host.Label) []host.Label {
	i, j := 0, 0
	for i < len(own) || j < len(extra) {
		switch {
		case j == len(extra) || (i < len(own) && own[i].Name < extra[j].Name):
			dst = append(dst, own[i])
			i++
		case i == len(own) || extra[j].Name < own[i].Name:
			dst = append(dst, extra[j])
			j++
		default: // same name: the sample's own label wins
			dst = append(dst, own[i])
			i++
			j++
		}
	}
	return dst
}
