package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/state"
)

// TestBoardAndPages runs a collector and reads the wall board, a target's
// page (with a chart over real samples) and a service's page, as the
// collector wires the UI's data.
func TestBoardAndPages(t *testing.T) {
	c, _ := startCollector(t, `availability: {check_interval: 1h}
incidents:
  targets:
    P2: {respond: 10m, resolve: 1h}
services:
  - {name: web, group: office, combine: any, components: {targets: [w1, w2]}}
`, nil)
	ctx := context.Background()
	now := time.Now()
	for _, h := range []string{"w1", "w2"} {
		if err := c.tracker.Observe(ctx, state.Observation{Name: h, Interval: time.Hour, Labels: map[string]string{"site": "hq"}}, now); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		ts := now.Add(time.Duration(i-10) * time.Minute).UnixMilli()
		_ = c.samples.Append(labels.FromStrings("__name__", "node_load1", "host", "w1"), ts, float64(i))
	}
	checkState(t, c, now, "w1", state.Up)
	b, err := c.board.Board(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Services) != 1 || b.Services[0].State != "up" || b.Services[0].Group != "office" || b.Counts["up"] != 2 ||
		len(b.Groups) != 1 || b.Groups[0].Name != "hq" || b.Groups[0].Total != 2 {
		t.Errorf("board = %+v", b)
	}
	v, err := c.board.Target(ctx, "w1", now)
	if err != nil || v == nil {
		t.Fatalf("target page: %v %v", v, err)
	}
	var load string
	for _, ch := range v.Charts {
		if ch.Title == "Load (1 min)" && !ch.Empty() {
			load = strings.Join(ch.Paths(), " ")
		}
	}
	if load == "" {
		t.Errorf("no load chart from the samples: %+v", v.Charts)
	}
	if len(v.History) == 0 || v.History[0].To != state.Up || len(v.Availability) != 3 {
		t.Errorf("history %+v, availability %+v", v.History, v.Availability)
	}
	if v, _ := c.board.Target(ctx, "nope", now); v != nil {
		t.Errorf("unknown target gave a page")
	}
	sv, err := c.board.Service(ctx, "web", now)
	if err != nil || sv == nil || len(sv.Components) != 2 || len(sv.Windows) != len(servicelevel.SLAWindows) || sv.Components[1].Link != "/ui/targets/w2" {
		t.Fatalf("service page: %+v %v", sv, err)
	}
	if tg, ok := c.incidents.TargetsFor("P2"); !ok || tg.Respond != 10*time.Minute {
		t.Errorf("P2 targets %+v", tg)
	}
}
