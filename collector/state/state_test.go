package state

import (
	"context"
	"errors"
	"log/slog"
	"regexp"
	"sync"
	"testing"
	"time"
)

// memStore is a fake state.Store that can be told to fail.
type memStore struct {
	mu      sync.Mutex
	changes []Change
	infos   map[string]Info
	fail    bool
}

func (m *memStore) SaveTarget(_ context.Context, in Info) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	if m.infos == nil {
		m.infos = map[string]Info{}
	}
	m.infos[in.Name] = in
	return nil
}

func (m *memStore) Targets(context.Context) ([]Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Info
	for _, in := range m.infos {
		out = append(out, in)
	}
	return out, nil
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
	if err := tr.Observe(ctx, Observation{Name: "web1", ID: "id1", Labels: map[string]string{"site": "hq"}, Interval: 5 * time.Second}, at(20*time.Second)); err != nil {
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
	_ = tr.Observe(ctx, Observation{Name: "web1", ID: "id1", Interval: 5 * time.Second}, at(40*time.Second))
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
	_ = tr.Observe(ctx, Observation{Name: "db1", Interval: 15 * time.Second}, t0)

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
	if err := tr.Observe(ctx, Observation{Name: "h", Interval: time.Second}, t0); err == nil {
		t.Fatal("got no error from a failing store")
	}
	if got := tr.Snapshot()[0].State; got != Unknown {
		t.Errorf("state after failed write: got %s, want unknown (unchanged)", got)
	}
	st.fail = false
	if err := tr.Observe(ctx, Observation{Name: "h", Interval: time.Second}, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := len(st.changes); got != 1 {
		t.Errorf("changes recorded: got %d, want 1", got)
	}
}

func TestInventory(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, &memStore{}, opts, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{
		Declared:     []Declared{{Name: "erp-db", Labels: map[string]string{"owner": "dba", "site": "dc1"}}},
		AutoRegister: true,
		Allow:        []*regexp.Regexp{regexp.MustCompile(`^(?:web[0-9]+)$`)},
	}, t0)
	snap := tr.Snapshot()
	if len(snap) != 1 || snap[0].State != Unknown || !snap[0].Declared {
		t.Fatalf("a declared host that never reported: got %+v, want one UNKNOWN", snap)
	}
	if !tr.Admit("erp-db") || !tr.Admit("web12") || tr.Admit("laptop-7") {
		t.Error("admit: declared and allowed names in, others out")
	}
	if err := tr.Observe(ctx, Observation{Name: "laptop-7"}, t0); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("observe outside the allow-list: got %v, want ErrNotAllowed", err)
	}
	_ = tr.Observe(ctx, Observation{Name: "erp-db", Labels: map[string]string{"site": "agent-says", "role": "db"}}, t0)
	got := tr.Snapshot()[0].Labels
	if got["site"] != "dc1" || got["role"] != "db" || got["owner"] != "dba" {
		t.Errorf("labels: got %v, want declared ones to win and the agent's to stay", got)
	}
}

func TestCheckFailures(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	o := opts
	o.CheckFailures = 2
	tr, _ := New(ctx, &memStore{}, o, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{AutoRegister: true}, t0)
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-http", Kind: KindCheck, Interval: time.Minute, OK: true, Cause: ""}, t0)
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-http", Kind: KindCheck, Interval: time.Minute, OK: false, Cause: "HTTP 503"}, t0.Add(time.Minute))
	if got := tr.Snapshot()[0]; got.State != Up || got.Failures != 1 {
		t.Fatalf("after one failure: got %s with %d failures, want still up", got.State, got.Failures)
	}
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-http", Kind: KindCheck, Interval: time.Minute, OK: false, Cause: "HTTP 503"}, t0.Add(2*time.Minute))
	if got := tr.Snapshot()[0]; got.State != Down || got.Cause != "HTTP 503" || got.Kind != KindCheck {
		t.Fatalf("after two failures: got %+v, want down with the cause", got)
	}
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-http", Kind: KindCheck, Interval: time.Minute, OK: true, Cause: ""}, t0.Add(3*time.Minute))
	if got := tr.Snapshot()[0]; got.State != Up || got.Failures != 0 {
		t.Fatalf("after a success: got %+v, want up", got)
	}
}

// TestMaintenanceWindow: during a window the targets it covers are
// MAINTENANCE whatever they do, the change is recorded at the window's
// edges, and afterwards a host that reports is UP again.
func TestMaintenanceWindow(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)
	o := opts
	o.CheckFailures = 1
	tr, _ := New(ctx, st, o, t0.Add(-time.Hour), slog.New(slog.DiscardHandler))
	_ = tr.Observe(ctx, Observation{Name: "db1", Labels: map[string]string{"group": "erp"}, Interval: 15 * time.Second}, t0)
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-web", Kind: KindCheck, Labels: map[string]string{"group": "erp"}, Interval: time.Minute, OK: true}, t0)
	tr.SetMaintenance([]Window{{Name: "erp upgrade", Selector: map[string]string{"group": "erp"}, From: t0.Add(time.Minute), To: t0.Add(31 * time.Minute)}})

	_ = tr.Check(ctx, t0.Add(61*time.Second))
	for _, tg := range tr.Snapshot() {
		if tg.State != Maintenance || !tg.Since.Equal(t0.Add(time.Minute)) || tg.Cause != "maintenance window erp upgrade" {
			t.Fatalf("%s in the window: got %s since %s (%s)", tg.Name, tg.State, tg.Since, tg.Cause)
		}
	}
	// The host stops reporting and the check fails: still MAINTENANCE.
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-web", Kind: KindCheck, OK: false, Cause: "HTTP 503", Interval: time.Minute}, t0.Add(10*time.Minute))
	_ = tr.Check(ctx, t0.Add(20*time.Minute))
	for _, tg := range tr.Snapshot() {
		if tg.State != Maintenance {
			t.Fatalf("%s during planned work: got %s, want maintenance", tg.Name, tg.State)
		}
	}
	_ = tr.Observe(ctx, Observation{Name: "db1", Interval: 15 * time.Second}, t0.Add(30*time.Minute+50*time.Second))
	_ = tr.Check(ctx, t0.Add(31*time.Minute+2*time.Second))
	got := map[string]Target{}
	for _, tg := range tr.Snapshot() {
		got[tg.Name] = tg
	}
	if g := got["db1"]; g.State != Up || !g.Since.Equal(t0.Add(31*time.Minute)) {
		t.Errorf("db1 after the window: got %s since %s, want up since the window's end", g.State, g.Since)
	}
	if g := got["erp-web"]; g.State != Unknown {
		t.Errorf("erp-web after the window: got %s, want unknown until probed", g.State)
	}
	_ = tr.ProbeResult(ctx, Probe{Name: "erp-web", Kind: KindCheck, OK: true, Interval: time.Minute}, t0.Add(32*time.Minute))
	if g := tr.Snapshot()[1]; g.State != Up {
		t.Errorf("erp-web probed after the window: got %s", g.State)
	}
}

// TestInterfaceAdminDown: an interface set administratively down is
// SHUTDOWN (not an outage); up again on its next good poll.
func TestInterfaceAdminDown(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, &memStore{}, opts, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{AutoRegister: true}, t0)
	name := "sw1/Gi0/1"
	_ = tr.ProbeResult(ctx, Probe{Name: name, Kind: KindInterface, Interval: time.Minute, OK: true}, t0)
	_ = tr.ProbeResult(ctx, Probe{Name: name, Kind: KindInterface, Interval: time.Minute, AdminDown: true, Cause: "administratively down"}, t0.Add(time.Minute))
	if got := tr.Snapshot()[0]; got.State != Shutdown || got.Cause != "administratively down" || got.Kind != KindInterface {
		t.Fatalf("admin down: %+v, want SHUTDOWN", got)
	}
	_ = tr.ProbeResult(ctx, Probe{Name: name, Kind: KindInterface, Interval: time.Minute, OK: true}, t0.Add(2*time.Minute))
	if got := tr.Snapshot()[0]; got.State != Up {
		t.Fatalf("back up: %+v", got)
	}
}

// TestImmediateFailure: a failure the device reported itself (a linkDown
// trap) is DOWN at once, whatever CheckFailures says.
func TestImmediateFailure(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	o := opts
	o.CheckFailures = 3
	tr, _ := New(ctx, &memStore{}, o, t0, slog.New(slog.DiscardHandler))
	tr.SetInventory(Inventory{AutoRegister: true}, t0)
	_ = tr.ProbeResult(ctx, Probe{Name: "sw1/Gi0/3", Kind: KindInterface, Interval: time.Minute, OK: true}, t0)
	_ = tr.ProbeResult(ctx, Probe{Name: "sw1/Gi0/3", Kind: KindInterface, OK: false, Immediate: true, Cause: "linkDown trap"}, t0.Add(time.Second))
	if got := tr.Snapshot()[0]; got.State != Down || got.Cause != "linkDown trap" {
		t.Fatalf("after linkDown: %+v", got)
	}
}

// TestRestartKeepsWhatIsKnown: a collector restart keeps every target's
// labels, interval, metrics address and agent ID, for a host that is
// silent after the restart and a failing check alike (the labels decide
// alert identities and label-selected service components).
func TestRestartKeepsWhatIsKnown(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	web := Observation{Name: "web1", ID: "machine-1", Labels: map[string]string{"site": "lab"}, Interval: 5 * time.Second, MetricsAddress: "192.0.2.1:9991"}
	if err := tr.Observe(ctx, web, t0); err != nil {
		t.Fatal(err)
	}
	chk := Probe{Name: "erp-web", Kind: KindCheck, Labels: map[string]string{"service": "erp"}, Interval: time.Minute, OK: false, Cause: "HTTP 503"}
	for i := range 2 {
		if err := tr.ProbeResult(ctx, chk, t0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	tr2, err := New(ctx, st, opts, t0.Add(time.Hour), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Target{}
	for _, tg := range tr2.Snapshot() {
		got[tg.Name] = tg
	}
	if w := got["web1"]; w.Labels["site"] != "lab" || w.ID != "machine-1" || w.Interval != 5*time.Second || w.MetricsAddress != "192.0.2.1:9991" || w.State != Up {
		t.Errorf("web1 after a restart: %+v", w)
	}
	if c := got["erp-web"]; c.Labels["service"] != "erp" || c.Kind != KindCheck || c.State != Down {
		t.Errorf("erp-web after a restart: %+v", c)
	}
}
