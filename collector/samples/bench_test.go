package samples

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

// benchWindow holds 10,000 series of an hour at 15 s (240 samples each).
func benchWindow(b *testing.B) (*Store, int64) {
	s := New(time.Hour, 0, 0)
	const step = 15_000
	ls := benchLabels()
	v := make([]float64, len(ls))
	for ts := int64(0); ts < 240*step; ts += step {
		for i, l := range ls {
			v[i] += float64((i*7919 + int(ts/step)*104729) % 65536)
			if err := s.Append(l, ts, v[i]); err != nil {
				b.Fatal(err)
			}
		}
	}
	return s, 239 * step
}

// BenchmarkAppend: one sample appended to one of 10,000 series.
func BenchmarkAppend(b *testing.B) {
	s := New(time.Hour, 0, 0)
	ls := benchLabels()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		n := i % len(ls)
		_ = s.Append(ls[n], int64(i/len(ls))*15_000, float64(i))
		i++
	}
}

// BenchmarkRuleQuery: a rule's query, rate over 5 minutes of 10,000
// series, at the window's end.
func BenchmarkRuleQuery(b *testing.B) {
	s, end := benchWindow(b)
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	b.ReportAllocs()
	for b.Loop() {
		rateQuery(b, eng, s, end)
	}
}

// BenchmarkRuleQueryLive: the same rule evaluated as the collector runs
// it: every iteration, each of the 10,000 series gets its next sample
// (15 s later) and the query runs at the new end, so each evaluation's
// range starts a step after the previous one's.
func BenchmarkRuleQueryLive(b *testing.B) {
	s, end := benchWindow(b)
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	ls := benchLabels()
	v := 1e12
	b.ReportAllocs()
	for b.Loop() {
		end += 15_000
		v += 1000
		for _, l := range ls {
			if err := s.Append(l, end, v); err != nil {
				b.Fatal(err)
			}
		}
		rateQuery(b, eng, s, end)
	}
}

// BenchmarkThresholdRule: a threshold rule (an instant selector, as most
// alerting rules are) over 10,000 series holding six samples 15 s apart,
// as bench/rules.sh loads them.
func BenchmarkThresholdRule(b *testing.B) {
	s := New(time.Hour, 0, 0)
	const step = 15_000
	for i := range 10_000 {
		l := labels.FromStrings("__name__", "bench_metric_0", "instance", "host-"+strconv.Itoa(i), "job", "node")
		for k := range int64(6) {
			if err := s.Append(l, k*step, float64((i*7)%100)/100); err != nil {
				b.Fatal(err)
			}
		}
	}
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	b.ReportAllocs()
	for b.Loop() {
		q, err := eng.NewInstantQuery(context.Background(), s, nil, `bench_metric_0 > 0.95`, time.UnixMilli(5*step+5_000))
		if err != nil {
			b.Fatal(err)
		}
		res := q.Exec(context.Background())
		if res.Err != nil {
			b.Fatal(res.Err)
		}
		if v, _ := res.Vector(); len(v) != 400 {
			b.Fatalf("got %d results, want 400", len(v))
		}
		q.Close()
	}
}

// benchLabels are the 10,000 series of the window benchmarks: 2,500
// hosts with 4 network devices each.
func benchLabels() []labels.Labels {
	ls := make([]labels.Labels, 10_000)
	for i := range ls {
		ls[i] = labels.FromStrings("__name__", "node_network_received_bytes_total", "device", "eth"+strconv.Itoa(i%4), "host", "host-"+strconv.Itoa(i/4))
	}
	return ls
}

// rateQuery runs the rule benchmarks' query at end: one result a device.
func rateQuery(b *testing.B, eng *promql.Engine, s *Store, end int64) {
	q, err := eng.NewInstantQuery(context.Background(), s, nil, `sum by (device) (rate(node_network_received_bytes_total[5m]))`, time.UnixMilli(end))
	if err != nil {
		b.Fatal(err)
	}
	res := q.Exec(context.Background())
	if res.Err != nil {
		b.Fatal(res.Err)
	}
	if v, _ := res.Vector(); len(v) != 4 {
		b.Fatalf("got %d results, want 4", len(v))
	}
	q.Close()
}
