package collector

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
)

// TestShardOnPostgres: two collectors built on one PostgreSQL see each
// other as members and split the configured devices and checks, each
// owned by exactly one; an outcome read from the other is tracked only
// for a device or check (or a device's interface) of this one's
// configuration. On SQLite a collector owns everything.
func TestShardOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDatabase(t)
	const inventory = `
devices:
  - {name: sw1, address: "127.0.0.1:1", community: public}
  - {name: sw2, address: "127.0.0.1:1", community: public}
  - {name: sw3, address: "127.0.0.1:1", community: public}
checks:
  - {name: web, type: tcp, target: "127.0.0.1:1"}
  - {name: db, type: tcp, target: "127.0.0.1:1"}
`
	newMember := func() *Collector {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "pg.dsn"), []byte(dsn+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c := buildCollector(t, dir, "web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {driver: postgres, dsn_file: pg.dsn}\n"+inventory)
		t.Cleanup(func() { c.store.Close() })
		return c
	}
	a, b := newMember(), newMember()
	ctx := context.Background()
	if err := a.members.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Collector{a, b} {
		if got, want := c.members.Members(), []int64{a.runID, b.runID}; !slices.Equal(got, want) {
			t.Errorf("members seen by run %d: got %v, want %v", c.runID, got, want)
		}
	}
	for _, name := range []string{"sw1", "sw2", "sw3", "web", "db"} {
		if a.owns(name) == b.owns(name) {
			t.Errorf("%s: owned by a %v, by b %v; want exactly one", name, a.owns(name), b.owns(name))
		}
	}

	sink := &feedSink{c: a}
	now := time.Now()
	for _, p := range []state.Probe{
		{Name: "sw1", Kind: state.KindDevice, OK: true},
		{Name: "sw1 Gi0/1", Kind: state.KindInterface, Labels: map[string]string{"device": "sw1"}, OK: true},
		{Name: "gone", Kind: state.KindDevice, OK: true},
		{Name: "gone Gi0/1", Kind: state.KindInterface, Labels: map[string]string{"device": "gone"}, OK: true},
		{Name: "old-check", Kind: state.KindCheck, OK: true},
		// A trap's: the interface only.
		{Name: "sw2 Gi0/2", Kind: state.KindInterface, OK: false, Immediate: true, Cause: "linkDown trap"},
	} {
		if err := sink.ProbeResult(ctx, p, now); err != nil {
			t.Fatal(err)
		}
	}
	var tracked []string
	for _, tg := range a.tracker.Snapshot() {
		tracked = append(tracked, tg.Name)
	}
	slices.Sort(tracked)
	if want := []string{"sw1", "sw1 Gi0/1", "sw2 Gi0/2"}; !slices.Equal(tracked, want) {
		t.Errorf("tracked from another collector's outcomes: got %v, want %v", tracked, want)
	}

	alone := buildCollector(t, t.TempDir(), "web: {listen_address: \""+freeAddr(t)+"\"}\nstorage: {path: nines.db}\n"+inventory)
	t.Cleanup(func() { alone.store.Close() })
	if alone.members != nil || alone.feed != nil || !alone.owns("sw1") {
		t.Errorf("on SQLite: members %v, feed %v, owns sw1 %v; want none, none, true", alone.members, alone.feed, alone.owns("sw1"))
	}
}
