package collector

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
)

// TestCollectorOnPostgres runs the collector on a real PostgreSQL
// (storage.driver: postgres, the DSN read from dsn_file): it starts, keeps
// a target's state and labels, and a second collector started on the
// same database finds them.
func TestCollectorOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(pg.NewDatabase(t)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(path, []byte("web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {driver: postgres, dsn_file: pg.dsn}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func() (*Collector, func()) {
		t.Helper()
		c, err := New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
		select {
		case <-c.Listening():
		case err := <-done:
			t.Fatalf("Run: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("not listening within 30 s")
		}
		stop := func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		return c, stop
	}
	c, stop := run()
	// Alone on the database, it takes the leader lock at once.
	for deadline := time.Now().Add(10 * time.Second); !c.lease.IsLeader(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not leading within 10 s")
		}
	}
	if epoch, _ := c.lease.Leader(); epoch != 1 {
		t.Errorf("first leader's epoch: %d, want 1", epoch)
	}
	obs := state.Observation{Name: "db1", ID: "machine-1", Labels: map[string]string{"site": "lab"}, Interval: 10 * time.Second}
	if err := c.tracker.Observe(ctx, obs, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := c.tracker.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	latest, err := c.store.LatestChanges(ctx)
	if err != nil || len(latest) != 1 || latest[0].Target != "db1" || latest[0].To != state.Up {
		t.Fatalf("in PostgreSQL: %+v, %v", latest, err)
	}
	stop()
	second, stop := run()
	defer stop()
	if got := second.tracker.Snapshot(); len(got) != 1 || got[0].Labels["site"] != "lab" || got[0].State != state.Up {
		t.Errorf("a second collector on the database: %+v", got)
	}
}

// TestPairOnPostgres: of two collectors on one database, one leads; a
// host both see is written once (the follower's change is left to the
// leader); a host only the follower saw is written when it takes over
// after the leader stops, with the next epoch.
func TestPairOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	ctx := context.Background()
	newMember := func() *Collector {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(dsn+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return buildCollector(t, dir, "web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {driver: postgres, dsn_file: pg.dsn}\n")
	}
	waitLeader := func(c *Collector, what string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !c.lease.IsLeader(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not leading within 15 s", what)
			}
		}
	}
	leader := newMember()
	stopLeader := runCollector(t, leader)
	waitLeader(leader, "the first")
	follower := newMember()
	runCollector(t, follower)
	<-follower.Listening()

	now := time.Now()
	both := state.Observation{Name: "web1", ID: "m-1", Interval: 10 * time.Second}
	for _, c := range []*Collector{leader, follower} {
		if err := c.tracker.Observe(ctx, both, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := follower.tracker.Observe(ctx, state.Observation{Name: "web2", ID: "m-2", Interval: 10 * time.Second}, now); err != nil {
		t.Fatal(err)
	}
	if follower.lease.IsLeader() {
		t.Fatal("both lead")
	}
	// The follower names the pair's epoch, not its own (it never led),
	// as its lease loop read it (every second).
	for deadline := time.Now().Add(5 * time.Second); follower.role() != "follower of epoch 1"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the follower's role: %q, want \"follower of epoch 1\"", follower.role())
		}
	}
	history := func() map[string]int {
		t.Helper()
		all, err := follower.store.History(ctx, "", now.Add(-time.Hour), now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, c := range all {
			n[c.Target]++
		}
		return n
	}
	if h := history(); h["web1"] != 1 || h["web2"] != 0 {
		t.Fatalf("state changes written: %v, want web1 once (by the leader), web2 not yet", h)
	}
	if n := follower.statesSkipped.Load(); n != 2 {
		t.Errorf("changes the follower left to the leader: %d, want 2", n)
	}

	stopLeader() // a clean stop releases the lock at once
	waitLeader(follower, "the follower after the leader stopped")
	if epoch, _ := follower.lease.Leader(); epoch != 2 {
		t.Errorf("the new leader's epoch: %d, want 2", epoch)
	}
	if h := history(); h["web1"] != 1 || h["web2"] != 1 {
		t.Errorf("state changes after the takeover: %v, want web1 and web2 once each", h)
	}
}
