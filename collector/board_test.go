package collector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

func TestLiveServices(t *testing.T) {
	cfg := &config.Config{Services: []config.Service{
		{Name: "web", Combine: "any", Components: config.ServiceComponents{Targets: []string{"w1", "w2"}}},
		{Name: "db", Combine: "all", Components: config.ServiceComponents{Selector: map[string]string{"role": "db"}}},
		{Name: "erp", Combine: "all", Components: config.ServiceComponents{Services: []string{"web", "db"}}},
		{Name: "quorum", Combine: "k_of_n", K: 2, Components: config.ServiceComponents{Targets: []string{"w1", "w2", "d1"}}},
		{Name: "wifi", Combine: "all", Components: config.ServiceComponents{Targets: []string{"ap1"}}},
		{Name: "ghost", Combine: "all", Components: config.ServiceComponents{Targets: []string{"never-seen"}}},
	}}
	targets := []state.Target{
		{Name: "w1", Kind: state.KindHost, State: state.Up},
		{Name: "w2", Kind: state.KindHost, State: state.Down},
		{Name: "d1", Kind: state.KindHost, State: state.Up, Labels: map[string]string{"role": "db"}},
		{Name: "ap1", Kind: state.KindDevice, State: state.Maintenance},
	}
	live := liveServices(cfg, targets)
	for name, want := range map[string]string{
		"web": "degraded", "db": "up", "erp": "degraded", "quorum": "degraded", "wifi": "maintenance", "ghost": "unknown",
	} {
		if got := live[name].state; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if l := live["web"]; l.down != 1 || len(l.components) != 2 || l.components[1].Link != "/ui/targets/w2" {
		t.Errorf("web components: %+v", l)
	}
	if c := live["erp"].components; len(c) != 2 || c[0].Kind != "service" || c[0].State != "degraded" {
		t.Errorf("erp components: %+v", c)
	}
	targets[0].State = state.Down // both web hosts down now
	live = liveServices(cfg, targets)
	for name, want := range map[string]string{"web": "down", "erp": "down", "quorum": "down"} {
		if got := live[name].state; got != want {
			t.Errorf("after w1 went down, %s: %s, want %s", name, got, want)
		}
	}
	if got := groupState(map[string]int{"up": 3, "down": 1}); got != "degraded" {
		t.Errorf("group with one down: %s", got)
	}
}

// TestBoardAndPages runs a collector and reads the wall board, a target's
// page (with a chart over real samples) and a service's page.
func TestBoardAndPages(t *testing.T) {
	c, _ := startCollector(t, `availability: {check_interval: 50ms}
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
	waitState(t, c, "w1", state.Up)
	b, err := boardData{c}.Board(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Services) != 1 || b.Services[0].State != "up" || b.Services[0].Group != "office" || b.Counts["up"] != 2 ||
		len(b.Groups) != 1 || b.Groups[0].Name != "hq" || b.Groups[0].Total != 2 {
		t.Errorf("board = %+v", b)
	}
	v, err := boardData{c}.Target(ctx, "w1", now)
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
	if v, _ := (boardData{c}).Target(ctx, "nope", now); v != nil {
		t.Errorf("unknown target gave a page")
	}
	sv, err := boardData{c}.Service(ctx, "web", now)
	if err != nil || sv == nil || len(sv.Components) != 2 || len(sv.Windows) != len(SLAWindows) {
		t.Fatalf("service page: %+v %v", sv, err)
	}
	if tg, ok := c.incidents.TargetsFor("P2"); !ok || tg.Respond != 10*time.Minute {
		t.Errorf("P2 targets %+v", tg)
	}
}
