package samples

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

func collect(t *testing.T, ss storage.SeriesSet) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	var it chunkenc.Iterator
	for ss.Next() {
		s := ss.At()
		it = s.Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			ts, _ := it.At()
			out[s.Labels().String()] = append(out[s.Labels().String()], ts)
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendSelectPrune(t *testing.T) {
	s := New(time.Minute, 3, 0)
	a := labels.FromStrings("__name__", "cpu", "host", "a")
	b := labels.FromStrings("__name__", "cpu", "host", "b")
	m := labels.FromStrings("__name__", "mem", "host", "a")
	for _, ts := range []int64{1000, 2000, 3000} {
		if err := s.Append(a, ts, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(a, 2500, 1); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("out of order: got %v, want ErrOutOfOrder", err)
	}
	if err := s.Append(a, 3000, 7); err != nil {
		t.Errorf("same timestamp replaces: got %v", err)
	}
	_ = s.Append(b, 2000, 1)
	_ = s.Append(m, 2000, 1)
	if err := s.Append(labels.FromStrings("__name__", "x"), 1, 1); !errors.Is(err, ErrTooMany) {
		t.Errorf("fourth series over a limit of 3: got %v, want ErrTooMany", err)
	}

	q, _ := s.Querier(1500, 3000)
	got := collect(t, q.Select(context.Background(), true, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "cpu")))
	if want := []int64{2000, 3000}; len(got[a.String()]) != 2 || got[a.String()][0] != want[0] {
		t.Errorf("cpu{host=a} in [1500,3000]: got %v, want %v", got[a.String()], want)
	}
	if len(got) != 2 {
		t.Errorf("cpu series: got %d, want 2", len(got))
	}
	got = collect(t, q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "host", "a")))
	if len(got) != 2 {
		t.Errorf("host=~a: got %d series, want 2 (cpu and mem)", len(got))
	}
	names, _, _ := q.LabelValues(context.Background(), "__name__", nil)
	if len(names) != 2 || names[0] != "cpu" || names[1] != "mem" {
		t.Errorf("label values of __name__: got %v", names)
	}

	// 61 s later only samples within the last minute remain; empty series go.
	s.Prune(time.UnixMilli(62_500))
	if got := s.NumSeries(); got != 1 {
		t.Errorf("after prune: got %d series, want 1 (cpu{host=a} with its 3000 ms sample)", got)
	}
	q, _ = s.Querier(0, 100_000)
	got = collect(t, q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "cpu")))
	if ts := got[a.String()]; len(ts) != 1 || ts[0] != 3000 {
		t.Errorf("after prune: got %v, want [3000]", ts)
	}
}

func TestIteratorSeek(t *testing.T) {
	s := New(time.Hour, 0, 0)
	l := labels.FromStrings("__name__", "x")
	for ts := int64(0); ts < 10; ts++ {
		_ = s.Append(l, ts*10, float64(ts))
	}
	q, _ := s.Querier(0, 1000)
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "x"))
	if !ss.Next() {
		t.Fatal("no series")
	}
	it := ss.At().Iterator(nil)
	if it.Seek(35) != chunkenc.ValFloat {
		t.Fatal("seek 35: no sample")
	}
	if ts, v := it.At(); ts != 40 || v != 4 {
		t.Errorf("seek 35: got (%d, %v), want (40, 4)", ts, v)
	}
	if it.Seek(1000) != chunkenc.ValNone {
		t.Error("seek past the end: got a sample")
	}
}

// BenchmarkSeriesMemory measures the window's memory per series and per
// sample: 10,000 series of 60 samples (an hour at one per minute).
func BenchmarkSeriesMemory(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s := New(time.Hour, 0, 0)
		b.StartTimer()
		for i := range 10_000 {
			l := labels.FromStrings("__name__", "node_cpu_seconds_total", "cpu", strconv.Itoa(i%64), "host", "host-"+strconv.Itoa(i/64), "mode", "user")
			for t := range 60 {
				_ = s.Append(l, int64(t)*60_000, float64(t))
			}
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		used := float64(after.HeapAlloc - before.HeapAlloc)
		b.ReportMetric(used/10_000, "bytes/series")
		b.ReportMetric(used/600_000, "bytes/sample")
		runtime.KeepAlive(s)
		b.StartTimer()
	}
}

// TestAppendCopiesLabels: the caller may reuse the memory of the labels it
// appends (ScratchBuilder.Overwrite); the store's indexes must not see it.
func TestAppendCopiesLabels(t *testing.T) {
	s := New(time.Hour, 0, 0)
	var sb labels.ScratchBuilder
	var reused labels.Labels
	for i := range 50 {
		sb.Reset()
		sb.Add("__name__", "metric_"+strconv.Itoa(i))
		sb.Add("host", "h"+strconv.Itoa(i))
		sb.Overwrite(&reused)
		if err := s.Append(reused, 1000, float64(i)); err != nil {
			t.Fatal(err)
		}
	}
	q, _ := s.Querier(0, 2000)
	for _, i := range []int{0, 3, 49} {
		got := collect(t, q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "metric_"+strconv.Itoa(i))))
		if len(got) != 1 {
			t.Errorf("metric_%d: got %v, want one series", i, got)
		}
	}
}

// TestAppendOwnOutsideLimits: the collector's own series go in when the
// window is full, overall and for their host, without taking room from
// senders, and leave with Prune like any other.
func TestAppendOwnOutsideLimits(t *testing.T) {
	s := New(time.Minute, 1, 1)
	if err := s.Append(labels.FromStrings("__name__", "cpu", "host", "a"), 1000, 1); err != nil {
		t.Fatal(err)
	}
	up := labels.FromStrings("__name__", "nines_target_up", "host", "a", "target", "a")
	if err := s.Append(up, 1000, 1); !errors.Is(err, ErrTooMany) {
		t.Fatalf("Append over the limit: got %v, want ErrTooMany", err)
	}
	for _, ts := range []int64{1000, 2000} {
		if err := s.AppendOwn(up, ts, 1); err != nil {
			t.Errorf("AppendOwn at %d into a full window: %v", ts, err)
		}
	}
	if err := s.AppendOwn(up, 1500, 1); !errors.Is(err, ErrOutOfOrder) {
		t.Errorf("AppendOwn out of order: got %v, want ErrOutOfOrder", err)
	}
	if got := s.NumSeries(); got != 2 {
		t.Errorf("series: got %d, want 2", got)
	}
	if err := s.Append(labels.FromStrings("__name__", "mem", "host", "b"), 1000, 1); !errors.Is(err, ErrTooMany) {
		t.Errorf("own series must not make room for senders: got %v", err)
	}
	s.Prune(time.UnixMilli(61_500)) // keeps the own series' 2000 ms sample only
	if got := s.NumSeries(); got != 1 {
		t.Errorf("after prune: got %d series, want 1", got)
	}
	if err := s.Append(labels.FromStrings("__name__", "mem", "host", "b"), 62_000, 1); err != nil {
		t.Errorf("the sender's room is back after prune: %v", err)
	}
}
