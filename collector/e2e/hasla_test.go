package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
)

// serviceFigures are the computed figures of one service as GET
// /api/v1/services shows them (not the live state, which each collector
// reads from its own tracker).
type serviceFigures struct {
	Name         string             `json:"name"`
	Availability map[string]float64 `json:"availability"`
	Downtime     map[string]float64 `json:"downtime_seconds"`
	AtRisk       bool               `json:"at_risk"`
	BurnRate     float64            `json:"burn_rate"`
	ComputedAt   *time.Time         `json:"computed_at"`
}

func (f serviceFigures) String() string {
	b, _ := json.Marshal(f)
	return string(b)
}

// TestHAPairServiceLevels runs two collectors on one real PostgreSQL and
// an agent pushing to both for the one component of a service: the two
// show the same availability, downtime and burn rate for the service, at
// the same computation instant (computed_at), before an outage of the
// host (kill -9 of its agent), while it is in progress and after it
// ended. The figures are computed at the multiples of 30 s on the wall
// clock; computed at their own phases, the two would never show the same
// computed_at, and their figures would differ by up to 30 s of data.
func TestHAPairServiceLevels(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PostgreSQL, two collectors and an agent")
	}
	if runtime.GOOS != "linux" {
		t.Skip("process signals as on Linux")
	}
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	collectorBin := binary(t, "collector/cmd/nines-collector")
	agentBin := binary(t, "agent/cmd/nines-agent")

	type member struct {
		name, dir, addr string
		api             client
	}
	pair := []*member{{name: "a", dir: t.TempDir(), addr: freeAddr(t)}, {name: "b", dir: t.TempDir(), addr: freeAddr(t)}}
	for _, m := range pair {
		writePairCollector(t, m.dir, m.addr, dsn, `
availability: {default_push_interval: 1s, down_after_intervals: 3, startup_grace: 1s, check_interval: 100ms}
services:
  - name: app
    objective: 99.9
    components: {targets: [sla-host]}
`)
		m.api = client{base: "http://" + m.addr, token: e2eAdminToken}
	}
	a, b := pair[0], pair[1]
	for _, m := range pair {
		start(t, "collector "+m.name, collectorBin, "--config", filepath.Join(m.dir, "collector.yml"))
		m.api.waitReady(t, "collector "+m.name)
	}
	eventually(t, 15*time.Second, "one leads", func() (bool, string) {
		la, lb := a.api.get(t, "/-/leader", nil), b.api.get(t, "/-/leader", nil)
		return (la == http.StatusOK) != (lb == http.StatusOK), fmt.Sprintf("/-/leader: a %d, b %d", la, lb)
	})
	// Both name the pair's epoch, the follower too (it never led).
	for _, m := range pair {
		eventually(t, 5*time.Second, m.name+" names the pair's epoch", func() (bool, string) {
			var body, ready string
			m.api.get(t, "/metrics", &body)
			m.api.get(t, "/-/ready", &ready)
			e := metricValue(body, "nines_leader_epoch")
			return e == 1 && (strings.Contains(ready, "leader, epoch 1") || strings.Contains(ready, "follower of epoch 1")),
				fmt.Sprintf("nines_leader_epoch %v, /-/ready %q", e, ready)
		})
	}

	// figures reads the service's figures at m, from /api/v1/services and
	// /api/v1/services/app; they must be the same.
	figures := func(m *member) serviceFigures {
		var resp struct{ Data serviceFigures }
		var list struct{ Data []serviceFigures }
		if c := m.api.get(t, "/api/v1/services/app", &resp); c != http.StatusOK {
			t.Fatalf("GET /api/v1/services/app at %s: %d", m.name, c)
		}
		if c := m.api.get(t, "/api/v1/services", &list); c != http.StatusOK {
			t.Fatalf("GET /api/v1/services at %s: %d", m.name, c)
		}
		one, all := resp.Data, list.Data
		if len(all) != 1 {
			t.Fatalf("GET /api/v1/services at %s: %v, want app", m.name, all)
		}
		// A computation may have ended between the two requests.
		if all[0].ComputedAt != nil && one.ComputedAt != nil && all[0].ComputedAt.Equal(*one.ComputedAt) && all[0].String() != one.String() {
			t.Errorf("at %s, /api/v1/services %v and /api/v1/services/app %v disagree", m.name, all[0], one)
		}
		return one
	}
	// agree waits until both have computed for one instant after since
	// and then checks that they show the same figures; it returns them.
	agree := func(what string, since time.Time) serviceFigures {
		t.Helper()
		var fa, fb serviceFigures
		// Figures every 30 s: the next two instants at the most, on a
		// busy machine.
		eventually(t, 75*time.Second, what+": both computed for one instant", func() (bool, string) {
			fa, fb = figures(a), figures(b)
			ok := fa.ComputedAt != nil && fb.ComputedAt != nil && fa.ComputedAt.Equal(*fb.ComputedAt) && fa.ComputedAt.After(since)
			return ok, fmt.Sprintf("a %v, b %v", fa, fb)
		})
		if fa.String() != fb.String() {
			t.Errorf("%s: the two collectors show different figures for %s:\na %v\nb %v", what, fa.ComputedAt, fa, fb)
		}
		if fa.ComputedAt.Truncate(30*time.Second) != *fa.ComputedAt {
			t.Errorf("%s: computed at %s, not a multiple of 30 s", what, fa.ComputedAt)
		}
		t.Logf("%s: %v", what, fa)
		return fa
	}

	agent, _ := startPairAgent(t, agentBin, "200ms", "sla-host", a.addr, b.addr)
	for _, m := range pair {
		eventually(t, 15*time.Second, "host UP at "+m.name, stateIs(t, m.api, "sla-host", "up"))
	}
	up := agree("host up", time.Now())
	if up.Availability["1h"] != 1 || up.Downtime["1h"] != 0 {
		t.Errorf("host up: %v, want availability 1 over 1h and no downtime", up)
	}

	// The outage: kill -9 of the agent; both see the host down.
	agent.stop(t, syscall.SIGKILL)
	for _, m := range pair {
		eventually(t, 15*time.Second, "host DOWN at "+m.name, stateIs(t, m.api, "sla-host", "down"))
	}
	during := agree("outage in progress", time.Now())
	if during.Downtime["1h"] <= 0 || during.Availability["1h"] >= 1 {
		t.Errorf("outage in progress: %v, want downtime over 1h", during)
	}
	// The next instant: the outage longer by 30 s.
	longer := agree("outage still in progress", *during.ComputedAt)
	if d := longer.Downtime["1h"] - during.Downtime["1h"]; math.Abs(d-longer.ComputedAt.Sub(*during.ComputedAt).Seconds()) > 0.001 {
		t.Errorf("outage still in progress: downtime %v then %v, want it longer by the time between", during.Downtime["1h"], longer.Downtime["1h"])
	}

	// The host back: the outage ended, its downtime stays.
	startPairAgent(t, agentBin, "200ms", "sla-host", a.addr, b.addr)
	for _, m := range pair {
		eventually(t, 15*time.Second, "host UP again at "+m.name, stateIs(t, m.api, "sla-host", "up"))
	}
	back := time.Now()
	after := agree("outage ended", back)
	if after.Downtime["1h"] < longer.Downtime["1h"] || after.Downtime["1h"] > longer.Downtime["1h"]+back.Sub(*longer.ComputedAt).Seconds() {
		t.Errorf("outage ended: downtime %v, want from %v (30 s before) to the outage's end", after.Downtime["1h"], longer.Downtime["1h"])
	}
	again := agree("after the outage", *after.ComputedAt)
	if again.Downtime["1h"] != after.Downtime["1h"] {
		t.Errorf("after the outage: downtime %v, then %v; want it unchanged", after.Downtime["1h"], again.Downtime["1h"])
	}
}
