package collector

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/tsdb/chunkenc"

	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
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
	targets := []state.Target{
		{Name: "web1", Kind: state.KindHost, State: state.Down},
		{Name: "sw1", Kind: state.KindDevice, State: state.Up},
	}
	PublishStates(own, targets, now)

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
	PublishStates(own, targets, now.Add(-time.Minute))
	PublishStates(own, targets, now.Add(-2*time.Minute))
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
		q, err := ng.NewInstantQuery(context.Background(), window, nil, `nines_incidents_open`, at)
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
