package store

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/state"
)

// Sequenced is a state change as a backend numbered it.
type Sequenced struct {
	Seq int64
	At  time.Time
	To  state.State
}

// ChangeLog is what a HistoryCache reads from its backend.
//
// Sequence numbers are unique and assigned in increasing order when a
// change is written (SQLite AUTOINCREMENT, a PostgreSQL identity column
// with CACHE 1), but concurrent writers may commit them out of order: a
// change may become visible after one with a higher number. The cache
// only relies on each change becoming visible within the cache's Margin
// after its number was assigned (a transaction that stays open longer
// may be missed).
type ChangeLog interface {
	// ChangesAfter returns the target's visible changes numbered above
	// seq, in any order.
	ChangesAfter(ctx context.Context, target string, seq int64) ([]Sequenced, error)
}

// DefaultMargin bounds how long a writer may take from numbering a change
// to committing it (see ChangeLog).
const DefaultMargin = 5 * time.Minute

// HistoryCache keeps each target's state history in memory: timelines
// read it far more often than it changes (every SLA computation reads a
// month, a report a year), so a read fetches only the tail its backend
// may have added since.
//
// Reading "every change numbered above the highest seen" would lose a
// change for good when writers commit out of order (one numbered 7 that
// commits after 8 was read). So each read re-reads from a floor: the
// highest number seen by a read that ended at least Margin before the
// previous read started. Everything at or below it was numbered before
// that read ended, so it was visible by the previous read, which fetched
// it; anything above is fetched again and merged by number.
//
// A HistoryCache is safe for concurrent use; reads of different targets
// run in parallel.
type HistoryCache struct {
	log    ChangeLog
	margin time.Duration
	now    func() time.Time

	mu      sync.Mutex
	targets map[string]*targetHistory
}

// CacheOptions tune a HistoryCache; the zero value is the default.
type CacheOptions struct {
	// Margin is how long a change may take to become visible after it
	// was numbered (DefaultMargin when zero; negative means none, which
	// is only right for a backend whose writers commit in order).
	Margin time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// NewHistoryCache returns an empty cache over log.
func NewHistoryCache(log ChangeLog, o CacheOptions) *HistoryCache {
	if o.Margin == 0 {
		o.Margin = DefaultMargin
	}
	o.Margin = max(o.Margin, 0)
	if o.Now == nil {
		o.Now = time.Now
	}
	return &HistoryCache{log: log, margin: o.Margin, now: o.Now, targets: map[string]*targetHistory{}}
}

// targetHistory is one target's cached changes and what its next read
// must fetch again.
type targetHistory struct {
	mu      sync.Mutex
	changes []cached // by At, then Seq
	// floor: every change numbered at or below it is in changes, and
	// reads fetch only those above it.
	floor int64
	// above holds the numbers in changes above floor, sorted, to merge
	// a tail read again.
	above  []int64
	maxSeq int64
	// lastStart is when the previous read started (zero before the
	// first); marks are the highest number seen at the end of recent
	// reads, oldest first.
	lastStart time.Time
	marks     []mark
}

type cached struct {
	seq int64
	at  int64 // Unix milliseconds
	to  state.State
}

type mark struct {
	end    time.Time
	maxSeq int64
}

// HistorySince implements History.HistorySince from the cache, reading
// the target's tail from the backend first.
func (c *HistoryCache) HistorySince(ctx context.Context, target string, from, to time.Time) (initial state.State, changes []state.Change, err error) {
	c.mu.Lock()
	h := c.targets[target]
	if h == nil {
		h = &targetHistory{}
		c.targets[target] = h
	}
	c.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := c.refresh(ctx, target, h); err != nil {
		return state.Unknown, nil, err
	}
	f, t := from.UnixMilli(), to.UnixMilli()
	i := sort.Search(len(h.changes), func(k int) bool { return h.changes[k].at >= f })
	initial = state.Unknown
	if i > 0 {
		initial = h.changes[i-1].to
	}
	for ; i < len(h.changes) && h.changes[i].at <= t; i++ {
		changes = append(changes, state.Change{Target: target, To: h.changes[i].to, At: time.UnixMilli(h.changes[i].at).UTC()})
	}
	return initial, changes, nil
}

// refresh reads what the backend may hold that h lacks. h.mu is held.
func (c *HistoryCache) refresh(ctx context.Context, target string, h *targetHistory) error {
	start := c.now()
	floor := h.floor
	keep := 0
	if !h.lastStart.IsZero() {
		bound := h.lastStart.Add(-c.margin)
		for i, m := range h.marks {
			if m.end.After(bound) {
				break
			}
			floor, keep = max(floor, m.maxSeq), i
		}
	}
	rows, err := c.log.ChangesAfter(ctx, target, floor)
	if err != nil {
		return err
	}
	n, prevMax := len(h.changes), h.maxSeq
	var fresh []int64
	for _, r := range rows {
		if r.Seq <= floor {
			continue
		}
		if r.Seq <= prevMax {
			if _, dup := slices.BinarySearch(h.above, r.Seq); dup {
				continue
			}
		}
		fresh = append(fresh, r.Seq)
		h.changes = append(h.changes, cached{seq: r.Seq, at: r.At.UnixMilli(), to: internState(r.To)})
		h.maxSeq = max(h.maxSeq, r.Seq)
	}
	if added := h.changes[n:]; len(added) > 0 {
		byTime := func(a, b cached) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq)) }
		slices.SortFunc(added, byTime)
		if n > 0 && byTime(h.changes[n-1], added[0]) > 0 {
			// An older change arrived late (an import, a slow writer).
			slices.SortStableFunc(h.changes, byTime)
		}
	}
	h.floor = floor
	i, _ := slices.BinarySearch(h.above, floor+1)
	h.above = append(h.above[i:], fresh...)
	slices.Sort(h.above)
	h.marks = append(h.marks[keep:], mark{end: c.now(), maxSeq: h.maxSeq})
	h.lastStart = start
	return nil
}

// internState shares the strings of the known states.
func internState(s state.State) state.State {
	for _, known := range state.AllStates {
		if known == s {
			return known
		}
	}
	return s
}
