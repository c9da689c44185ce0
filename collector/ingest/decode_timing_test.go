package ingest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/internal/loadgen"
	"github.com/ninesmon/nines/collector/samples"
)

type discard struct{}

func (discard) Append(labels.Labels, int64, float64) error { return nil }

var benchPayload = loadgen.Payload(5000, 1_700_000_000_000_000_000, 1)

// rawDecode walks every line, tag, field and timestamp with the
// line-protocol/v2 decoder alone: the floor any decoder built on it has.
func rawDecode(body []byte) int {
	n := 0
	dec := lineprotocol.NewDecoderWithBytes(body)
	for dec.Next() {
		if _, err := dec.Measurement(); err != nil {
			panic(err)
		}
		for {
			k, _, err := dec.NextTag()
			if err != nil {
				panic(err)
			}
			if k == nil {
				break
			}
		}
		for {
			k, _, err := dec.NextField()
			if err != nil {
				panic(err)
			}
			if k == nil {
				break
			}
			n++
		}
		if _, err := dec.Time(lineprotocol.Nanosecond, time.Time{}); err != nil {
			panic(err)
		}
	}
	return n
}

func BenchmarkRawDecoder(b *testing.B) {
	b.SetBytes(int64(len(benchPayload)))
	b.ReportAllocs()
	for b.Loop() {
		rawDecode(benchPayload)
	}
	b.ReportMetric(float64(b.N)*5000/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkDecode is our decode stage (labels built for every sample)
// into a store that keeps nothing.
func BenchmarkDecode(b *testing.B) {
	var d Decoder
	body := make([]byte, len(benchPayload))
	opts := DecodeOptions{Precision: time.Nanosecond, MaxLineBytes: 65536, Extra: []labels.Label{{Name: "db", Value: "telegraf"}}}
	b.SetBytes(int64(len(benchPayload)))
	b.ReportAllocs()
	for b.Loop() {
		copy(body, benchPayload)
		d.Decode(body, opts, discard{})
	}
	b.ReportMetric(float64(b.N)*5000/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkDecodeVsRaw runs both on the same bytes, interleaved, and
// reports our throughput as a ratio of the raw decoder's (target: 0.9).
func BenchmarkDecodeVsRaw(b *testing.B) {
	var d Decoder
	body := make([]byte, len(benchPayload))
	opts := DecodeOptions{Precision: time.Nanosecond, MaxLineBytes: 65536}
	var ours, raw time.Duration
	for b.Loop() {
		copy(body, benchPayload)
		t0 := time.Now()
		d.Decode(body, opts, discard{})
		t1 := time.Now()
		rawDecode(benchPayload)
		raw += time.Since(t1)
		ours += t1.Sub(t0)
	}
	b.ReportMetric(raw.Seconds()/ours.Seconds(), "x-raw-throughput")
}

// TestDecodeAllocationsPerLine pins the "no allocation per line" promise:
// a 5,000-line payload may cost a handful of allocations (buffers grown on
// first use), not thousands.
func TestDecodeAllocationsPerLine(t *testing.T) {
	var d Decoder
	body := make([]byte, len(benchPayload))
	opts := DecodeOptions{Precision: time.Nanosecond, MaxLineBytes: 65536}
	copy(body, benchPayload)
	d.Decode(body, opts, discard{}) // warm the buffers
	allocs := testing.AllocsPerRun(5, func() {
		copy(body, benchPayload)
		d.Decode(body, opts, discard{})
	})
	if lines := bytes.Count(benchPayload, []byte("\n")); allocs > float64(lines)/100 {
		t.Errorf("%v allocations for %d lines", allocs, lines)
	}
}

// BenchmarkParseVsRaw compares the parsing stage alone (tags, fields and
// timestamps read, checked and kept for the line; no labels built) with
// the raw decoder on the same bytes (target: 0.9).
func BenchmarkParseVsRaw(b *testing.B) {
	var d Decoder
	body := make([]byte, len(benchPayload))
	opts := DecodeOptions{Precision: time.Nanosecond, MaxLineBytes: 65536}
	var ours, raw time.Duration
	for b.Loop() {
		copy(body, benchPayload)
		t0 := time.Now()
		d.Decode(body, opts, nil)
		t1 := time.Now()
		rawDecode(benchPayload)
		raw += time.Since(t1)
		ours += t1.Sub(t0)
	}
	b.ReportMetric(raw.Seconds()/ours.Seconds(), "x-raw-throughput")
}

// BenchmarkDecodeWrite is BenchmarkDecode as /write decodes: host tag
// admitted, with and without the hosts' shared tags tracked for their
// labels.
func BenchmarkDecodeWrite(b *testing.B) {
	for _, hostLabels := range []bool{false, true} {
		b.Run(fmt.Sprintf("host_labels=%v", hostLabels), func(b *testing.B) {
			var d Decoder
			body := make([]byte, len(benchPayload))
			opts := DecodeOptions{Precision: time.Nanosecond, MaxLineBytes: 65536, Extra: []labels.Label{{Name: "db", Value: "telegraf"}},
				HostTag: "host", AdmitHost: func(string) error { return nil }, HostLabels: hostLabels}
			b.SetBytes(int64(len(benchPayload)))
			b.ReportAllocs()
			for b.Loop() {
				copy(body, benchPayload)
				d.Decode(body, opts, discard{})
			}
			b.ReportMetric(float64(b.N)*5000/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkDecodeIntoWindow decodes /write batches of 5,000 lines from
// 20 rounds of 1,000 hosts (89,000 series) into a real window, in order,
// as bench/ingest.sh sends them. The first four batches, which create
// the series, run before the timer; the window starts again after the
// last batch.
func BenchmarkDecodeIntoWindow(b *testing.B) {
	const rounds, created = 20, 4
	payload := loadgen.Payload(rounds*18_000, 1_700_000_000_000_000_000, 1)
	streams, _ := loadgen.Shard(payload, 1, 5000)
	batches := streams[0]
	now := time.Unix(0, 1_700_000_000_000_000_000+rounds*1e9)
	opts := DecodeOptions{Precision: time.Nanosecond, Now: now, MaxLineBytes: 65536, Extra: []labels.Label{{Name: "db", Value: "bench"}},
		HostTag: "host", AdmitHost: func(string) error { return nil }, HostLabels: true}
	var d Decoder
	body := make([]byte, 0, 2<<20)
	var w *samples.Store
	decode := func(i int) Result {
		body = append(body[:0], batches[i]...)
		res := d.Decode(body, opts, w)
		if res.Points == 0 || res.Refused() > 0 || res.FirstErr != nil {
			b.Fatalf("batch %d: %+v", i, res)
		}
		return res
	}
	b.ReportAllocs()
	i, lines := len(batches), 0
	for b.Loop() {
		if i == len(batches) {
			b.StopTimer()
			w = samples.New(time.Hour, 0, 0)
			for i = 0; i < created; i++ {
				decode(i)
			}
			b.StartTimer()
		}
		lines += decode(i).Lines
		i++
	}
	b.ReportMetric(float64(lines)/b.Elapsed().Seconds(), "lines/s")
}
