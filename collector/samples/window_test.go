package samples

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

type oraclePoint struct {
	t int64
	f float64
}

// TestAgainstOracle drives random appends, prunes, selects and seeks on
// an injected clock against a plain slice per series. Replay a failure
// with its seed.
func TestAgainstOracle(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(strconv.FormatUint(seed, 10), func(t *testing.T) { oracleRun(t, seed) })
	}
}

func oracleRun(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, seed))
	const retention = 10 * time.Minute
	s := New(retention, 0, 0)
	lsets := []labels.Labels{
		labels.FromStrings("__name__", "a", "host", "x"),
		labels.FromStrings("__name__", "a", "host", "y"),
		labels.FromStrings("__name__", "b", "host", "x"),
	}
	want := make([][]oraclePoint, len(lsets))
	now := int64(0)
	for step := range 3000 {
		switch op := r.IntN(100); {
		case op < 80:
			i := r.IntN(len(lsets))
			now += r.Int64N(10_000)
			ts := now - r.Int64N(3)*1000 // now and then out of order or equal
			v := float64(r.IntN(1000)) / 8
			if r.IntN(10) == 0 {
				v = math.Float64frombits(r.Uint64())
			}
			err := s.Append(lsets[i], ts, v)
			w := want[i]
			switch {
			case len(w) > 0 && ts < w[len(w)-1].t:
				if !errors.Is(err, ErrOutOfOrder) {
					t.Fatalf("step %d: append at %d after %d: got %v, want ErrOutOfOrder", step, ts, w[len(w)-1].t, err)
				}
			case len(w) > 0 && ts == w[len(w)-1].t:
				w[len(w)-1].f = v
			default:
				want[i] = append(w, oraclePoint{ts, v})
			}
		case op < 85:
			s.Prune(time.UnixMilli(now))
			cutoff := now - retention.Milliseconds()
			n := 0
			for i, w := range want {
				k := 0
				for k < len(w) && w[k].t < cutoff {
					k++
				}
				want[i] = w[k:]
				if len(want[i]) > 0 {
					n++
				}
			}
			if got := s.NumSeries(); got != n {
				t.Fatalf("step %d: series after prune: got %d, want %d", step, got, n)
			}
		default:
			mint := now - r.Int64N(15*60_000)
			maxt := mint + r.Int64N(15*60_000)
			q, _ := s.Querier(mint, maxt)
			for i, l := range lsets {
				ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", l.Get("__name__")), labels.MustNewMatcher(labels.MatchEqual, "host", l.Get("host")))
				var in []oraclePoint
				for _, p := range want[i] {
					if p.t >= mint && p.t <= maxt {
						in = append(in, p)
					}
				}
				if !ss.Next() {
					if len(in) > 0 {
						t.Fatalf("step %d: %s in [%d, %d]: no series, want %d samples", step, l, mint, maxt, len(in))
					}
					continue
				}
				it := ss.At().Iterator(nil)
				var got []oraclePoint
				if r.IntN(2) == 0 && len(in) > 0 { // seek to a random point first
					k := r.IntN(len(in))
					target := in[k].t - r.Int64N(2)
					if it.Seek(target) != chunkenc.ValFloat {
						t.Fatalf("step %d: %s seek %d: no sample", step, l, target)
					}
					for k > 0 && in[k-1].t >= target {
						k--
					}
					in = in[k:]
					ts, f := it.At()
					got = append(got, oraclePoint{ts, f})
				}
				for it.Next() == chunkenc.ValFloat {
					ts, f := it.At()
					got = append(got, oraclePoint{ts, f})
				}
				if len(got) != len(in) {
					t.Fatalf("step %d: %s in [%d, %d]: got %d samples, want %d\ngot  %v\nwant %v", step, l, mint, maxt, len(got), len(in), got, in)
				}
				for k := range got {
					if got[k].t != in[k].t || math.Float64bits(got[k].f) != math.Float64bits(in[k].f) {
						t.Fatalf("step %d: %s sample %d: got %v, want %v", step, l, k, got[k], in[k])
					}
				}
				if ss.Next() {
					t.Fatalf("step %d: %s: more than one series", step, l)
				}
			}
		}
	}
}

// hostFixture appends what an agent sends for a host every 15 s (the
// default interval) over the window, with values shaped like real ones:
// CPU seconds in USER_HZ steps, byte counters, gauges that wander and
// gauges that stay put (sizes, counts, states), and prunes every minute
// as the collector does.
func hostFixture(s *Store, hosts int, dur time.Duration) {
	r := rand.New(rand.NewPCG(1, 2))
	type ser struct {
		l    labels.Labels
		kind int
		v    float64
	}
	var all []ser
	for h := range hosts {
		host := "web-" + strconv.Itoa(h) + ".example.net"
		add := func(kind int, name string, kv ...string) {
			l := labels.FromStrings(append([]string{"__name__", name, "host", host}, kv...)...)
			all = append(all, ser{l: l, kind: kind, v: float64(r.IntN(1 << 30))})
		}
		for c := range 4 {
			for _, m := range []string{"user", "system", "idle", "iowait", "steal"} {
				add(0, "cpu_seconds_total", "cpu", strconv.Itoa(c), "mode", m)
			}
		}
		for _, n := range []string{"mem_available_bytes", "mem_cached_bytes", "mem_used_bytes"} {
			add(2, n)
		}
		for _, n := range []string{"load1", "load5", "load15"} {
			add(3, n)
		}
		for _, d := range []string{"sda", "sdb"} {
			for _, n := range []string{"disk_read_bytes_total", "disk_written_bytes_total", "disk_reads_total", "disk_writes_total"} {
				add(1, n, "device", d)
			}
		}
		for _, i := range []string{"eth0", "lo"} {
			for _, n := range []string{"net_received_bytes_total", "net_sent_bytes_total", "net_received_packets_total", "net_sent_packets_total"} {
				add(1, n, "interface", i)
			}
		}
		for _, m := range []string{"/", "/var", "/home"} {
			add(4, "filesystem_size_bytes", "mountpoint", m)
			add(2, "filesystem_free_bytes", "mountpoint", m)
			add(4, "filesystem_files", "mountpoint", m)
		}
		for _, n := range []string{"mem_total_bytes", "swap_total_bytes", "swap_used_bytes", "procs_running", "boot_time_seconds"} {
			add(4, n)
		}
	}
	step := 15 * time.Second
	for ts := time.Duration(0); ts <= dur; ts += step {
		for i := range all {
			x := &all[i]
			switch x.kind {
			case 0: // CPU seconds: hundredths; most modes of a quiet host stand still
				if r.IntN(4) == 0 {
					x.v += float64(r.IntN(300)) / 100
				}
			case 1: // byte and packet counters
				x.v += float64(r.IntN(1 << 12))
			case 2: // memory and free space: whole pages, up or down
				x.v += float64((r.IntN(201) - 100) * 4096)
			case 3: // load averages, two decimals
				x.v = float64(r.IntN(400)) / 100
			}
			_ = s.Append(x.l, ts.Milliseconds(), x.v)
		}
		if ts%time.Minute == 0 {
			s.Prune(time.UnixMilli(ts.Milliseconds()))
		}
	}
}

// TestBytesPerSample: a window of an hour at 15 s (240 samples a series)
// takes at most 4 bytes a sample, label sets and every per-series cost
// included, measured as the heap the store holds, and Bytes() accounts
// for most of it.
func TestBytesPerSample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a window of 144,000 samples")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := New(time.Hour, 0, 0)
	hostFixture(s, 10, 105*time.Minute) // the window is full and pruned, a quarter of an hour into its oldest chunk
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)

	q, _ := s.Querier(math.MinInt64, math.MaxInt64)
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	n, series := 0, 0
	var it chunkenc.Iterator
	for ss.Next() {
		series++
		it = ss.At().Iterator(it)
		for it.Next() == chunkenc.ValFloat {
			n++
		}
	}
	if series != s.NumSeries() || n < series*240 {
		t.Fatalf("fixture: %d series with %d samples, want %d with 240 or more each", series, n, s.NumSeries())
	}
	perSample := heap / float64(n)
	t.Logf("%d series, %d samples: heap %.0f bytes (%.2f a sample, %.0f a series), Bytes() %d", series, n, heap, perSample, heap/float64(series), s.Bytes())
	limit := 4.0
	if raceEnabled {
		limit = 4.5 // the race detector's allocations are larger
	}
	if perSample > limit {
		t.Errorf("heap per sample: got %.2f bytes, want at most %.1f", perSample, limit)
	}
	if b := float64(s.Bytes()); b > heap || b < heap/2 {
		t.Errorf("Bytes(): got %.0f, want between half the heap (%.0f) and all of it", b, heap)
	}

	// A rule over every series leaves each a decode hint: the worst case.
	end := (105 * time.Minute).Milliseconds()
	q, _ = s.Querier(end-5*time.Minute.Milliseconds(), end)
	ss = q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchRegexp, "__name__", ".+"))
	for ss.Next() {
		for it = ss.At().Iterator(it); it.Next() == chunkenc.ValFloat; {
		}
	}
	ss, it = nil, nil
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
	t.Logf("after a query of the last 5 minutes of every series: heap %.0f bytes (%.2f a sample)", heap, heap/float64(n))
	runtime.KeepAlive(s)
}
