package collector

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// TestStatesPublishedIntoAFullWindow: with the window's series limit
// already reached by senders, the target states still reach it (the
// host-down rule does not go blind); an append that still fails is
// counted on /metrics and logged once per reason, not once per sample.
func TestStatesPublishedIntoAFullWindow(t *testing.T) {
	window := samples.New(time.Hour, 1, 1)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := window.Append(labels.FromStrings("__name__", "flood", "host", "web1"), now.UnixMilli(), 1); err != nil {
		t.Fatal(err)
	}
	if err := window.Append(labels.FromStrings("__name__", "flood2"), now.UnixMilli(), 1); err == nil {
		t.Fatal("the window is not full")
	}
	var logs bytes.Buffer
	own := newOwnSeries(window, slog.New(slog.NewTextHandler(&logs, nil)))
	targets := []state.StateView{
		{Name: "web1", Kind: state.KindHost, State: state.Down},
		{Name: "sw1", Kind: state.KindDevice, State: state.Up},
	}
	new(StatePublisher).Publish(own, targets, now)

	q, _ := window.Querier(now.UnixMilli(), now.UnixMilli())
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "nines_target_up"))
	got := map[string]float64{}
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			_, v := it.At()
			got[ss.At().Labels().Get("target")] = v
		}
	}
	if got["web1"] != 0 || got["sw1"] != 1 || len(got) != 2 {
		t.Errorf("nines_target_up in a full window: got %v, want web1 0 and sw1 1", got)
	}
	if n := testutil.ToFloat64(own.failures.WithLabelValues("series_limit")); n != 0 {
		t.Errorf("failures counted for a full window: %v, want 0", n)
	}

	// Older than what the window holds: refused, counted per sample,
	// logged once.
	new(StatePublisher).Publish(own, targets, now.Add(-time.Minute))
	new(StatePublisher).Publish(own, targets, now.Add(-2*time.Minute))
	perRound := float64(len(targets) * (1 + len(state.AllStates)))
	if n := testutil.ToFloat64(own.failures.WithLabelValues("out_of_order")); n != 2*perRound {
		t.Errorf("out-of-order failures: got %v, want %v", n, 2*perRound)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("warnings: got %d, want 1:\n%s", n, logs.String())
	}
}

// TestIncidentsPublished: the open incidents reach the window as /metrics
// has them, with a zero series for every priority none is open at; a
// service whose last incident ended is marked stale at once, so an instant
// query no longer sees it.
func TestIncidentsPublished(t *testing.T) {
	window := samples.New(time.Hour, 0, 0)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var s incidentSeries
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1000, Timeout: time.Second, LookbackDelta: 5 * time.Minute})
	query := func(at time.Time) string {
		t.Helper()
		return instantQuery(t, ng, window, `nines_incidents_open`, at)
	}
	s.publish(window, map[[2]string]int{{"P1", "erp"}: 2, {"P3", ""}: 1}, now)
	want := `{__name__="nines_incidents_open", priority="P1", service="erp"} 2
{__name__="nines_incidents_open", priority="P1"} 0
{__name__="nines_incidents_open", priority="P2"} 0
{__name__="nines_incidents_open", priority="P3"} 1
{__name__="nines_incidents_open", priority="P4"} 0`
	if got := query(now); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	// The ERP incidents end: a second later the series is gone.
	now = now.Add(time.Second)
	s.publish(window, map[[2]string]int{}, now)
	want = `{__name__="nines_incidents_open", priority="P1"} 0
{__name__="nines_incidents_open", priority="P2"} 0
{__name__="nines_incidents_open", priority="P3"} 0
{__name__="nines_incidents_open", priority="P4"} 0`
	if got := query(now); got != want {
		t.Errorf("after the incidents ended: got\n%s\nwant\n%s", got, want)
	}
}

// instantQuery runs expr at at over w and returns its vector, a sorted
// line per series with its value.
func instantQuery(t *testing.T, ng *promql.Engine, w *samples.Store, expr string, at time.Time) string {
	t.Helper()
	q, err := ng.NewInstantQuery(context.Background(), w, nil, expr, at)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	res := q.Exec(context.Background())
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	v, _ := res.Vector()
	var out []string
	for _, smp := range v {
		out = append(out, smp.Metric.String()+" "+strconv.FormatFloat(smp.F, 'g', -1, 64))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// countingAppender counts the samples appended into w.
type countingAppender struct {
	w *samples.Store
	n int
}

func (c *countingAppender) Append(lset labels.Labels, t int64, v float64) error {
	c.n++
	return c.w.AppendOwn(lset, t, v)
}

// TestStatesPublishedOnChange: an instant query (what a rule runs) sees
// of the state series, after every check and between checks, exactly
// what it saw when every target's six series were written at every
// check (the reference, written beside it): a change is visible at the
// check that saw it, new labels at once, a removed target's series
// until the lookback passes. The window gets a small part of the samples.
func TestStatesPublishedOnChange(t *testing.T) {
	ref, pub := &countingAppender{w: samples.New(time.Hour, 0, 0)}, &countingAppender{w: samples.New(time.Hour, 0, 0)}
	ng := promql.NewEngine(promql.EngineOpts{MaxSamples: 100000, Timeout: time.Second, LookbackDelta: 5 * time.Minute})
	query := func(w *samples.Store, expr string, at time.Time) string {
		t.Helper()
		return instantQuery(t, ng, w, expr, at)
	}
	rnd := rand.New(rand.NewPCG(20, 3))
	var targets []state.StateView
	for i := range 12 {
		kind := []state.Kind{state.KindHost, state.KindDevice, state.KindCheck}[i%3]
		var l map[string]string
		if i%2 == 0 {
			l = map[string]string{"site": "lab"}
		}
		targets = append(targets, state.StateView{Name: "t" + strconv.Itoa(i), Kind: kind, Labels: l, State: state.Unknown})
	}
	var p StatePublisher
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const checks = 1800 // 30 minutes of checks every second
	for i := range checks {
		switch r := rnd.IntN(100); {
		case r < 8: // a state changes
			targets[rnd.IntN(len(targets))].State = state.AllStates[rnd.IntN(len(state.AllStates))]
		case r < 9: // labels change (a new map, as the tracker makes)
			targets[rnd.IntN(len(targets))].Labels = map[string]string{"site": strconv.Itoa(rnd.IntN(3))}
		case r < 10 && len(targets) > 4: // a target is removed
			k := rnd.IntN(len(targets))
			targets = slices.Delete(targets, k, k+1)
		case r < 11: // one is added
			targets = append(targets, state.StateView{Name: "n" + strconv.Itoa(i), Kind: state.KindHost, State: state.Up})
		}
		rnd.Shuffle(len(targets), func(i, j int) { targets[i], targets[j] = targets[j], targets[i] })
		for _, tg := range targets { // the old way: all of them, every check
			publishOld(ref, tg, now.UnixMilli())
		}
		p.Publish(pub, targets, now)
		for _, at := range []time.Time{now, now.Add(700 * time.Millisecond)} {
			for _, expr := range []string{`nines_target_state`, `nines_target_up == 0`} {
				if want, got := query(ref.w, expr, at), query(pub.w, expr, at); got != want {
					t.Fatalf("check %d, %s at +%s: got\n%s\nwant\n%s", i, expr, at.Sub(now), got, want)
				}
			}
		}
		now = now.Add(time.Second)
	}
	if pub.n*10 > ref.n {
		t.Errorf("%d samples written, against %d when all are written at every check: want under a tenth", pub.n, ref.n)
	}
	t.Logf("%d samples written, against %d when all are written at every check", pub.n, ref.n)
}

// BenchmarkPublishStates: one check's publishing of 30,000 targets' state
// series into the window, a check a second, 30 of them changing state
// each check: every series of every target (as before StatePublisher)
// against StatePublisher's changes and refreshes (after its first check,
// which writes all).
func BenchmarkPublishStates(b *testing.B) {
	const n = 30000
	targets := make([]state.StateView, n)
	for i := range targets {
		name := "sim-" + strconv.Itoa(i)
		targets[i] = state.StateView{Name: name, Kind: state.KindHost, State: state.Up,
			Labels: map[string]string{"site": "dc" + strconv.Itoa(i%4), "role": "web"}}
	}
	start := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	step := func(i int) time.Time {
		for k := range 30 {
			t := &targets[(i*30+k)%n]
			t.State = map[state.State]state.State{state.Up: state.Down, state.Down: state.Up}[t.State]
		}
		return start.Add(time.Duration(i) * time.Second)
	}
	b.Run("every_check", func(b *testing.B) {
		w := samples.New(time.Hour, 0, 0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			now := step(i)
			for _, t := range targets {
				publishOld(w, t, now.UnixMilli())
			}
		}
	})
	b.Run("on_change", func(b *testing.B) {
		w := samples.New(time.Hour, 0, 0)
		var p StatePublisher
		p.Publish(w, targets, start.Add(-time.Second)) // the first check writes every series
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			p.Publish(w, targets, step(i))
		}
	})
}

// publishOld writes t's six series at ts into w as the collector did at
// every check before StatePublisher: the reference.
func publishOld(w rules.Appender, t state.StateView, ts int64) {
	m := maps.Clone(t.Labels)
	if m == nil {
		m = map[string]string{}
	}
	m["target"], m["kind"] = t.Name, string(t.Kind)
	if t.Kind == state.KindHost {
		m["host"] = t.Name
	}
	up := 0.0
	if t.State == state.Up {
		up = 1
	}
	m[model.MetricNameLabel] = "nines_target_up"
	_ = w.Append(labels.FromMap(m), ts, up)
	m[model.MetricNameLabel] = "nines_target_state"
	for _, s := range state.AllStates {
		v := 0.0
		if s == t.State {
			v = 1
		}
		m["state"] = string(s)
		_ = w.Append(labels.FromMap(m), ts, v)
	}
}
