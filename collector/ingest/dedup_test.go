package ingest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestSeqRunsRandom: agents for one host (up to maxRunsPerHost at once,
// each numbering its batches from its own start) push interleaved, retry
// batches already received, start and stop. A new batch is never taken
// for a duplicate (that would lose data); a retry of the last batch
// received is always one, and so is any retry while no more runs than
// are kept have pushed (older runs make room: a late retry of theirs is
// let through, where the window counts it as out of order). NINES_SEED
// replays one sequence.
func TestSeqRunsRandom(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("NINES_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("NINES_SEED=%q: %v", s, err)
		}
	}
	for round := range 200 {
		rng := rand.New(rand.NewPCG(seed, uint64(round)))
		var s seqRuns
		var clock uint64
		type agent struct{ start, next uint64 }
		now := uint64(1_700_000_000_000_000) // micros
		agents := []*agent{{start: now, next: now + 1}}
		runsEver, last := 1, uint64(0)
		var log []string
		fail := func(format string, args ...any) {
			t.Fatalf("seed %d round %d (replay: NINES_SEED=%d): %s\nafter: %v", seed, round, seed, fmt.Sprintf(format, args...), log)
		}
		for range 300 {
			now += uint64(rng.IntN(5_000_000))
			a := agents[rng.IntN(len(agents))]
			switch op := rng.IntN(10); {
			case op == 0 && len(agents) < maxRunsPerHost: // another agent starts
				agents = append(agents, &agent{start: now, next: now + 1})
				runsEver++
				log = append(log, fmt.Sprintf("start@%d", now))
			case op == 1 && len(agents) > 1: // one stops for good
				i := rng.IntN(len(agents))
				agents = append(agents[:i], agents[i+1:]...)
				log = append(log, "stop")
			case op == 2 && last != 0: // the last batch again (its answer was lost)
				log = append(log, fmt.Sprintf("retry %d", last))
				if !s.seen(last) {
					fail("retried batch %d not seen as a duplicate", last)
				}
			case op == 3 && a.next > a.start+1 && runsEver <= maxRunsPerHost: // an older batch again
				seq := a.start + 1 + uint64(rng.IntN(int(a.next-a.start-1)))
				log = append(log, fmt.Sprintf("retry %d", seq))
				if !s.seen(seq) {
					fail("retried batch %d not seen as a duplicate", seq)
				}
			default: // the next batch
				seq := a.next
				log = append(log, fmt.Sprintf("push %d", seq))
				if s.seen(seq) {
					fail("new batch %d taken for a duplicate", seq)
				}
				clock++
				s.record(seq, clock)
				a.next++
				last = seq
			}
		}
	}
}

// TestSeqRunsTwoAgents is the case a new user met: agent X pushes, a
// second agent Y for the same host starts later (higher numbers) and
// stops; X's next batches are new, not duplicates.
func TestSeqRunsTwoAgents(t *testing.T) {
	var s seqRuns
	x, y := uint64(1_000_000), uint64(9_000_000)
	s.record(x+1, 1)
	s.record(y+1, 2)
	s.record(y+2, 3)
	if s.seen(x + 2) {
		t.Fatal("X's next batch after Y's pushes taken for a duplicate")
	}
	s.record(x+2, 4)
	if !s.seen(x+2) || !s.seen(y+1) {
		t.Error("retries of X's and Y's batches not seen as duplicates")
	}
}
