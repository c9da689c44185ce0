package shard

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
)

// oneSecond is what one collector of a 1,000-device fleet (30 s
// interval, 50 interfaces x 4 counters each) polls in a second: 33
// devices, 200 samples and one outcome each.
func oneSecond() *Feed {
	f := NewFeed(FeedOptions{Self: 1})
	now := time.Now()
	for d := range 33 {
		dev := fmt.Sprintf("access-switch-%04d.site-%02d.example.net", d, d%20)
		for i := range 50 {
			for _, m := range []string{"ifHCInOctets", "ifHCOutOctets", "ifInErrors", "ifOutErrors"} {
				f.Sample(labels.FromStrings("__name__", m, "device", dev, "ifIndex", fmt.Sprint(i+1), "ifName", fmt.Sprintf("GigabitEthernet1/0/%d", i+1),
					"ifAlias", "uplink to floor switch", "site", fmt.Sprintf("site-%02d", d%20)), now.UnixMilli(), float64(i*1e9))
			}
		}
		f.Result(state.Probe{Name: dev, Kind: state.KindDevice, Labels: map[string]string{"site": "x"}, Interval: 30 * time.Second, OK: true}, now)
	}
	return f
}

// BenchmarkFeedBatch encodes and decodes one second of a 1,000-device
// fleet's polls (what one member writes and each other reads every
// second), and reports the body's size.
func BenchmarkFeedBatch(b *testing.B) {
	f := oneSecond()
	b.ReportAllocs()
	var size int
	for b.Loop() {
		body, err := encode(&f.pending)
		if err != nil {
			b.Fatal(err)
		}
		size = len(body)
		out, err := decode(body)
		if err != nil || len(out.Samples) != len(f.pending.Samples) {
			b.Fatalf("decoded %d samples, %v; want %d", len(out.Samples), err, len(f.pending.Samples))
		}
	}
	b.ReportMetric(float64(size), "body-bytes")
}
