package state

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStates: Snapshot is sorted by name, Select too with those it
// selects; States gives every target's name, kind, labels (declared
// ones over the sender's) and state, as Snapshot does, into the caller's
// buffer; a later change of labels is a new map, never the one handed
// out.
func TestStates(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, &memStore{}, opts, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{Declared: []Declared{{Name: "db", Labels: map[string]string{"role": "db"}}}, AutoRegister: true}, t0)
	for _, o := range []Observation{
		{Name: "web", Labels: map[string]string{"site": "hq"}},
		{Name: "db", Labels: map[string]string{"site": "lab", "role": "x"}},
	} {
		if err := tr.Observe(ctx, o, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 { // more, in no order, for Snapshot to sort
		if err := tr.Observe(ctx, Observation{Name: strconv.Itoa(i * 7919 % 100)}, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	views := tr.States(make([]StateView, 0, 1))
	slices.SortFunc(views, func(a, b StateView) int { return strings.Compare(a.Name, b.Name) })
	snap := tr.Snapshot()
	if len(views) != len(snap) || len(snap) != 102 {
		t.Fatalf("States gave %d targets, Snapshot %d, want 102", len(views), len(snap))
	}
	if !slices.IsSortedFunc(snap, func(a, b Target) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("Snapshot is not sorted by name")
	}
	for i, v := range views {
		s := snap[i]
		if v.Name != s.Name || v.Kind != s.Kind || v.State != s.State || !maps.Equal(v.Labels, s.Labels) {
			t.Errorf("States %+v, Snapshot %+v", v, s)
		}
	}
	sel := tr.Select(func(t *Target) bool { return t.Name == "web" || t.Name == "db" || t.Name == "5" })
	if len(sel) != 3 || sel[0].Name != "5" || sel[1].Name != "db" || sel[2].Name != "web" {
		t.Errorf("Select of 5, db and web: got %v", sel)
	}
	if got := views[100].Labels; got["role"] != "db" || got["site"] != "lab" {
		t.Errorf("db's labels: %v, want the declared role over the sender's", got)
	}
	old := views[101].Labels
	if err := tr.Observe(ctx, Observation{Name: "web", Labels: map[string]string{"site": "dc2"}}, t0.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if old["site"] != "hq" {
		t.Errorf("the labels States handed out changed to %v", old)
	}
	views = tr.States(views)
	for _, v := range views {
		if v.Name == "web" && v.Labels["site"] != "dc2" {
			t.Errorf("web's labels after the change: %v", v.Labels)
		}
	}
}

// BenchmarkStates: what the collector reads of 30,000 targets every
// check to publish their states: Snapshot (copies, labels cloned,
// sorted) against States into a kept buffer.
func BenchmarkStates(b *testing.B) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, &memStore{}, opts, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{AutoRegister: true}, t0)
	for i := range 30000 {
		o := Observation{Name: "sim-" + strconv.Itoa(i), Labels: map[string]string{"site": "dc" + strconv.Itoa(i%4), "role": "web"}}
		if _, err := tr.ObserveUnwritten(o, t0); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Snapshot", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = tr.Snapshot()
		}
	})
	b.Run("Select_one", func(b *testing.B) { // the API's ?state=down, one target down
		b.ReportAllocs()
		for b.Loop() {
			_ = tr.Select(func(t *Target) bool { return t.Name == "sim-15000" })
		}
	})
	b.Run("States", func(b *testing.B) {
		b.ReportAllocs()
		var buf []StateView
		for b.Loop() {
			buf = tr.States(buf)
		}
	})
}

// batchStore is a memStore that saves Infos many at once, counting the
// calls.
type batchStore struct {
	memStore
	calls int
}

func (b *batchStore) SaveTargets(ctx context.Context, infos []Info) error {
	b.mu.Lock()
	b.calls++
	b.mu.Unlock()
	for _, in := range infos {
		if err := b.memStore.SaveTarget(ctx, in); err != nil {
			return err
		}
	}
	return nil
}

// TestTargetsSavedAtOnce: the Infos of many new targets are written with
// one SaveTargets when the store offers it; when it fails they are all
// kept and written at the next flush.
func TestTargetsSavedAtOnce(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	st := &batchStore{}
	tr, _ := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{AutoRegister: true}, t0)
	st.setFail(true)
	for i := range 20 {
		if _, err := tr.ObserveUnwritten(Observation{Name: "sim-" + strconv.Itoa(i), Labels: map[string]string{"n": strconv.Itoa(i)}}, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Flush(ctx); err == nil {
		t.Fatal("flush into a failing store: no error")
	}
	st.setFail(false)
	if err := tr.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	infos, _ := st.Targets(ctx)
	if len(infos) != 20 || st.calls != 2 {
		t.Errorf("%d targets saved in %d calls, want 20 in 2 (one failed, one retried)", len(infos), st.calls)
	}
}
