package store

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

// fakeLog is a backend whose writers number a change first and commit
// it later, so changes may become visible out of number order (as with
// PostgreSQL sequences and concurrent transactions).
type fakeLog struct {
	mu      sync.Mutex
	next    int64
	visible map[string][]Sequenced
	asked   []int64 // the seq of every ChangesAfter, in order
}

func newFakeLog() *fakeLog { return &fakeLog{visible: map[string][]Sequenced{}} }

// number assigns the next sequence number, as an INSERT does.
func (l *fakeLog) number() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.next++
	return l.next
}

// commit makes a numbered change visible.
func (l *fakeLog) commit(target string, c Sequenced) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.visible[target] = append(l.visible[target], c)
}

func (l *fakeLog) ChangesAfter(_ context.Context, target string, seq int64) ([]Sequenced, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.asked = append(l.asked, seq)
	var out []Sequenced
	for _, c := range l.visible[target] {
		if c.Seq > seq {
			out = append(out, c)
		}
	}
	return out, nil
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func all(t *testing.T, c *HistoryCache, target string) []state.Change {
	t.Helper()
	initial, changes, err := c.HistorySince(context.Background(), target, t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if initial != state.Unknown {
		t.Fatalf("initial state before every change: got %s, want unknown", initial)
	}
	return changes
}

// TestHistoryCacheOutOfOrderCommit is the lost change of reading "id >
// the highest id seen": writer A numbers its change 1, writer B numbers
// 2 and commits, a read sees 2, then A commits 1. A cache that reads
// only above 2 never sees 1.
func TestHistoryCacheOutOfOrderCommit(t *testing.T) {
	log := newFakeLog()
	clock := &fakeClock{t: t0}
	c := NewHistoryCache(log, CacheOptions{Margin: time.Minute, Now: clock.now})

	a := Sequenced{Seq: log.number(), At: t0, To: state.Down}
	b := Sequenced{Seq: log.number(), At: t0.Add(time.Second), To: state.Up}
	log.commit("web1", b)
	if got := all(t, c, "web1"); len(got) != 1 || got[0].To != state.Up {
		t.Fatalf("before A commits: got %+v, want B's change only", got)
	}
	clock.advance(time.Second)
	log.commit("web1", a)
	want := []state.Change{
		{Target: "web1", To: state.Down, At: t0},
		{Target: "web1", To: state.Up, At: t0.Add(time.Second)},
	}
	for i := range 10 { // within the margin, and long after it
		got := all(t, c, "web1")
		if !slices.Equal(got, want) {
			t.Fatalf("read %d after A committed: got %+v, want %+v", i, got, want)
		}
		clock.advance(30 * time.Second)
	}
	// Once writers had time to commit, reads fetch only the tail.
	if last := log.asked[len(log.asked)-1]; last != 2 {
		t.Errorf("the last read asked for changes after %d, want after 2 (the tail only)", last)
	}
}

// TestHistoryCacheRandomWriters drives writers that commit out of order,
// within the margin, and reads at random times on an injected clock
// against an oracle: every read sees exactly the committed changes.
// Replay a failure with its seed.
func TestHistoryCacheRandomWriters(t *testing.T) {
	for seed := uint64(1); seed <= 100; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { randomWriters(t, seed) })
	}
}

func randomWriters(t *testing.T, seed uint64) {
	const margin = time.Minute
	r := rand.New(rand.NewPCG(seed, seed))
	log := newFakeLog()
	clock := &fakeClock{t: t0}
	c := NewHistoryCache(log, CacheOptions{Margin: margin, Now: clock.now})
	type pending struct {
		target   string
		c        Sequenced
		commitAt time.Time
	}
	var open []pending
	committed := map[string][]Sequenced{}
	targets := []string{"a", "b", "c"}
	for step := range 400 {
		clock.advance(time.Duration(r.Int64N(int64(margin / 10))))
		now := clock.now()
		// Commit what is due: at most 0.9 margins after numbering.
		open = slices.DeleteFunc(open, func(p pending) bool {
			if p.commitAt.After(now) {
				return false
			}
			log.commit(p.target, p.c)
			committed[p.target] = append(committed[p.target], p.c)
			return true
		})
		for range r.IntN(3) {
			tg := targets[r.IntN(len(targets))]
			// Mostly recent changes, some old ones written late.
			at := now.Add(-time.Duration(r.Int64N(int64(time.Hour))))
			to := state.AllStates[r.IntN(len(state.AllStates))]
			open = append(open, pending{target: tg, c: Sequenced{Seq: log.number(), At: at, To: to},
				commitAt: now.Add(time.Duration(r.Int64N(int64(margin * 8 / 10))))})
		}
		if r.IntN(2) == 0 {
			tg := targets[r.IntN(len(targets))]
			want := oracle(tg, committed[tg])
			_, got, err := c.HistorySince(context.Background(), tg, t0.Add(-2*time.Hour), now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d, step %d, target %s: got %d changes, want %d\ngot  %+v\nwant %+v", seed, step, tg, len(got), len(want), got, want)
			}
		}
	}
}

func oracle(target string, cs []Sequenced) []state.Change {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b Sequenced) int {
		return cmp.Or(cmp.Compare(a.At.UnixMilli(), b.At.UnixMilli()), cmp.Compare(a.Seq, b.Seq))
	})
	var out []state.Change
	for _, c := range cs {
		out = append(out, state.Change{Target: target, To: c.To, At: time.UnixMilli(c.At.UnixMilli()).UTC()})
	}
	return out
}

// TestHistorySinceWindow checks the initial state and the bounds.
func TestHistorySinceWindow(t *testing.T) {
	log := newFakeLog()
	c := NewHistoryCache(log, CacheOptions{})
	for i, to := range []state.State{state.Up, state.Down, state.Up} {
		log.commit("web1", Sequenced{Seq: log.number(), At: t0.Add(time.Duration(i) * time.Minute), To: to})
	}
	initial, changes, err := c.HistorySince(context.Background(), "web1", t0.Add(30*time.Second), t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []state.Change{{Target: "web1", To: state.Down, At: t0.Add(time.Minute)}}
	if initial != state.Up || !slices.Equal(changes, want) {
		t.Errorf("got %s, %+v; want up, %+v", initial, changes, want)
	}
	initial, changes, _ = c.HistorySince(context.Background(), "web2", t0, t0.Add(time.Hour))
	if initial != state.Unknown || len(changes) != 0 {
		t.Errorf("unknown target: got %s, %+v; want unknown and no changes", initial, changes)
	}
}

// TestHistoryCacheConcurrent reads while writers number and commit out of
// order on real goroutines (run with -race): once they are done, a read
// has every change.
func TestHistoryCacheConcurrent(t *testing.T) {
	log := newFakeLog()
	c := NewHistoryCache(log, CacheOptions{})
	const writers, each = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var held []Sequenced // numbered, committed a few later
			for i := range each {
				held = append(held, Sequenced{Seq: log.number(), At: t0.Add(time.Duration(w*each+i) * time.Second), To: state.Up})
				if len(held) == 3 || i == each-1 {
					for j := len(held) - 1; j >= 0; j-- {
						log.commit("web1", held[j])
					}
					held = held[:0]
				}
			}
		}()
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	for _, target := range []string{"web1", "web1", "web2"} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, _, err := c.HistorySince(context.Background(), target, t0, t0.Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	readers.Wait()
	if got := all(t, c, "web1"); len(got) != writers*each {
		t.Fatalf("after the writers: got %d changes, want %d", len(got), writers*each)
	}
}
