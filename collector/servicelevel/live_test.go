package servicelevel

import (
	"testing"

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
	live := Live(cfg, targets)
	for name, want := range map[string]string{
		"web": "degraded", "db": "up", "erp": "degraded", "quorum": "degraded", "wifi": "maintenance", "ghost": "unknown",
	} {
		if got := live[name].State; got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if l := live["web"]; l.Down != 1 || len(l.Components) != 2 || l.Components[1] != (Component{Name: "w2", Kind: "host", State: "down"}) {
		t.Errorf("web components: %+v", l)
	}
	if c := live["erp"].Components; len(c) != 2 || c[0].Kind != "service" || c[0].State != "degraded" {
		t.Errorf("erp components: %+v", c)
	}
	targets[0].State = state.Down // both web hosts down now
	live = Live(cfg, targets)
	for name, want := range map[string]string{"web": "down", "erp": "down", "quorum": "down"} {
		if got := live[name].State; got != want {
			t.Errorf("after w1 went down, %s: %s, want %s", name, got, want)
		}
	}
}
