package collector

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// TestRemovedCheckEnds: a check removed from the configuration ends its
// target (recorded SHUTDOWN, no longer listed) and resolves its incidents,
// on reload.
func TestRemovedCheckEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // the checked service, a real peer
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yml")
	c, _ := startCollectorIn(t, dir, "availability: {check_interval: 1h}\nchecks:\n  - {name: api, type: tcp, target: \""+ln.Addr().String()+"\", interval: 1h}\n", nil)
	ctx := context.Background()
	now := time.Now()
	if err := c.tracker.ProbeResult(ctx, state.Probe{Name: "api", Kind: state.KindCheck, Interval: time.Hour, OK: true}, now); err != nil {
		t.Fatal(err)
	}
	inc := &alerting.Incident{DedupKey: "api", Rule: "CheckSlow", Title: "api slow", Target: "api", Priority: alerting.P3,
		Status: alerting.StatusOpen, OpenedAt: now}
	if err := c.store.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	without := strings.Split(string(body), "checks:")[0]
	if err := os.WriteFile(path, []byte(without), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	for _, tg := range c.tracker.Snapshot() {
		if tg.Name == "api" {
			t.Errorf("the removed check's target is still listed: %+v", tg)
		}
	}
	got, err := c.store.Incident(ctx, inc.ID)
	if err != nil || got.Status != alerting.StatusResolved {
		t.Errorf("the removed check's incident: %+v %v, want resolved", got, err)
	}
	hist, err := c.store.History(ctx, "api", now.Add(-time.Minute), time.Now().Add(time.Minute))
	if err != nil || len(hist) == 0 || hist[len(hist)-1].To != state.Shutdown || hist[len(hist)-1].Cause != "removed from the configuration" {
		t.Errorf("history %+v %v, want it to end SHUTDOWN, removed from the configuration", hist, err)
	}
}
