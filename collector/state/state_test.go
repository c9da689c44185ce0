package state

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// memStore is a fake state.Store that can be told to fail or to block.
type memStore struct {
	mu      sync.Mutex
	changes []Change
	infos   map[string]Info
	batches [][]Change // what each successful RecordChanges wrote
	fail    bool
	// block, when set, holds every RecordChanges until it is closed;
	// entered receives one value per call that reached it.
	block   chan struct{}
	entered chan struct{}
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

func (m *memStore) RecordChanges(ctx context.Context, cs []Change) error {
	m.mu.Lock()
	block, entered := m.block, m.entered
	m.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return errors.New("disk full")
	}
	m.changes = append(m.changes, cs...)
	m.batches = append(m.batches, slices.Clone(cs))
	return nil
}

func (m *memStore) setFail(fail bool) {
	m.mu.Lock()
	m.fail = fail
	m.mu.Unlock()
}

func (m *memStore) history() []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.changes)
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

// TestStoreFailureRetries: a change whose write fails is reported, kept
// in memory as decided, and written (with its own time) by the next flush;
// nothing decided after it is written before it.
func TestStoreFailureRetries(t *testing.T) {
	ctx := context.Background()
	st := &memStore{fail: true}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	if err := tr.Observe(ctx, Observation{Name: "h", Interval: time.Second}, t0); err == nil {
		t.Fatal("got no error from a failing store")
	}
	if got := tr.Snapshot()[0].State; got != Up {
		t.Errorf("state after failed write: got %s, want up (what was observed)", got)
	}
	// Still failing: the next call about h retries and reports again.
	if err := tr.Observe(ctx, Observation{Name: "h", Interval: time.Second}, t0.Add(time.Second)); err == nil {
		t.Error("a retry against a failing store: got no error")
	}
	// h goes quiet and another host says goodbye while the store fails.
	_ = tr.Observe(ctx, Observation{Name: "g", Interval: time.Second}, t0.Add(time.Second))
	if err := tr.Check(ctx, t0.Add(time.Minute)); err == nil {
		t.Error("check against a failing store: got no error")
	}
	st.setFail(false)
	if err := tr.Check(ctx, t0.Add(time.Minute+time.Second)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range st.history() {
		got = append(got, fmt.Sprintf("%s %s>%s %s", c.Target, c.From, c.To, c.At.Sub(t0)))
	}
	want := []string{"h unknown>up 0s", "g unknown>up 1s", "g up>down 2s", "h up>down 2s"}
	if len(got) != 4 || !slices.Equal(got[:2], want[:2]) || !slices.Contains(got[2:], want[2]) || !slices.Contains(got[2:], want[3]) {
		t.Errorf("history: got %q, want %q (the last two in any order)", got, want)
	}
	if err := tr.Check(ctx, t0.Add(2*time.Minute)); err != nil || len(st.history()) != 4 {
		t.Errorf("a flush with nothing queued: err %v, %d changes, want nil and 4", err, len(st.history()))
	}
}

// TestSlowStoreDoesNotBlockPushes: while a change is being written, the
// tracker's lock is free: pushes of targets whose state does not change,
// snapshots and admissions return; a change decided meanwhile waits for
// the write before it and is written after it.
func TestSlowStoreDoesNotBlockPushes(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	o := opts
	o.CheckFailures = 3
	tr, _ := New(ctx, st, o, t0, slog.New(slog.DiscardHandler))
	if err := tr.Observe(ctx, Observation{Name: "b", Interval: time.Second}, t0); err != nil {
		t.Fatal(err)
	}
	block, entered := make(chan struct{}), make(chan struct{}, 10)
	st.mu.Lock()
	st.block, st.entered = block, entered
	st.mu.Unlock()

	errs := make(chan error, 2)
	go func() { errs <- tr.Observe(ctx, Observation{Name: "a", Interval: time.Second}, t0.Add(time.Second)) }()
	<-entered // a's write is in the store, held

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 100 {
			if err := tr.Observe(ctx, Observation{Name: "b", Interval: time.Second}, t0.Add(time.Duration(i)*time.Millisecond)); err != nil {
				t.Errorf("push of b: %v", err)
			}
		}
		// A first failure of a check changes no state.
		_ = tr.ProbeResult(ctx, Probe{Name: "c", Kind: KindCheck, Interval: time.Minute, Cause: "timeout"}, t0)
		_ = tr.Snapshot()
		_ = tr.Admit("b")
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("pushes of an UP target wait for another target's write")
	}
	// A change of another target decided now queues behind a's write.
	go func() { errs <- tr.Goodbye(ctx, "b", t0.Add(2*time.Second)) }()
	for deadline := time.Now().Add(10 * time.Second); tr.Snapshot()[1].State != Shutdown; {
		if time.Now().After(deadline) {
			t.Fatal("goodbye of b not decided while a's write is held")
		}
		runtime.Gosched()
	}
	close(block)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, c := range st.history() {
		got = append(got, c.Target+" "+string(c.To))
	}
	if want := []string{"b up", "a up", "b shutdown"}; !slices.Equal(got, want) {
		t.Errorf("history: got %q, want %q", got, want)
	}
}

// TestCheckWritesOneBatch: a check that changes many targets writes them
// in one RecordChanges.
func TestCheckWritesOneBatch(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tr, _ := New(ctx, st, opts, t0, slog.New(slog.DiscardHandler))
	for i := range 20 {
		if err := tr.Observe(ctx, Observation{Name: fmt.Sprintf("h%02d", i), Interval: time.Second}, t0); err != nil {
			t.Fatal(err)
		}
	}
	writes := len(st.batches)
	if err := tr.Check(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := st.batches[writes:]; len(got) != 1 || len(got[0]) != 20 {
		t.Fatalf("check of 20 silent hosts: got %d writes (%v), want one of 20", len(got), got)
	}
	for _, c := range st.batches[writes] {
		if c.To != Down {
			t.Errorf("%s: got %s, want down", c.Target, c.To)
		}
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

// flakyStore fails a write now and then, as a full disk does.
type flakyStore struct {
	memStore
	rnd *rand.Rand // guarded by memStore.mu
}

func (f *flakyStore) RecordChanges(ctx context.Context, cs []Change) error {
	for range 10 {
		runtime.Gosched() // as a write takes a while: let others decide meanwhile
	}
	f.mu.Lock()
	fail := f.rnd.IntN(4) == 0
	f.mu.Unlock()
	if fail {
		return errors.New("disk I/O error")
	}
	return f.memStore.RecordChanges(ctx, cs)
}

// TestRandomHistoryConsistent drives random pushes, probes, goodbyes and
// checks from several goroutines against a store that fails a quarter of
// its writes, then checks the durable history against the tracker: per
// target each change starts where the one before ended, and after a last
// flush the history ends in the state the tracker shows. Replay a failure
// with its seed.
func TestRandomHistoryConsistent(t *testing.T) {
	for seed := range uint64(20) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			ctx := context.Background()
			st := &flakyStore{rnd: rand.New(rand.NewPCG(seed, 1))}
			t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
			o := opts
			o.CheckFailures = 2
			tr, _ := New(ctx, st, o, t0, slog.New(slog.DiscardHandler))
			names := []string{"a", "b", "c", "d"}
			var wg sync.WaitGroup
			for g := range uint64(4) {
				wg.Go(func() {
					rnd := rand.New(rand.NewPCG(seed, g+2))
					for i := range 200 {
						now := t0.Add(time.Duration(i) * time.Second)
						name := names[rnd.IntN(len(names))]
						switch rnd.IntN(5) {
						case 0:
							_ = tr.Observe(ctx, Observation{Name: name, Interval: time.Second}, now)
						case 1:
							_ = tr.ProbeResult(ctx, Probe{Name: name + "-check", Kind: KindCheck, Interval: time.Second, OK: rnd.IntN(2) == 0, Cause: "x"}, now)
						case 2:
							_ = tr.Goodbye(ctx, name, now)
						case 3:
							_ = tr.Check(ctx, now)
						case 4:
							_ = tr.ProbeResult(ctx, Probe{Name: name + "/if", Kind: KindInterface, Interval: time.Second, AdminDown: rnd.IntN(3) == 0, OK: true}, now)
						}
					}
				})
			}
			wg.Wait()
			for tries := 0; ; tries++ {
				err := tr.Check(ctx, t0)
				if err == nil {
					break
				}
				if tries > 100 {
					t.Fatal(err)
				}
			}
			last := map[string]State{}
			for _, c := range st.history() {
				from, seen := last[c.Target]
				if !seen {
					from = Unknown
				}
				if c.From != from {
					t.Fatalf("%s: change %s>%s after %s", c.Target, c.From, c.To, from)
				}
				last[c.Target] = c.To
			}
			for _, tg := range tr.Snapshot() {
				if got, ok := last[tg.Name]; ok && got != tg.State || !ok && tg.State != Unknown {
					t.Errorf("%s: history ends in %q, tracker shows %s", tg.Name, got, tg.State)
				}
			}
		})
	}
}

// follower is how a collector that does not lead its HA pair wraps the
// shared store: its state changes are not written.
type follower struct {
	*memStore
	leads bool
}

func (f *follower) RecordChanges(ctx context.Context, cs []Change) error {
	if !f.leads {
		return nil
	}
	return f.memStore.RecordChanges(ctx, cs)
}

// TestResync: of two trackers on one store, only the leader's changes
// are written; the follower, taking over after the leader died before
// writing its DOWN, writes the one missing change, and nothing twice.
func TestResync(t *testing.T) {
	ctx := context.Background()
	st := &memStore{}
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	a, err := New(ctx, &follower{st, true}, opts, t0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	fb := &follower{st, false}
	b, err := New(ctx, fb, opts, t0, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	obs := Observation{Name: "web1", Interval: 15 * time.Second}
	for _, tr := range []*Tracker{a, b} {
		if err := tr.Observe(ctx, obs, t0); err != nil {
			t.Fatal(err)
		}
	}
	if h := st.history(); len(h) != 1 || h[0].To != Up {
		t.Fatalf("history with the leader up: %+v, want one change to UP", h)
	}
	// web1 goes silent; the leader dies before its deadline check; the
	// follower decides DOWN (not written).
	later := t0.Add(2 * time.Minute)
	if err := b.Check(ctx, later); err != nil {
		t.Fatal(err)
	}
	if h := st.history(); len(h) != 1 {
		t.Fatalf("the follower wrote: %+v", h)
	}
	fb.leads = true
	n, err := b.Resync(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Resync: %d changes, %v; want 1", n, err)
	}
	h := st.history()
	want := b.Snapshot()[0]
	if len(h) != 2 || h[1].From != Up || h[1].To != Down || !h[1].At.Equal(want.Since) {
		t.Fatalf("history after the takeover: %+v, want UP then DOWN at %s", h, want.Since)
	}
	if n, err := b.Resync(ctx); err != nil || n != 0 {
		t.Errorf("second Resync: %d changes, %v; want none", n, err)
	}
}
