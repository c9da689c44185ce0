package rules_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/rules"
)

// benchRules makes n alerting rules, rule i over bench_metric_i, each
// selecting every series of its metric; about 5 % of the series fire.
func benchRules(n int) string {
	s := "groups:\n  - name: bench\n    interval: 10s\n    rules:\n"
	for i := range n {
		s += fmt.Sprintf("      - alert: Bench%d\n        expr: bench_metric_%d > 0.95\n        labels: {severity: warning}\n", i, i)
	}
	return s
}

// loadSeries fills a window with rules x series series, one sample every
// 15 s over the last 5 minutes.
func loadSeries(b *testing.B, store *samples.Store, rulesN, seriesN int, now time.Time) {
	for r := range rulesN {
		name := "bench_metric_" + strconv.Itoa(r)
		for s := range seriesN {
			l := labels.FromStrings("__name__", name, "instance", "host-"+strconv.Itoa(s), "job", "node")
			for k := 20; k >= 0; k-- {
				v := float64((s*7+r)%100) / 100
				if err := store.Append(l, now.Add(-time.Duration(k)*15*time.Second).UnixMilli(), v); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// BenchmarkEvaluate100Rules5000Series evaluates 100 rules over 5,000
// series each (500,000 series), as one evaluation cycle.
func BenchmarkEvaluate100Rules5000Series(b *testing.B) {
	const rulesN, seriesN = 100, 5000
	now := time.Now()
	store := samples.New(time.Hour, 0, 0)
	loadSeries(b, store, rulesN, seriesN, now)
	f, err := rules.Parse("bench.yml", []byte(benchRules(rulesN)))
	if err != nil {
		b.Fatal(err)
	}
	m := rules.NewManager(rules.Options{Queryable: store, Now: func() time.Time { return now }})
	m.Update([]*rules.File{f})
	at := now
	b.ResetTimer()
	for b.Loop() {
		at = at.Add(10 * time.Second)
		m.EvalDue(context.Background(), at)
	}
	perCycle := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perCycle/10*100, "%core-at-10s")
	b.ReportMetric(perCycle/rulesN/seriesN*1e9, "ns/rule/series")
	firing := 0
	for _, a := range m.Alerts() {
		if a.State == rules.StateFiring {
			firing++
		}
	}
	b.ReportMetric(float64(firing), "firing-alerts")
}
