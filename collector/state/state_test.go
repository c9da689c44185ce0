package state

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// memStore is a fake state.Store that can be told to fail.
type memStore struct {
	mu      sync.Mutex
	changes []Change
	fail    bool
}

func (m *memStore) RecordChange(_ context.Context, c Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.changes = append(m.changes, c)
	return nil
}

func (m *memStore) LatestChanges(context.Context) ([]Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	last := map[string]Change{}
	var order []string
	for _, c := range m.changes {
		if _, ok := last[c.Target]; !ok {
			order = append(order, c.Target)
		}
		last[c.Target] = c
	}
	var out []Change
	for _, n := range order {
		out = append(out, last[n])
	}
	return out, nil
}

var opts = Options{DownAfter: 3, Grace: 10 * time.Second, DefaultInterval: 15 * time.Second}

func TestUpDownShutdown(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, err := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	if err := tr.Observe(ctx, "web1", "id1", map[string]string{"site": "hq"}, 5*time.Second, at(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	// Still inside 3 x 5 s.
	_ = tr.Check(ctx, at(34*time.Second))
	if got := tr.Snapshot()[0].State; got != Up {
		t.Fatalf("at 34s: got %s, want up", got)
	}
	_ = tr.Check(ctx, at(36*time.Second))
	snap := tr.Snapshot()[0]
	if snap.State != Down {
		t.Fatalf("at 36s: got %s, want down", snap.State)
	}
	// The outage starts when the first push did not come: 20 s + 5 s.
	if want := at(25 * time.Second); !snap.Since.Equal(want) {
		t.Errorf("down since: got %s, want %s", snap.Since, want)
	}
	_ = tr.Observe(ctx, "web1", "id1", nil, 5*time.Second, at(40*time.Second))
	_ = tr.Goodbye(ctx, "web1", at(45*time.Second))
	_ = tr.Check(ctx, at(2*time.Minute))
	if got := tr.Snapshot()[0].State; got != Shutdown {
		t.Errorf("after goodbye: got %s, want shutdown (never down)", got)
	}
	var seq []string
	for _, c := range st.changes {
		seq = append(seq, string(c.From)+">"+string(c.To))
	}
	want := []string{"unknown>up", "up>down", "down>up", "up>shutdown"}
	if len(seq) != len(want) {
		t.Fatalf("history: got %v, want %v", seq, want)
	}
	for i := range want {
		if seq[i] != want[i] {
			t.Fatalf("history: got %v, want %v", seq, want)
		}
	}
}

// TestRestartGrace: after a collector restart, hosts that were UP are not
// marked DOWN for the time the collector was away, and get the grace period.
func TestRestartGrace(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	_ = tr.Observe(ctx, "db1", "", nil, 15*time.Second, t0)

	restart := t0.Add(time.Hour) // the collector was down for an hour
	tr2, err := New(ctx, st, opts, restart, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_ = tr2.Check(ctx, restart.Add(50*time.Second)) // 45 s + 10 s grace not yet over
	if got := tr2.Snapshot()[0].State; got != Up {
		t.Fatalf("inside the grace period: got %s, want up", got)
	}
	_ = tr2.Check(ctx, restart.Add(56*time.Second))
	snap := tr2.Snapshot()[0]
	if snap.State != Down {
		t.Fatalf("after grace: got %s, want down", snap.State)
	}
	if snap.Since.Before(restart) {
		t.Errorf("down since %s: before the collector restarted at %s", snap.Since, restart)
	}
}

func TestStoreFailureRetries(t *testing.T) {
	ctx := context.Background()
	st := &memStore{fail: true}
	t0 := time.Now()
	tr, _ := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	if err := tr.Observe(ctx, "h", "", nil, time.Second, t0); err == nil {
		t.Fatal("got no error from a failing store")
	}
	if got := tr.Snapshot()[0].State; got != Unknown {
		t.Errorf("state after failed write: got %s, want unknown (unchanged)", got)
	}
	st.fail = false
	if err := tr.Observe(ctx, "h", "", nil, time.Second, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := len(st.changes); got != 1 {
		t.Errorf("changes recorded: got %d, want 1", got)
	}
}
