package ingest

import (
	"log/slog"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ninesmon/nines/internal/wire"
)

// TestDedupRangesEvicted: a host's fifth agent run makes the least
// recently extended run's range be forgotten, and
// nines_ingest_dedup_ranges_evicted_total counts it; a retry of a batch
// of the forgotten run is then taken again (what the counter warns of),
// while the runs kept still drop theirs.
func TestDedupRangesEvicted(t *testing.T) {
	app, obs := &fakeAppender{}, &fakeObserver{}
	reg := prometheus.NewRegistry()
	h := NewHandler(Options{Appender: app, Observer: obs, MaxBodyBytes: 1 << 16, MaxLineBytes: 1024, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return testNow }, Registerer: reg})
	send := func(seq uint64) {
		t.Helper()
		hdr := map[string]string{wire.HeaderSequence: strconv.FormatUint(seq, 10), wire.HeaderHostID: "machine-1"}
		if code := push(t, h.Push(), []byte("m v=1 1000\n"), false, hdr).Code; code != http.StatusNoContent {
			t.Fatalf("push %d: %d", seq, code)
		}
	}
	// Four runs, two batches each: all kept.
	for run := uint64(1); run <= maxRunsPerHost; run++ {
		send(run*1_000_000 + 1)
		send(run*1_000_000 + 2)
	}
	if got := testutil.ToFloat64(h.evicted); got != 0 {
		t.Fatalf("ranges evicted with %d runs: %v, want 0", maxRunsPerHost, got)
	}
	// A fifth run: the first (least recently extended) is forgotten.
	send(9_000_001)
	send(9_000_002) // the fifth run going on evicts nothing more
	if got := testutil.ToFloat64(h.evicted); got != 1 {
		t.Errorf("ranges evicted after a fifth run: %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "nines_ingest_dedup_ranges_evicted_total"); err != nil || n != 1 {
		t.Errorf("nines_ingest_dedup_ranges_evicted_total registered: %d series, %v", n, err)
	}
	taken := len(app.got)
	send(2_000_002) // a retry of a kept run: dropped
	if len(app.got) != taken || testutil.ToFloat64(h.duplicates) != 1 {
		t.Errorf("a retry of a kept run's batch taken (%d pushes, %v duplicates)", len(app.got)-taken, testutil.ToFloat64(h.duplicates))
	}
	send(1_000_002) // a retry of the forgotten run: taken again, and it is a new range
	if len(app.got) != taken+1 {
		t.Errorf("a retry of the forgotten run's batch: %d pushes taken, want 1", len(app.got)-taken)
	}
	if got := testutil.ToFloat64(h.evicted); got != 2 {
		t.Errorf("ranges evicted after the forgotten run's retry: %v, want 2", got)
	}
}
