package shard

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

// sink records what a feed applies; Append refuses a sample not newer
// than the series' last, as the window does.
type sink struct {
	mu      sync.Mutex
	samples []string
	newest  map[string]int64
	results []string
}

func (s *sink) Append(lset labels.Labels, t int64, v float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.newest == nil {
		s.newest = map[string]int64{}
	}
	if t <= s.newest[lset.String()] {
		return fmt.Errorf("out of order")
	}
	s.newest[lset.String()] = t
	s.samples = append(s.samples, fmt.Sprintf("%s@%d=%v", lset, t, v))
	return nil
}

func (s *sink) ProbeResult(_ context.Context, p state.Probe, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, fmt.Sprintf("%s ok=%v %q at %s", p.Name, p.OK, p.Cause, now.Format("15:04:05")))
	return nil
}

// TestFeedSharesProbes: three members on one store (SQLite here; the
// store conformance suite runs the same calls on PostgreSQL). What one
// probes reaches the others once, in order, never itself; an outcome
// older than one already applied for its target (a target that moved)
// is stale; a batch that does not decode is skipped and counted.
func TestFeedSharesProbes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nines.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	sinks := map[int64]*sink{1: {}, 2: {}, 3: {}}
	feeds := map[int64]*Feed{}
	for id, s := range sinks {
		feeds[id] = NewFeed(FeedOptions{Self: id, Store: st, Sink: s})
	}
	sw := labels.FromStrings("__name__", "ifHCInOctets", "device", "sw1", "ifIndex", "1")
	feeds[1].Sample(sw, t0.UnixMilli(), 100)
	feeds[1].Sample(sw, t0.Add(time.Second).UnixMilli(), math.NaN())
	feeds[1].Result(state.Probe{Name: "sw1", Kind: state.KindDevice, Labels: map[string]string{"site": "a"}, Interval: 10 * time.Second, OK: true}, t0)
	feeds[2].Result(state.Probe{Name: "web", Kind: state.KindCheck, OK: false, Cause: "connection refused"}, t0.Add(2*time.Second))
	for _, id := range []int64{1, 2, 3} {
		if err := feeds[id].Sync(ctx, t0.Add(3*time.Second)); err != nil {
			t.Fatalf("sync %d: %v", id, err)
		}
	}
	// 1 synced before 2 wrote: it reads 2's batch on its next sync.
	if err := feeds[1].Sync(ctx, t0.Add(4*time.Second)); err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{
		1: {`web ok=false "connection refused" at 10:00:02`},
		2: {`sw1 ok=true "" at 10:00:00`},
		3: {`sw1 ok=true "" at 10:00:00`, `web ok=false "connection refused" at 10:00:02`},
	}
	for id, s := range sinks {
		if !slices.Equal(s.results, want[id]) {
			t.Errorf("member %d applied %q, want %q", id, s.results, want[id])
		}
	}
	for _, id := range []int64{2, 3} {
		if got := strings.Join(sinks[id].samples, " "); got != `{__name__="ifHCInOctets", device="sw1", ifIndex="1"}@1796378400000=100 {__name__="ifHCInOctets", device="sw1", ifIndex="1"}@1796378401000=NaN` {
			t.Errorf("member %d samples: %s", id, got)
		}
	}
	if n := len(sinks[1].samples); n != 0 {
		t.Errorf("member 1 read its own samples back: %v", sinks[1].samples)
	}

	// sw1 moves from 1 to 2: 2 polls it at 10:00:12, and 1's last poll
	// (at 10:00:10, before it saw 2 take over) arrives after.
	feeds[2].Result(state.Probe{Name: "sw1", Kind: state.KindDevice, OK: true}, t0.Add(12*time.Second))
	if err := feeds[2].Sync(ctx, t0.Add(13*time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := feeds[3].Sync(ctx, t0.Add(13*time.Second)); err != nil {
		t.Fatal(err)
	}
	feeds[1].Result(state.Probe{Name: "sw1", Kind: state.KindDevice, OK: false, Cause: "timeout"}, t0.Add(10*time.Second))
	if err := feeds[1].Sync(ctx, t0.Add(14*time.Second)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{2, 3} {
		if err := feeds[id].Sync(ctx, t0.Add(15*time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := feeds[id].StaleResults.Load(); n != 1 {
			t.Errorf("member %d: %d stale results, want 1 (the old owner's late one)", id, n)
		}
	}
	if got := sinks[3].results[len(sinks[3].results)-1]; got != `sw1 ok=true "" at 10:00:12` {
		t.Errorf("member 3 last applied %q, want the new owner's poll", got)
	}

	// A batch that does not decode.
	if err := st.AddProbeBatch(ctx, storeBatch(9, 1, t0, "garbage")); err != nil {
		t.Fatal(err)
	}
	if err := feeds[3].Sync(ctx, t0.Add(16*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := feeds[3].DroppedDecode.Load(); n != 1 {
		t.Errorf("undecodable batches: got %d, want 1", n)
	}
	// A member that starts now reads the batches kept: their samples go
	// into its window, but outcomes from before its start are stale.
	late := &sink{}
	lf := NewFeed(FeedOptions{Self: 4, Store: st, Sink: late, Since: t0.Add(11 * time.Second)})
	if err := lf.Sync(ctx, t0.Add(17*time.Second)); err != nil {
		t.Fatal(err)
	}
	if want := []string{`sw1 ok=true "" at 10:00:12`}; !slices.Equal(late.results, want) {
		t.Errorf("a member started at 10:00:11 applied %q, want %q", late.results, want)
	}
	if len(late.samples) != 2 {
		t.Errorf("a member started late took %d samples, want the 2 kept", len(late.samples))
	}
	if err := feeds[3].Prune(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ProbeBatches(ctx, 0, nil); err != nil || len(got) != 0 {
		t.Errorf("after prune: %d batches, %v", len(got), err)
	}
}

// TestFeedQueueBounded: beyond MaxPending the oldest samples go,
// counted.
func TestFeedQueueBounded(t *testing.T) {
	f := NewFeed(FeedOptions{Self: 1, MaxPending: 3})
	for i := range 5 {
		f.Sample(labels.FromStrings("__name__", "x"), int64(i), 0)
	}
	if n := f.DroppedFull.Load(); n != 2 {
		t.Errorf("dropped: got %d, want 2", n)
	}
	if got := f.pending.Samples[0].T; got != 2 {
		t.Errorf("oldest kept sample: got t=%d, want 2", got)
	}
}

func storeBatch(run, seq int64, at time.Time, body string) store.ProbeBatch {
	return store.ProbeBatch{Run: run, Seq: seq, At: at, Body: []byte(body)}
}

// TestFeedRandomOrder drives random probes and syncs of three members
// (targets moving between them at random) against an oracle: at each
// member, the outcomes applied per target only go forward in time, and
// after a final sync every member's newest outcome of each target is
// the newest made by anyone. A failure names its seed.
func TestFeedRandomOrder(t *testing.T) {
	for seed := range uint64(15) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 19))
			ctx := context.Background()
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "nines.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			clock := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			type member struct {
				feed   *Feed
				sink   *timeSink
				newest map[string]time.Time // of everything it knows (its own and applied)
			}
			members := make([]*member, 3)
			for i := range members {
				s := &timeSink{}
				members[i] = &member{sink: s, newest: map[string]time.Time{},
					feed: NewFeed(FeedOptions{Self: int64(i + 1), Store: st, Sink: s})}
			}
			newest := map[string]time.Time{}
			targets := []string{"sw1", "sw2", "web", "dns"}
			for range 300 {
				clock = clock.Add(time.Duration(r.IntN(500)) * time.Millisecond)
				m := members[r.IntN(len(members))]
				if r.IntN(3) == 0 {
					if err := m.feed.Sync(ctx, clock); err != nil {
						t.Fatal(err)
					}
					continue
				}
				// A probe made a little while ago (a slow poll) by
				// whoever holds the target now.
				name := targets[r.IntN(len(targets))]
				at := clock.Add(-time.Duration(r.IntN(2000)) * time.Millisecond)
				m.feed.Result(state.Probe{Name: name, Kind: state.KindDevice, OK: r.IntN(2) == 0}, at)
				if at.After(m.newest[name]) {
					m.newest[name] = at
				}
				if at.After(newest[name]) {
					newest[name] = at
				}
			}
			for range 2 {
				for _, m := range members {
					if err := m.feed.Sync(ctx, clock); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i, m := range members {
				last := map[string]time.Time{}
				for _, a := range m.sink.got {
					if !a.at.After(last[a.name]) && !last[a.name].IsZero() {
						t.Errorf("member %d applied %s at %s after one at %s", i+1, a.name, a.at, last[a.name])
					}
					last[a.name] = a.at
					if a.at.After(m.newest[a.name]) {
						m.newest[a.name] = a.at
					}
				}
				for _, name := range targets {
					if !m.newest[name].Equal(newest[name]) {
						t.Errorf("member %d: newest outcome of %s at %s, want %s", i+1, name, m.newest[name], newest[name])
					}
				}
			}
		})
	}
}

// timeSink records the outcomes a feed applies.
type timeSink struct {
	got []struct {
		name string
		at   time.Time
	}
}

func (s *timeSink) Append(labels.Labels, int64, float64) error { return nil }

func (s *timeSink) ProbeResult(_ context.Context, p state.Probe, now time.Time) error {
	s.got = append(s.got, struct {
		name string
		at   time.Time
	}{p.Name, now})
	return nil
}

// FuzzDecode: a batch body read from the store, whatever its bytes,
// decodes or fails; it never panics.
func FuzzDecode(f *testing.F) {
	fd := NewFeed(FeedOptions{Self: 1})
	fd.Sample(labels.FromStrings("__name__", "sysUpTime", "device", "sw1"), 1, 2)
	fd.Result(state.Probe{Name: "sw1", Kind: state.KindDevice, Labels: map[string]string{"site": "a"}, OK: true}, time.Unix(1, 0))
	body, err := encode(&fd.pending)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body)
	f.Add([]byte("garbage"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = decode(body)
	})
}
