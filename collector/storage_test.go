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
