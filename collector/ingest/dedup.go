package ingest

// seqRuns tells an agent's retried batch from a new one. An agent numbers
// its batches one by one from the time it started (agent/push), and
// delivers them in order, so each run of an agent is a contiguous range
// of sequence numbers. A host's ranges are kept apart: two agents for one
// host (one run in the foreground to test while the service runs, or an
// overlap during an upgrade) each have their own, and one's higher
// numbers never hide the other's pushes. A batch is a duplicate when it
// falls inside a range already received (a retry, or a spooled batch sent
// again after a restart).
type seqRuns struct {
	ranges [maxRunsPerHost]seqRange
	n      int
}

type seqRange struct {
	lo, hi uint64
	used   uint64 // when last extended, in records made (least recently used goes first)
}

// maxRunsPerHost bounds what is kept per host: the runs of the agents
// pushing for it now and their recent restarts.
const maxRunsPerHost = 4

// seen reports whether seq was already received.
func (s *seqRuns) seen(seq uint64) bool {
	for i := range s.n {
		if r := &s.ranges[i]; seq >= r.lo && seq <= r.hi {
			return true
		}
	}
	return false
}

// record notes seq as received; clock orders the ranges' use (the
// least recently extended range makes room for a new run). It reports
// whether a range was forgotten to make that room
// (nines_ingest_dedup_ranges_evicted_total): a retry of a batch in it
// would be taken again.
func (s *seqRuns) record(seq, clock uint64) (evicted bool) {
	if s.seen(seq) {
		return false
	}
	for i := range s.n {
		// The next batch of a run. (A run going on after batches its
		// agent dropped starts a range of its own.)
		if r := &s.ranges[i]; seq == r.hi+1 {
			r.hi, r.used = seq, clock
			return false
		}
	}
	if s.n < maxRunsPerHost {
		s.ranges[s.n] = seqRange{lo: seq, hi: seq, used: clock}
		s.n++
		return false
	}
	oldest := 0
	for i := 1; i < s.n; i++ {
		if s.ranges[i].used < s.ranges[oldest].used {
			oldest = i
		}
	}
	s.ranges[oldest] = seqRange{lo: seq, hi: seq, used: clock}
	return true
}
