// Package storetest is the conformance suite every store.Store backend
// passes: each backend's test calls Run with a function that opens an
// empty store. It asserts behaviour through the interface only (what a
// read returns after which writes, which errors match which values),
// never how a backend lays out its data.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/rules"
)

// Run runs the suite. open returns a new, empty store for one subtest
// and arranges, with t.Cleanup, for it to be closed (and its data
// removed) when that subtest ends.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range []struct {
		name string
		f    func(t *testing.T, s store.Store)
	}{
		{"StateChanges", testStateChanges},
		{"HistorySince", testHistorySince},
		{"ConcurrentWriters", testConcurrentWriters},
		{"RunsAndGaps", testRunsAndGaps},
		{"Shards", testShards},
		{"Targets", testTargets},
		{"IncidentLifecycle", testIncidentLifecycle},
		{"IncidentErrors", testIncidentErrors},
		{"IncidentFilters", testIncidentFilters},
		{"Outbox", testOutbox},
		{"OutboxSnapshot", testOutboxSnapshot},
		{"AlertState", testAlertState},
		{"Maintenance", testMaintenance},
		{"Tickets", testTickets},
		{"Audit", testAudit},
		{"AuditCount", testAuditCount},
		{"Sessions", testSessions},
		{"Prune", testPrune},
		{"PruneHistory", testPruneHistory},
		{"Secrets", testSecrets},
		{"ReadParallelism", testReadParallelism},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, open(t)) })
	}
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testStateChanges(t *testing.T, s store.Store) {
	ctx := context.Background()
	changes := []state.Change{
		{Target: "web1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at(0), Cause: "data"},
		{Target: "db1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at(time.Second), Cause: "data"},
		{Target: "web1", Kind: state.KindHost, From: state.Up, To: state.Down, At: at(time.Minute), Cause: "silent for 3 intervals"},
		{Target: "https", Kind: state.KindCheck, From: state.Unknown, To: state.Down, At: at(time.Minute), Cause: "HTTP 503"},
	}
	for _, c := range changes[:2] {
		must(t, s.RecordChanges(ctx, []state.Change{c}))
	}
	must(t, s.RecordChanges(ctx, changes[2:]))

	latest, err := s.LatestChanges(ctx)
	must(t, err)
	want := []state.Change{changes[1], changes[3], changes[2]} // by target
	if !equalChanges(latest, want) {
		t.Errorf("LatestChanges:\ngot  %+v\nwant %+v", latest, want)
	}
	hist, err := s.History(ctx, "web1", at(0), at(time.Minute))
	must(t, err)
	if want := []state.Change{changes[0], changes[2]}; !equalChanges(hist, want) {
		t.Errorf("History of web1 over [0, 1m] (both bounds in):\ngot  %+v\nwant %+v", hist, want)
	}
	hist, err = s.History(ctx, "web1", at(time.Second), at(time.Hour))
	must(t, err)
	if want := []state.Change{changes[2]}; !equalChanges(hist, want) {
		t.Errorf("History of web1 from 1s:\ngot  %+v\nwant %+v", hist, want)
	}
	hist, err = s.History(ctx, "", at(0), at(time.Hour))
	must(t, err)
	if !equalChanges(hist, changes) {
		t.Errorf("History of all targets, oldest first:\ngot  %+v\nwant %+v", hist, changes)
	}
	// A batch is all or none: a cancelled context writes nothing.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.RecordChanges(cancelled, []state.Change{{Target: "web1", Kind: state.KindHost, From: state.Down, To: state.Up, At: at(time.Hour)}}); err == nil {
		t.Error("RecordChanges with a cancelled context: got no error")
	}
	hist, err = s.History(ctx, "web1", at(0), at(2*time.Hour))
	must(t, err)
	if len(hist) != 2 {
		t.Errorf("History of web1 after a cancelled batch: got %d changes, want 2", len(hist))
	}
}

// equalChanges compares changes by instant, not by time.Location.
func equalChanges(a, b []state.Change) bool {
	return slices.EqualFunc(a, b, func(x, y state.Change) bool {
		return x.Target == y.Target && x.Kind == y.Kind && x.From == y.From && x.To == y.To && x.At.Equal(y.At) && x.Cause == y.Cause
	})
}

// timeline renders HistorySince as "initial to@offset ...".
func timeline(t *testing.T, s store.Store, target string, from, to time.Duration) string {
	t.Helper()
	initial, changes, err := s.HistorySince(context.Background(), target, at(from), at(to))
	must(t, err)
	out := string(initial)
	for _, c := range changes {
		if c.Target != target {
			t.Errorf("HistorySince(%s) returned a change of %s", target, c.Target)
		}
		out += fmt.Sprintf(" %s@%s", c.To, c.At.Sub(t0))
	}
	return out
}

func testHistorySince(t *testing.T, s store.Store) {
	ctx := context.Background()
	rec := func(target string, d time.Duration, to state.State) {
		t.Helper()
		must(t, s.RecordChanges(ctx, []state.Change{{Target: target, Kind: state.KindHost, From: state.Unknown, To: to, At: at(d), Cause: "test"}}))
	}
	if got := timeline(t, s, "a", 0, time.Hour); got != "unknown" {
		t.Errorf("no history: got %q, want unknown", got)
	}
	rec("a", time.Hour, state.Up)
	rec("b", 90*time.Minute, state.Down)
	if got := timeline(t, s, "a", 0, 10*time.Hour); got != "unknown up@1h0m0s" {
		t.Errorf("first read: got %q", got)
	}
	// Reads see what was recorded after an earlier read.
	rec("a", 3*time.Hour, state.Down)
	if got := timeline(t, s, "a", 2*time.Hour, 10*time.Hour); got != "up down@3h0m0s" {
		t.Errorf("after a new change: got %q", got)
	}
	// An older change recorded late (an import) takes its place in time.
	rec("a", 2*time.Hour, state.Maintenance)
	if got := timeline(t, s, "a", 0, 10*time.Hour); got != "unknown up@1h0m0s maintenance@2h0m0s down@3h0m0s" {
		t.Errorf("after a late change: got %q", got)
	}
	// Bounds: a change at from is in the window, not the initial state;
	// one at to is in; a window between changes has none.
	if got := timeline(t, s, "a", time.Hour, 2*time.Hour); got != "unknown up@1h0m0s maintenance@2h0m0s" {
		t.Errorf("[1h, 2h]: got %q", got)
	}
	if got := timeline(t, s, "a", 150*time.Minute, 170*time.Minute); got != "maintenance" {
		t.Errorf("inside [2h30m, 2h50m]: got %q", got)
	}
	if got := timeline(t, s, "b", 0, 10*time.Hour); got != "unknown down@1h30m0s" {
		t.Errorf("b: got %q", got)
	}
}

// testConcurrentWriters: changes recorded by concurrent writers while
// timelines are read are all seen once the writers are done; none is
// lost by a read that raced them (see store.HistoryCache).
func testConcurrentWriters(t *testing.T, s store.Store) {
	ctx := context.Background()
	const writers, each = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers+2)
	stop := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				c := state.Change{Target: "shared", Kind: state.KindHost, From: state.Up, To: state.Down,
					At: at(time.Duration(i*writers+w) * time.Second), Cause: fmt.Sprintf("writer %d", w)}
				if err := s.RecordChanges(ctx, []state.Change{c}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.HistorySince(ctx, "shared", at(0), at(time.Hour)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, changes, err := s.HistorySince(ctx, "shared", at(0), at(time.Hour))
	must(t, err)
	if len(changes) != writers*each {
		t.Fatalf("after concurrent writers: got %d changes, want %d", len(changes), writers*each)
	}
	for i, c := range changes {
		if !c.At.Equal(at(time.Duration(i) * time.Second)) {
			t.Fatalf("change %d at %s, want %s (oldest first, none missing)", i, c.At, at(time.Duration(i)*time.Second))
		}
	}
}

// testTargets: what is known of targets besides their state is kept,
// replaced by name, and read back whole.
func testTargets(t *testing.T, s store.Store) {
	ctx := context.Background()
	if got, err := s.Targets(ctx); err != nil || len(got) != 0 {
		t.Fatalf("targets of an empty store: %v, %v", got, err)
	}
	web := state.Info{Name: "web1", Kind: state.KindHost, ID: "machine-1", Labels: map[string]string{"site": "lab", "role": "web"},
		Interval: 15 * time.Second, MetricsAddress: "192.0.2.1:9991"}
	chk := state.Info{Name: "erp-web", Kind: state.KindCheck, Labels: map[string]string{"service": "erp"}, Interval: time.Minute}
	must(t, s.SaveTarget(ctx, web))
	must(t, s.SaveTarget(ctx, chk))
	web.Labels = map[string]string{"site": "lab2"}
	web.Goodbye = true
	must(t, s.SaveTarget(ctx, web)) // replaces
	got, err := s.Targets(ctx)
	must(t, err)
	byName := map[string]state.Info{}
	for _, in := range got {
		byName[in.Name] = in
	}
	if len(got) != 2 {
		t.Fatalf("targets: got %d, want 2: %+v", len(got), got)
	}
	if g := byName["web1"]; g.ID != "machine-1" || g.Kind != state.KindHost || len(g.Labels) != 1 || g.Labels["site"] != "lab2" ||
		g.Interval != 15*time.Second || g.MetricsAddress != "192.0.2.1:9991" || !g.Goodbye {
		t.Errorf("web1: got %+v, want the second save", g)
	}
	if g := byName["erp-web"]; g.Kind != state.KindCheck || g.Labels["service"] != "erp" || g.Interval != time.Minute || g.Goodbye {
		t.Errorf("erp-web: got %+v", g)
	}
	// Many at once, where the store offers it: new ones added, one
	// replaced, the rest kept.
	ts, ok := s.(state.TargetsSaver)
	if !ok {
		return
	}
	web.Labels, web.Goodbye = map[string]string{"site": "lab3"}, false
	batch := []state.Info{web}
	for i := range 50 {
		batch = append(batch, state.Info{Name: fmt.Sprintf("sim-%d", i), Kind: state.KindHost, Labels: map[string]string{"n": fmt.Sprint(i)}, Interval: 15 * time.Second})
	}
	must(t, ts.SaveTargets(ctx, batch))
	got, err = s.Targets(ctx)
	must(t, err)
	clear(byName)
	for _, in := range got {
		byName[in.Name] = in
	}
	if len(got) != 52 || byName["web1"].Labels["site"] != "lab3" || byName["web1"].Goodbye || byName["erp-web"].Labels["service"] != "erp" ||
		byName["sim-49"].Labels["n"] != "49" || byName["sim-49"].Interval != 15*time.Second {
		t.Errorf("after a batch of 51 (web1 replaced, 50 new): %d targets, web1 %+v, erp-web %+v, sim-49 %+v",
			len(got), byName["web1"], byName["erp-web"], byName["sim-49"])
	}
}

func testRunsAndGaps(t *testing.T, s store.Store) {
	ctx := context.Background()
	id1, prev, err := s.StartRun(ctx, at(0))
	must(t, err)
	if !prev.IsZero() {
		t.Errorf("first run: previous alive %v, want zero", prev)
	}
	must(t, s.Alive(ctx, id1, at(90*time.Second)))
	id2, prev, err := s.StartRun(ctx, at(time.Hour))
	must(t, err)
	if id2 == id1 {
		t.Errorf("second run has the first run's id %d", id1)
	}
	if !prev.Equal(at(90 * time.Second)) {
		t.Errorf("second run: previous alive %v, want %v", prev, at(90*time.Second))
	}
	must(t, s.Alive(ctx, id2, at(2*time.Hour)))
	_, prev, err = s.StartRun(ctx, at(3*time.Hour))
	must(t, err)
	if !prev.Equal(at(2 * time.Hour)) {
		t.Errorf("third run: previous alive %v, want %v", prev, at(2*time.Hour))
	}
	// Read within StaleAfter of the newest heartbeat (the third run's
	// start): the collector is running, only the time between runs is a
	// gap.
	gaps, err := s.Gaps(ctx, at(0), at(3*time.Hour+20*time.Second))
	must(t, err)
	want := [][2]time.Time{{at(90 * time.Second), at(time.Hour)}, {at(2 * time.Hour), at(3 * time.Hour)}}
	if !equalSpans(gaps, want) {
		t.Errorf("gaps: got %v, want %v", gaps, want)
	}
	// Read an hour after the newest heartbeat: the collector stopped or
	// crashed, and the time since is not observed either.
	gaps, err = s.Gaps(ctx, at(0), at(4*time.Hour))
	must(t, err)
	want = append(want, [2]time.Time{at(3 * time.Hour), at(4 * time.Hour)})
	if !equalSpans(gaps, want) {
		t.Errorf("gaps read an hour after the last heartbeat: got %v, want %v", gaps, want)
	}
	// Only gaps that overlap the period.
	gaps, err = s.Gaps(ctx, at(90*time.Minute), at(4*time.Hour))
	must(t, err)
	if !equalSpans(gaps, want[1:]) {
		t.Errorf("gaps after 1h30m: got %v, want %v", gaps, want[1:])
	}
	gaps, err = s.Gaps(ctx, at(time.Hour), at(2*time.Hour))
	must(t, err)
	if len(gaps) != 0 {
		t.Errorf("gaps in [1h, 2h], while the second run observed: got %v, want none", gaps)
	}
}

// testShards: live runs by heartbeat and end; probe batches read by
// cursor, never a run's own, pruned by age.
func testShards(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, _, err := s.StartRun(ctx, at(0))
	must(t, err)
	b, _, err := s.StartRun(ctx, at(0))
	must(t, err)
	c, _, err := s.StartRun(ctx, at(0))
	must(t, err)
	must(t, s.Alive(ctx, a, at(20*time.Second)))
	must(t, s.Alive(ctx, b, at(15*time.Second)))
	must(t, s.Alive(ctx, c, at(20*time.Second)))
	live := func(since time.Duration, want ...int64) {
		t.Helper()
		got, err := s.LiveRuns(ctx, at(since))
		must(t, err)
		if !slices.Equal(got, want) {
			t.Errorf("live since %s: got %v, want %v", since, got, want)
		}
	}
	live(0, a, b, c)
	live(16*time.Second, a, c)
	live(20*time.Second, a, c)
	live(21 * time.Second)
	must(t, s.EndRun(ctx, c, at(25*time.Second)))
	live(16*time.Second, a)
	if gaps, err := s.Gaps(ctx, at(0), at(26*time.Second)); err != nil || len(gaps) != 0 {
		t.Errorf("an ended run's end is its last sign of life: gaps %v, %v; want none", gaps, err)
	}

	add := func(run, seq int64, d time.Duration, body string) {
		t.Helper()
		must(t, s.AddProbeBatch(ctx, store.ProbeBatch{Run: run, Seq: seq, At: at(d), Body: []byte(body)}))
	}
	add(a, 1, time.Second, "a1")
	add(b, 1, time.Second, "b1")
	add(a, 2, 2*time.Second, "a2")
	add(b, 2, 3*time.Second, "b2\x00\xff")
	add(c, 1, 4*time.Second, "c1")
	read := func(self int64, after map[int64]int64) string {
		t.Helper()
		got, err := s.ProbeBatches(ctx, self, after)
		must(t, err)
		var out []string
		for _, g := range got {
			if g.Run == a && g.Seq == 1 && !g.At.Equal(at(time.Second)) {
				t.Errorf("batch a1 at %v, want %v", g.At, at(time.Second))
			}
			out = append(out, string(g.Body))
		}
		return strings.Join(out, " ")
	}
	f := func(self int64, after map[int64]int64, want string) {
		t.Helper()
		if got := read(self, after); got != want {
			t.Errorf("batches for %d after %v: got %q, want %q", self, after, got, want)
		}
	}
	f(a, nil, "b1 b2\x00\xff c1")
	f(b, map[int64]int64{a: 1}, "a2 c1")
	f(c, map[int64]int64{a: 2, b: 1}, "b2\x00\xff")
	f(c, map[int64]int64{a: 2, b: 2}, "")
	n, err := s.PruneProbeBatches(ctx, at(3*time.Second))
	must(t, err)
	if n != 3 {
		t.Errorf("pruned %d batches before 3s, want 3", n)
	}
	f(c, nil, "b2\x00\xff")
}

func equalSpans(a, b [][2]time.Time) bool {
	return slices.EqualFunc(a, b, func(x, y [2]time.Time) bool { return x[0].Equal(y[0]) && x[1].Equal(y[1]) })
}

func newIncident(key string, prio alerting.Priority, opened time.Time, notify ...string) *alerting.Incident {
	return &alerting.Incident{DedupKey: key, Group: "hosts", Rule: "HostDown", Title: key + " down", Description: "no data",
		Target: key, Service: "shop", Severity: "critical", Priority: prio, Status: alerting.StatusOpen,
		Labels: map[string]string{"host": key, "site": "hq"}, Value: 1.5, OpenedAt: opened, Notify: notify}
}

func getIncident(t *testing.T, s store.Store, id int64) *alerting.Incident {
	t.Helper()
	inc, err := s.Incident(context.Background(), id)
	must(t, err)
	return inc
}

func actions(evs []alerting.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Action)
	}
	return out
}

func testIncidentLifecycle(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := newIncident("web1", alerting.P2, at(0))
	must(t, s.InsertIncident(ctx, inc))
	if inc.ID == 0 {
		t.Fatal("InsertIncident set no ID")
	}
	got := getIncident(t, s, inc.ID)
	if got.DedupKey != "web1" || got.Group != "hosts" || got.Rule != "HostDown" || got.Title != "web1 down" || got.Description != "no data" ||
		got.Target != "web1" || got.Service != "shop" || got.Severity != "critical" || got.Priority != alerting.P2 ||
		got.Status != alerting.StatusOpen || got.Labels["host"] != "web1" || got.Labels["site"] != "hq" || got.Value != 1.5 ||
		!got.OpenedAt.Equal(at(0)) || got.AcknowledgedAt != nil || got.ResolvedAt != nil || got.ClosedAt != nil || got.Assignee != "" {
		t.Errorf("stored incident: got %+v", got)
	}
	// One active incident per dedup key.
	if err := s.InsertIncident(ctx, newIncident("web1", alerting.P2, at(time.Second))); err == nil {
		t.Error("a second active incident with the same dedup key: got no error")
	}

	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	must(t, s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusAcknowledged,
		alerting.Event{At: at(time.Minute), Actor: "alice", Action: "acknowledged", Text: "on it"}))
	got = getIncident(t, s, inc.ID)
	if got.Status != alerting.StatusAcknowledged || got.AcknowledgedAt == nil || !got.AcknowledgedAt.Equal(at(time.Minute)) || got.AcknowledgedBy != "alice" {
		t.Errorf("acknowledged: got %+v", got)
	}
	must(t, s.Assign(ctx, inc.ID, "network team", alerting.Event{At: at(2 * time.Minute), Actor: "alice", Action: "assigned", Text: "network team"}))
	must(t, s.AddEvent(ctx, alerting.Event{IncidentID: inc.ID, At: at(3 * time.Minute), Actor: "bob", Action: "commented", Text: "switch rebooted"}))
	must(t, s.SetSeverity(ctx, inc.ID, "warning", alerting.P3, alerting.Event{At: at(4 * time.Minute), Actor: alerting.Automatic, Action: "severity", Text: "warning"}))
	must(t, s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: at(10 * time.Minute), Actor: alerting.Automatic, Action: "resolved"}))
	got = getIncident(t, s, inc.ID)
	if got.Status != alerting.StatusResolved || got.ResolvedAt == nil || !got.ResolvedAt.Equal(at(10*time.Minute)) ||
		got.Assignee != "network team" || got.Severity != "warning" || got.Priority != alerting.P3 {
		t.Errorf("resolved: got %+v", got)
	}
	last, err := s.LastResolved(ctx, "web1", at(10*time.Minute))
	must(t, err)
	if last.ID != inc.ID {
		t.Errorf("LastResolved: got incident %d, want %d", last.ID, inc.ID)
	}
	if _, err := s.LastResolved(ctx, "web1", at(11*time.Minute)); !errors.Is(err, store.ErrNotFound) || !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("LastResolved since after it resolved: got %v, want ErrNotFound", err)
	}
	if _, err := s.LastResolved(ctx, "db1", at(0)); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("LastResolved of another key: got %v, want ErrNotFound", err)
	}

	// Reopened: a new round, unacknowledged and unresolved.
	must(t, s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusResolved}, alerting.StatusOpen,
		alerting.Event{At: at(20 * time.Minute), Actor: alerting.Automatic, Action: "reopened"}))
	got = getIncident(t, s, inc.ID)
	if got.Status != alerting.StatusOpen || got.ResolvedAt != nil || got.AcknowledgedAt != nil || got.AcknowledgedBy != "" || got.ClosedAt != nil {
		t.Errorf("reopened: got %+v", got)
	}
	must(t, s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: at(30 * time.Minute), Actor: alerting.Automatic, Action: "resolved"}))
	must(t, s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusResolved}, alerting.StatusClosed,
		alerting.Event{At: at(time.Hour), Actor: alerting.Automatic, Action: "closed"}))
	got = getIncident(t, s, inc.ID)
	if got.Status != alerting.StatusClosed || got.ClosedAt == nil || !got.ClosedAt.Equal(at(time.Hour)) || got.ResolvedAt == nil {
		t.Errorf("closed: got %+v", got)
	}
	// A closed incident still counts as resolved for LastResolved.
	if last, err := s.LastResolved(ctx, "web1", at(30*time.Minute)); err != nil || last.ID != inc.ID {
		t.Errorf("LastResolved of a closed incident: got %v, %v; want incident %d", last, err, inc.ID)
	}

	evs, err := s.Events(ctx, inc.ID)
	must(t, err)
	want := []string{"opened", "acknowledged", "assigned", "commented", "severity", "resolved", "reopened", "resolved", "closed"}
	if got := actions(evs); !slices.Equal(got, want) {
		t.Errorf("timeline: got %v, want %v", got, want)
	}
	if e := evs[0]; e.IncidentID != inc.ID || !e.At.Equal(at(0)) || e.Actor != alerting.Automatic || e.Text != "web1 down" {
		t.Errorf("opened event: got %+v", e)
	}
	if e := evs[3]; e.IncidentID != inc.ID || !e.At.Equal(at(3*time.Minute)) || e.Actor != "bob" || e.Text != "switch rebooted" {
		t.Errorf("comment: got %+v", e)
	}
	// Once the first is over, the key may open again.
	again := newIncident("web1", alerting.P2, at(2*time.Hour))
	must(t, s.InsertIncident(ctx, again))
	if again.ID == inc.ID {
		t.Error("the new incident has the old one's id")
	}
}

func testIncidentErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := newIncident("web1", alerting.P2, at(0))
	must(t, s.InsertIncident(ctx, inc))
	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	must(t, s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: at(time.Minute), Actor: alerting.Automatic, Action: "resolved"}))
	missing := inc.ID + 1000
	isBoth := func(err, neutral, alertingErr error) bool {
		return errors.Is(err, neutral) && errors.Is(err, alertingErr)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error // store's; alerting's equivalent must match too
	}{
		{"resolve twice", s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: at(2 * time.Minute), Action: "resolved"}), store.ErrConflict},
		{"assign a resolved incident", s.Assign(ctx, inc.ID, "bob", alerting.Event{At: at(2 * time.Minute), Action: "assigned"}), store.ErrConflict},
		{"transition a missing incident", s.Transition(ctx, missing, live, alerting.StatusResolved, alerting.Event{At: at(0)}), store.ErrNotFound},
		{"assign a missing incident", s.Assign(ctx, missing, "bob", alerting.Event{At: at(0)}), store.ErrNotFound},
		{"comment on a missing incident", s.AddEvent(ctx, alerting.Event{IncidentID: missing, At: at(0), Action: "commented"}), store.ErrNotFound},
		{"read a missing incident", func() error { _, err := s.Incident(ctx, missing); return err }(), store.ErrNotFound},
	} {
		alertingErr := alerting.ErrNotFound
		if tc.want == store.ErrConflict {
			alertingErr = alerting.ErrConflict
		}
		if !isBoth(tc.err, tc.want, alertingErr) {
			t.Errorf("%s: got %v, want %v (matching %v too)", tc.name, tc.err, tc.want, alertingErr)
		}
	}
	// A refused change records no event.
	evs, err := s.Events(ctx, inc.ID)
	must(t, err)
	if got := actions(evs); !slices.Equal(got, []string{"opened", "resolved"}) {
		t.Errorf("timeline after refused changes: got %v", got)
	}
	if evs, err := s.Events(ctx, missing); err != nil || len(evs) != 0 {
		t.Errorf("events of a missing incident: got %v, %v; want none", evs, err)
	}
}

func testIncidentFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newIncident("a", alerting.P1, at(0))
	b := newIncident("b", alerting.P3, at(time.Minute))
	c := newIncident("c", alerting.P3, at(2*time.Minute))
	for _, inc := range []*alerting.Incident{a, b, c} {
		must(t, s.InsertIncident(ctx, inc))
	}
	must(t, s.Transition(ctx, b.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved, alerting.Event{At: at(time.Hour), Action: "resolved"}))
	ids := func(f alerting.Filter) []int64 {
		t.Helper()
		incs, err := s.Incidents(ctx, f)
		must(t, err)
		var out []int64
		for _, inc := range incs {
			out = append(out, inc.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		f    alerting.Filter
		want []int64
	}{
		{"all, newest first", alerting.Filter{}, []int64{c.ID, b.ID, a.ID}},
		{"open", alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}}, []int64{c.ID, a.ID}},
		{"open or resolved", alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusResolved}}, []int64{c.ID, b.ID, a.ID}},
		{"P3", alerting.Filter{Priority: []alerting.Priority{alerting.P3}}, []int64{c.ID, b.ID}},
		{"open P3", alerting.Filter{Status: []alerting.Status{alerting.StatusOpen}, Priority: []alerting.Priority{alerting.P3}}, []int64{c.ID}},
		{"closed", alerting.Filter{Status: []alerting.Status{alerting.StatusClosed}}, nil},
		{"limit", alerting.Filter{Limit: 2}, []int64{c.ID, b.ID}},
	} {
		if got := ids(tc.f); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	incs, err := s.Incidents(ctx, alerting.Filter{Priority: []alerting.Priority{alerting.P1}})
	must(t, err)
	if len(incs) != 1 || incs[0].Labels["host"] != "a" || !incs[0].OpenedAt.Equal(at(0)) || incs[0].Title != "a down" {
		t.Errorf("P1 incidents: got %+v", incs)
	}
}

// testOutboxSnapshot: each notification carries the incident as its
// event left it, whatever happened to the incident before delivery (a
// resolution was delivered with the status of a later reopening).
func testOutboxSnapshot(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := newIncident("web1", alerting.P2, at(0), "desk")
	must(t, s.InsertIncident(ctx, inc))
	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	must(t, s.Transition(ctx, inc.ID, live, alerting.StatusResolved,
		alerting.Event{At: at(time.Minute), Actor: alerting.Automatic, Action: "resolved", Notify: []string{"desk"}}))
	must(t, s.Transition(ctx, inc.ID, []alerting.Status{alerting.StatusResolved}, alerting.StatusOpen,
		alerting.Event{At: at(2 * time.Minute), Actor: alerting.Automatic, Action: "reopened", Notify: []string{"desk"}}))
	type seen struct {
		action   string
		status   alerting.Status
		resolved bool
	}
	var got []seen
	for range 3 {
		due, err := s.DueNotifications(ctx, at(time.Hour), 10)
		must(t, err)
		if len(due) != 1 {
			t.Fatalf("due: %+v, want one (in order)", due)
		}
		n := due[0]
		if n.Incident == nil || n.Incident.ID != inc.ID || n.Incident.Title != "web1 down" || n.Incident.Labels["host"] != "web1" {
			t.Fatalf("notification %q carries %+v, want the incident", n.Action, n.Incident)
		}
		got = append(got, seen{n.Action, n.Incident.Status, n.Incident.ResolvedAt != nil})
		must(t, s.MarkNotification(ctx, n.ID, alerting.Outcome{At: at(time.Hour), Delivered: true}))
	}
	want := []seen{{"opened", alerting.StatusOpen, false}, {"resolved", alerting.StatusResolved, true}, {"reopened", alerting.StatusOpen, false}}
	if !slices.Equal(got, want) {
		t.Errorf("notifications carried %+v, want %+v", got, want)
	}
}

func testOutbox(t *testing.T, s store.Store) {
	ctx := context.Background()
	inc := newIncident("web1", alerting.P1, at(0), "desk", "pager")
	must(t, s.InsertIncident(ctx, inc))
	other := newIncident("db1", alerting.P2, at(time.Second), "desk")
	must(t, s.InsertIncident(ctx, other))
	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	must(t, s.Transition(ctx, inc.ID, live, alerting.StatusResolved,
		alerting.Event{At: at(time.Minute), Actor: alerting.Automatic, Action: "resolved", Text: "back", Notify: []string{"desk"}}))
	// Not yet due before the event.
	if due, err := s.DueNotifications(ctx, at(-time.Second), 10); err != nil || len(due) != 0 {
		t.Errorf("due before the events: got %+v, %v; want none", due, err)
	}
	due, err := s.DueNotifications(ctx, at(time.Hour), 10)
	must(t, err)
	// The resolve to desk waits behind the open to desk; the others are
	// due, oldest first.
	type key struct {
		incident         int64
		receiver, action string
	}
	var got []key
	for _, n := range due {
		got = append(got, key{n.IncidentID, n.Receiver, n.Action})
	}
	want := []key{{inc.ID, "desk", "opened"}, {inc.ID, "pager", "opened"}, {other.ID, "desk", "opened"}}
	if !slices.Equal(got, want) {
		t.Fatalf("due: got %v, want %v", got, want)
	}
	if n := due[0]; n.ID == 0 || n.Text != "web1 down" || !n.At.Equal(at(0)) || n.Attempts != 0 {
		t.Errorf("first notification: got %+v", n)
	}
	// The limit is per receiver: one receiver's backlog does not hide the
	// others'.
	if first, err := s.DueNotifications(ctx, at(time.Hour), 1); err != nil || len(first) != 2 || first[0].ID != due[0].ID || first[1].ID != due[1].ID {
		t.Errorf("limit 1: got %+v, %v; want the oldest of each receiver", first, err)
	}
	told, err := s.Told(ctx, inc.ID)
	must(t, err)
	if !slices.Equal(told, []string{"desk", "pager"}) {
		t.Errorf("told: got %v, want [desk pager]", told)
	}
	if n, err := s.Pending(ctx, inc.ID, "desk"); err != nil || n != 2 {
		t.Errorf("pending to desk: got %d, %v; want 2", n, err)
	}

	// A retry later: not due until then, and the resolve still waits.
	must(t, s.MarkNotification(ctx, due[0].ID, alerting.Outcome{At: at(time.Hour), Next: at(2 * time.Hour), Error: "HTTP 503"}))
	must(t, s.MarkNotification(ctx, due[1].ID, alerting.Outcome{At: at(time.Hour), Delivered: true}))
	must(t, s.MarkNotification(ctx, due[2].ID, alerting.Outcome{At: at(time.Hour), Failed: true, Error: "HTTP 400"}))
	if again, err := s.DueNotifications(ctx, at(time.Hour), 10); err != nil || len(again) != 0 {
		t.Errorf("due before the retry time: got %+v, %v; want none", again, err)
	}
	again, err := s.DueNotifications(ctx, at(2*time.Hour), 10)
	must(t, err)
	if len(again) != 1 || again[0].ID != due[0].ID || again[0].Attempts != 1 {
		t.Fatalf("due at the retry time: got %+v, want the open to desk after 1 attempt", again)
	}
	must(t, s.MarkNotification(ctx, again[0].ID, alerting.Outcome{At: at(2 * time.Hour), Delivered: true}))
	// Now the resolve follows.
	again, err = s.DueNotifications(ctx, at(2*time.Hour), 10)
	must(t, err)
	if len(again) != 1 || again[0].IncidentID != inc.ID || again[0].Action != "resolved" || again[0].Text != "back" || !again[0].At.Equal(at(time.Minute)) {
		t.Fatalf("after the open was delivered: got %+v, want the resolve to desk", again)
	}
	if n, err := s.Pending(ctx, inc.ID, "desk"); err != nil || n != 1 {
		t.Errorf("pending to desk: got %d, %v; want 1", n, err)
	}

	ds, err := s.Deliveries(ctx, inc.ID)
	must(t, err)
	if len(ds) != 3 {
		t.Fatalf("deliveries of web1: got %+v, want 3", ds)
	}
	if d := ds[0]; d.Receiver != "desk" || d.Action != "opened" || d.Status() != "delivered" || d.Attempts != 2 ||
		d.Delivered == nil || !d.Delivered.Equal(at(2*time.Hour)) || d.LastError != "" || !d.At.Equal(at(0)) {
		t.Errorf("open to desk: got %+v", d)
	}
	if d := ds[1]; d.Receiver != "pager" || d.Status() != "delivered" || d.Attempts != 1 {
		t.Errorf("open to pager: got %+v", d)
	}
	if d := ds[2]; d.Receiver != "desk" || d.Action != "resolved" || d.Status() != "pending" || d.Attempts != 0 {
		t.Errorf("resolve to desk: got %+v", d)
	}
	ds, err = s.Deliveries(ctx, other.ID)
	must(t, err)
	if len(ds) != 1 || ds[0].Status() != "failed" || ds[0].LastError != "HTTP 400" || ds[0].Attempts != 1 {
		t.Errorf("deliveries of db1: got %+v", ds)
	}
	if n, err := s.Pending(ctx, other.ID, "desk"); err != nil || n != 0 {
		t.Errorf("pending of a failed notification: got %d, %v; want 0", n, err)
	}
}

func testAlertState(t *testing.T, s store.Store) {
	ctx := context.Background()
	firing := rules.SavedAlert{Group: "hosts", Rule: "HostDown", RuleHash: "h1", Labels: map[string]string{"host": "web1"},
		State: rules.StateFiring, ActiveAt: at(0), FiredAt: at(time.Minute), Value: 1}
	pending := rules.SavedAlert{Group: "hosts", Rule: "HostDown", RuleHash: "h1", Labels: map[string]string{"host": "db1"},
		State: rules.StatePending, ActiveAt: at(2 * time.Minute), Value: 0.5}
	disk := rules.SavedAlert{Group: "disks", Rule: "DiskFull", RuleHash: "h2", Labels: map[string]string{"host": "web1", "mount": "/"},
		State: rules.StateFiring, ActiveAt: at(0), FiredAt: at(0), Value: 97}
	must(t, s.SaveAlerts(ctx, "hosts", []rules.SavedAlert{firing, pending}))
	must(t, s.SaveAlerts(ctx, "disks", []rules.SavedAlert{disk}))
	load := func() []rules.SavedAlert {
		t.Helper()
		got, err := s.LoadAlerts(ctx)
		must(t, err)
		slices.SortFunc(got, func(a, b rules.SavedAlert) int {
			return strings.Compare(a.Group+a.Labels["host"], b.Group+b.Labels["host"])
		})
		return got
	}
	got := load()
	want := []rules.SavedAlert{disk, pending, firing}
	if !equalAlerts(got, want) {
		t.Errorf("loaded:\ngot  %+v\nwant %+v", got, want)
	}
	// Saving a group replaces what it held, and only that group.
	must(t, s.SaveAlerts(ctx, "hosts", []rules.SavedAlert{pending}))
	if got := load(); !equalAlerts(got, []rules.SavedAlert{disk, pending}) {
		t.Errorf("after saving hosts again:\ngot  %+v", got)
	}
	must(t, s.SaveAlerts(ctx, "hosts", nil))
	if got := load(); !equalAlerts(got, []rules.SavedAlert{disk}) {
		t.Errorf("after saving hosts empty:\ngot  %+v", got)
	}
}

func equalAlerts(a, b []rules.SavedAlert) bool {
	return slices.EqualFunc(a, b, func(x, y rules.SavedAlert) bool {
		return x.Group == y.Group && x.Rule == y.Rule && x.RuleHash == y.RuleHash && fmt.Sprint(x.Labels) == fmt.Sprint(y.Labels) &&
			x.State == y.State && x.ActiveAt.Equal(y.ActiveAt) && x.FiredAt.Equal(y.FiredAt) && x.FiredAt.IsZero() == y.FiredAt.IsZero() && x.Value == y.Value
	})
}

func testMaintenance(t *testing.T, s store.Store) {
	ctx := context.Background()
	start := at(22 * time.Hour)
	now := start.Add(-time.Hour)
	w := state.Window{Name: "core switch firmware", Targets: []string{"sw1", "sw2"}, Selector: map[string]string{"site": "hq"},
		Services: []string{"shop"}, Schedule: "weekends", From: start, To: start.Add(2 * time.Hour), CreatedBy: "alice", CreatedAt: now}
	must(t, s.AddMaintenance(ctx, &w))
	later := state.Window{Name: "later", From: start.Add(24 * time.Hour), To: start.Add(25 * time.Hour), CreatedBy: "bob", CreatedAt: now}
	must(t, s.AddMaintenance(ctx, &later))
	if w.ID == 0 || later.ID == w.ID || w.Source != "api" {
		t.Fatalf("added windows: ids %d, %d, source %q; want distinct non-zero ids, source api", w.ID, later.ID, w.Source)
	}
	// Ending during the window cuts it at now.
	mid := start.Add(30 * time.Minute)
	must(t, s.EndMaintenance(ctx, w.ID, "carol", mid))
	err := s.EndMaintenance(ctx, w.ID, "carol", mid.Add(time.Minute))
	if !errors.Is(err, store.ErrMaintenanceOver) || !errors.Is(err, store.ErrConflict) {
		t.Errorf("ending twice: got %v, want ErrMaintenanceOver (an ErrConflict)", err)
	}
	if err := s.EndMaintenance(ctx, w.ID+later.ID+1000, "carol", mid); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ending an unknown window: got %v, want ErrNotFound", err)
	}
	// Ending one that has not started cancels it: it ends at its start.
	must(t, s.EndMaintenance(ctx, later.ID, "dave", mid))

	got, err := s.MaintenanceWindows(ctx, now)
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("windows ending after %v: got %d, want 2", now, len(got))
	}
	g := got[0]
	if g.ID != w.ID || g.Name != w.Name || !slices.Equal(g.Targets, w.Targets) || g.Selector["site"] != "hq" ||
		!slices.Equal(g.Services, w.Services) || g.Schedule != "weekends" || !g.From.Equal(start) || !g.To.Equal(mid) ||
		g.CreatedBy != "alice" || !g.CreatedAt.Equal(now) || g.EndedBy != "carol" || g.Source != "api" {
		t.Errorf("first window: got %+v", g)
	}
	if g := got[1]; g.ID != later.ID || !g.To.Equal(later.From) || g.EndedBy != "dave" {
		t.Errorf("cancelled window: got %+v, want it to end at its start %v", g, later.From)
	}
	// Windows that are over are left out.
	if got, err := s.MaintenanceWindows(ctx, mid); err != nil || len(got) != 1 || got[0].ID != later.ID {
		t.Errorf("windows ending after %v: got %+v, %v; want only the cancelled one", mid, got, err)
	}
	if got, err := s.MaintenanceWindows(ctx, later.From); err != nil || len(got) != 0 {
		t.Errorf("windows ending after %v: got %+v, %v; want none", later.From, got, err)
	}
}

func testTickets(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := newIncident("a", alerting.P2, at(0))
	b := newIncident("b", alerting.P2, at(time.Minute))
	c := newIncident("c", alerting.P2, at(2*time.Minute))
	for _, inc := range []*alerting.Incident{a, b, c} {
		must(t, s.InsertIncident(ctx, inc))
	}
	must(t, s.LinkTicket(ctx, a.ID, alerting.Ticket{Receiver: "redmine", ID: "1", URL: "https://rm/issues/1"}))
	must(t, s.LinkTicket(ctx, a.ID, alerting.Ticket{Receiver: "jira", ID: "OPS-1", URL: "https://jira/OPS-1"}))
	// Linking again replaces the receiver's ticket.
	must(t, s.LinkTicket(ctx, a.ID, alerting.Ticket{Receiver: "redmine", ID: "2", URL: "https://rm/issues/2"}))
	must(t, s.LinkTicket(ctx, b.ID, alerting.Ticket{Receiver: "redmine", ID: "3"}))
	must(t, s.LinkTicket(ctx, c.ID, alerting.Ticket{Receiver: "redmine", ID: "4"}))
	got, err := s.Tickets(ctx, a.ID)
	must(t, err)
	want := []alerting.Ticket{{Receiver: "jira", ID: "OPS-1", URL: "https://jira/OPS-1"}, {Receiver: "redmine", ID: "2", URL: "https://rm/issues/2"}}
	if !slices.Equal(got, want) {
		t.Errorf("tickets of a: got %+v, want %+v", got, want)
	}
	if got, err := s.Tickets(ctx, a.ID+1000); err != nil || len(got) != 0 {
		t.Errorf("tickets of a missing incident: got %+v, %v; want none", got, err)
	}
	// b resolved long ago, c recently: the reconciler follows active
	// incidents and those ended since.
	must(t, s.Transition(ctx, b.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved, alerting.Event{At: at(time.Hour), Action: "resolved"}))
	must(t, s.Transition(ctx, c.ID, []alerting.Status{alerting.StatusOpen}, alerting.StatusResolved, alerting.Event{At: at(3 * time.Hour), Action: "resolved"}))
	links, err := s.LinkedTickets(ctx, "redmine", at(2*time.Hour))
	must(t, err)
	wantLinks := []store.LinkedTicket{{IncidentID: c.ID, Ticket: "4", Status: alerting.StatusResolved}, {IncidentID: a.ID, Ticket: "2", Status: alerting.StatusOpen}}
	if !slices.Equal(links, wantLinks) {
		t.Errorf("linked redmine tickets since 2h: got %+v, want %+v", links, wantLinks)
	}
	links, err = s.LinkedTickets(ctx, "jira", at(0))
	must(t, err)
	if want := []store.LinkedTicket{{IncidentID: a.ID, Ticket: "OPS-1", Status: alerting.StatusOpen}}; !slices.Equal(links, want) {
		t.Errorf("linked jira tickets: got %+v, want %+v", links, want)
	}
}

func testAudit(t *testing.T, s store.Store) {
	ctx := context.Background()
	entries := []audit.Entry{
		{At: at(0), Principal: "alice", Action: "incident.acknowledge", Object: "incident/1", Detail: "on it"},
		{At: at(time.Minute), Principal: "bob", Action: "maintenance.create", Object: "maintenance/3"},
		{At: at(2 * time.Minute), Principal: "alice", Action: "incident.resolve", Object: "incident/1"},
		{At: at(3 * time.Minute), Principal: "signal", Action: "config.reload", Object: "config"},
		{At: at(4 * time.Minute), Principal: "alice", Action: "incident_x.odd", Object: "incident/2"},
	}
	for _, e := range entries {
		must(t, s.Record(ctx, e))
	}
	for _, tc := range []struct {
		name string
		f    audit.Filter
		want []int // indexes into entries, newest first
	}{
		{"all, newest first", audit.Filter{}, []int{4, 3, 2, 1, 0}},
		{"since", audit.Filter{Since: at(2 * time.Minute)}, []int{4, 3, 2}},
		{"principal", audit.Filter{Principal: "alice"}, []int{4, 2, 0}},
		{"action prefix", audit.Filter{Action: "incident."}, []int{2, 0}},
		{"action prefix is literal, not a pattern", audit.Filter{Action: "incident_"}, []int{4}},
		{"principal and action", audit.Filter{Principal: "alice", Action: "incident.res"}, []int{2}},
		{"limit", audit.Filter{Limit: 2}, []int{4, 3}},
		{"nothing", audit.Filter{Principal: "mallory"}, nil},
	} {
		got, err := s.Entries(ctx, tc.f)
		must(t, err)
		var want []audit.Entry
		for _, i := range tc.want {
			want = append(want, entries[i])
		}
		if !slices.EqualFunc(got, want, func(a, b audit.Entry) bool {
			return a.At.Equal(b.At) && a.Principal == b.Principal && a.Action == b.Action && a.Object == b.Object && a.Detail == b.Detail
		}) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, want)
		}
	}
}

func testSecrets(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, err := s.Secret(ctx, "session", 32)
	must(t, err)
	if len(a) != 32 || bytes.Equal(a, make([]byte, 32)) {
		t.Fatalf("secret: got %x, want 32 random bytes", a)
	}
	b, err := s.Secret(ctx, "session", 32)
	must(t, err)
	if !bytes.Equal(a, b) {
		t.Errorf("the same secret again: got %x, want %x", b, a)
	}
	c, err := s.Secret(ctx, "other", 32)
	must(t, err)
	if bytes.Equal(a, c) {
		t.Error("another secret has the same bytes")
	}
	d, err := s.Secret(ctx, "session", 16)
	must(t, err)
	if len(d) != 16 {
		t.Errorf("asked for 16 bytes: got %d", len(d))
	}
}

func testReadParallelism(t *testing.T, s store.Store) {
	if n := s.ReadParallelism(); n < 1 {
		t.Errorf("ReadParallelism: got %d, want at least 1", n)
	}
}

// Repeats within a window are one row with a count; another principal,
// action or object, or a new window, is a new row.
func testAuditCount(t *testing.T, s store.Store) {
	ctx := context.Background()
	e := audit.Entry{At: at(0), Principal: "192.0.2.1", Action: "web.login_refused", Object: "session"}
	for i := range 5 {
		e.At = at(time.Duration(i) * time.Second)
		must(t, s.Count(ctx, e, at(0)))
	}
	must(t, s.Count(ctx, audit.Entry{At: at(time.Second), Principal: "192.0.2.2", Action: e.Action, Object: e.Object}, at(0)))
	e.At = at(time.Minute)
	must(t, s.Count(ctx, e, at(time.Minute)))
	must(t, s.Record(ctx, audit.Entry{At: at(2 * time.Minute), Principal: "alice", Action: "web.login", Object: "session"}))
	got, err := s.Entries(ctx, audit.Filter{})
	must(t, err)
	type row struct {
		principal string
		at        time.Time
		count     int64
	}
	var rows []row
	for _, e := range got {
		rows = append(rows, row{e.Principal, e.At, e.Count})
	}
	want := []row{{"alice", at(2 * time.Minute), 1}, {"192.0.2.1", at(time.Minute), 1}, {"192.0.2.2", at(time.Second), 1}, {"192.0.2.1", at(0), 5}}
	if !slices.Equal(rows, want) {
		t.Errorf("got %v, want %v", rows, want)
	}
}

func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	if ok, err := s.SessionRevoked(ctx, "a"); err != nil || ok {
		t.Fatalf("unknown session: got %v, %v; want not revoked", ok, err)
	}
	must(t, s.RevokeSession(ctx, "a", at(time.Hour)))
	must(t, s.RevokeSession(ctx, "a", at(time.Minute))) // twice: still until the later
	must(t, s.RevokeSession(ctx, "b", at(time.Minute)))
	for id, want := range map[string]bool{"a": true, "b": true, "c": false} {
		if ok, err := s.SessionRevoked(ctx, id); err != nil || ok != want {
			t.Errorf("session %s: got %v, %v; want %v", id, ok, err, want)
		}
	}
	// Forgotten once expired: b's cookie would be refused for its age.
	if _, err := s.Prune(ctx, at(30*time.Minute), store.Retention{}); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"a": true, "b": false} {
		if ok, err := s.SessionRevoked(ctx, id); err != nil || ok != want {
			t.Errorf("after pruning, session %s: got %v, %v; want %v", id, ok, err, want)
		}
	}
}

// Prune removes what outlived its retention and nothing else.
func testPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	must(t, s.Record(ctx, audit.Entry{At: at(0), Principal: "old", Action: "a", Object: "o"}))
	must(t, s.Record(ctx, audit.Entry{At: at(10 * day), Principal: "new", Action: "a", Object: "o"}))

	// Incident over long ago: its delivered and given-up notifications
	// go. Incident still open: its delivered notification stays (its
	// receivers hear of the resolve).
	over := newIncident("web1", alerting.P1, at(0), "desk", "pager")
	must(t, s.InsertIncident(ctx, over))
	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	must(t, s.Transition(ctx, over.ID, live, alerting.StatusResolved,
		alerting.Event{At: at(time.Minute), Actor: alerting.Automatic, Action: "resolved", Text: "back", Notify: []string{"desk"}}))
	open := newIncident("db1", alerting.P2, at(0), "desk")
	must(t, s.InsertIncident(ctx, open))
	due, err := s.DueNotifications(ctx, at(time.Hour), 10)
	must(t, err)
	for _, n := range due {
		o := alerting.Outcome{At: at(time.Hour), Delivered: true}
		if n.Receiver == "pager" {
			o = alerting.Outcome{At: at(time.Hour), Failed: true, Error: "HTTP 500"}
		}
		must(t, s.MarkNotification(ctx, n.ID, o))
	}
	// over's resolve to desk is now due, and stays pending.

	// Zero retention keeps everything.
	if n, err := s.Prune(ctx, at(1000*day), store.Retention{}); err != nil || n != 0 {
		t.Fatalf("prune keeping everything: got %d, %v; want 0", n, err)
	}
	n, err := s.Prune(ctx, at(5*day+2*time.Hour), store.Retention{Audit: 5 * day, Notifications: 5 * day})
	must(t, err)
	if n != 3 {
		t.Errorf("pruned %d rows, want 3 (one audit entry, two notifications)", n)
	}
	entries, err := s.Entries(ctx, audit.Filter{})
	must(t, err)
	if len(entries) != 1 || entries[0].Principal != "new" {
		t.Errorf("audit after pruning: got %+v, want only the new entry", entries)
	}
	if told, err := s.Told(ctx, over.ID); err != nil || !slices.Equal(told, []string{"desk"}) {
		t.Errorf("over incident told: got %v, %v; want [desk] (its pending resolve)", told, err)
	}
	if told, err := s.Told(ctx, open.ID); err != nil || !slices.Equal(told, []string{"desk"}) {
		t.Errorf("open incident told: got %v, %v; want [desk]", told, err)
	}
	if p, err := s.Pending(ctx, over.ID, "desk"); err != nil || p != 1 {
		t.Errorf("pending resolve: got %d, %v; want 1", p, err)
	}
}

// testPruneHistory: the history retention drops old state changes but a
// target's last one before the cutoff, old collector runs, and incidents
// resolved long ago with their timelines; open incidents and what is
// newer stay.
func testPruneHistory(t *testing.T, s store.Store) {
	ctx := context.Background()
	day := 24 * time.Hour
	must(t, s.RecordChanges(ctx, []state.Change{
		{Target: "web1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at(0), Cause: "data"},
		{Target: "web1", Kind: state.KindHost, From: state.Up, To: state.Down, At: at(day), Cause: "silent"},
		{Target: "web1", Kind: state.KindHost, From: state.Down, To: state.Up, At: at(2 * day), Cause: "data"},
		{Target: "web1", Kind: state.KindHost, From: state.Up, To: state.Down, At: at(20 * day), Cause: "silent"},
		{Target: "db1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at(day), Cause: "data"},
	}))
	run, _, err := s.StartRun(ctx, at(0))
	must(t, err)
	must(t, s.Alive(ctx, run, at(3*day))) // a run that ended long ago: pruned with the rest
	old := newIncident("web1", alerting.P1, at(day), "desk")
	must(t, s.InsertIncident(ctx, old))
	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	must(t, s.Transition(ctx, old.ID, live, alerting.StatusResolved,
		alerting.Event{At: at(2 * day), Actor: alerting.Automatic, Action: "resolved", Text: "back", Notify: []string{"desk"}}))
	open := newIncident("db1", alerting.P2, at(day))
	must(t, s.InsertIncident(ctx, open))

	if _, err := s.Prune(ctx, at(100*day), store.Retention{History: 90 * day}); err != nil {
		t.Fatal(err)
	}
	hist, err := s.History(ctx, "", at(0), at(30*day))
	must(t, err)
	var got []string
	for _, c := range hist {
		got = append(got, c.Target+"@"+c.At.Sub(t0).String())
	}
	// The cutoff is day 10: web1 keeps its change of day 2 (its state
	// then) and of day 20; db1 its only one.
	if want := []string{"db1@24h0m0s", "web1@48h0m0s", "web1@480h0m0s"}; !slices.Equal(got, want) {
		t.Errorf("state history after pruning: got %v, want %v", got, want)
	}
	initial, _, err := s.HistorySince(ctx, "web1", at(15*day), at(16*day))
	must(t, err)
	if initial != state.Up {
		t.Errorf("web1's state on day 15 after pruning: got %s, want up", initial)
	}
	if _, err := s.Incident(ctx, old.ID); err == nil {
		t.Error("the incident resolved on day 2 is still there")
	}
	if inc := getIncident(t, s, open.ID); inc.Status != alerting.StatusOpen {
		t.Errorf("the open incident: got status %s", inc.Status)
	}
}
