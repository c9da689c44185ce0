// Package samples keeps the recent window of every series the collector
// receives, in memory, and offers it to the PromQL engine as a
// storage.Queryable.
//
// The window (default 1 h) is what threshold rules look at; long-term
// history is not kept here (availability history lives in the store).
// Appends, queries and pruning may run concurrently.
package samples

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// Errors returned by Append, for the caller to count by reason.
var (
	ErrOutOfOrder = errors.New("sample older than the series' newest")
	ErrTooMany    = errors.New("series limit reached")
	// ErrTooManyForTarget: the sample's target already has the most series
	// one target may have (a cardinality limit per sender).
	ErrTooManyForTarget = errors.New("series limit of the target reached")
)

// Store holds recent samples. Create it with New.
type Store struct {
	retention    int64 // milliseconds
	maxSeries    int
	maxPerTarget int

	mu        sync.RWMutex
	series    map[uint64][]*memSeries
	byName    map[string][]*memSeries
	count     int            // series under the limits
	own       int            // series appended with AppendOwn, outside them
	perTarget map[string]int // series per value of TargetLabel
}

// TargetLabel is the label whose values get their own series limit.
const TargetLabel = "host"

type memSeries struct {
	lset labels.Labels
	own  bool // created by AppendOwn: not under the series limits

	mu  sync.Mutex
	pts []point // oldest first
}

// point is one float sample. Its methods make *point a chunks.Sample, so a
// query hands the engine pointers into a copied slice with no allocation
// per sample.
type point struct {
	t int64
	f float64
}

func (p *point) T() int64                      { return p.t }
func (p *point) ST() int64                     { return 0 }
func (p *point) F() float64                    { return p.f }
func (p *point) H() *histogram.Histogram       { return nil }
func (p *point) FH() *histogram.FloatHistogram { return nil }
func (p *point) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (p *point) Copy() chunks.Sample           { c := *p; return &c }

type points []point

func (ps points) Get(i int) chunks.Sample { return &ps[i] }
func (ps points) Len() int                { return len(ps) }

// New returns a store keeping retention of samples, at most maxSeries
// series in all and at most maxPerTarget per value of TargetLabel (0: no
// limit).
func New(retention time.Duration, maxSeries, maxPerTarget int) *Store {
	return &Store{
		retention:    retention.Milliseconds(),
		maxSeries:    maxSeries,
		maxPerTarget: maxPerTarget,
		series:       map[uint64][]*memSeries{},
		byName:       map[string][]*memSeries{},
		perTarget:    map[string]int{},
	}
}

// Append adds one sample at t (Unix milliseconds). A sample at the same
// time as the newest replaces it.
func (s *Store) Append(lset labels.Labels, t int64, v float64) error {
	return s.append(lset, t, v, false)
}

// AppendOwn is Append for the collector's own series (target states,
// SLO and SLA figures): the series limits never refuse them, since what
// rules decide availability on must not go blind when senders flood the
// window. The caller bounds them (a few per target or service).
func (s *Store) AppendOwn(lset labels.Labels, t int64, v float64) error {
	return s.append(lset, t, v, true)
}

func (s *Store) append(lset labels.Labels, t int64, v float64, own bool) error {
	ms, err := s.getOrCreate(lset, own)
	if err != nil {
		return err
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	if n := len(ms.pts); n > 0 {
		last := ms.pts[n-1].t
		if t < last {
			return ErrOutOfOrder
		}
		if t == last {
			ms.pts[n-1].f = v
			return nil
		}
	}
	ms.pts = append(ms.pts, point{t, v})
	return nil
}

func (s *Store) getOrCreate(lset labels.Labels, own bool) (*memSeries, error) {
	h := lset.Hash()
	s.mu.RLock()
	ms := find(s.series[h], lset)
	s.mu.RUnlock()
	if ms != nil {
		return ms, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ms := find(s.series[h], lset); ms != nil {
		return ms, nil
	}
	if !own && s.maxSeries > 0 && s.count >= s.maxSeries {
		return nil, ErrTooMany
	}
	// Keys of the indexes come from the copy: the caller may reuse lset's
	// memory (the ingest decoder does).
	ms = &memSeries{lset: lset.Copy(), own: own}
	if own {
		s.own++
	} else {
		target := ms.lset.Get(TargetLabel)
		if s.maxPerTarget > 0 && target != "" && s.perTarget[target] >= s.maxPerTarget {
			return nil, ErrTooManyForTarget
		}
		if target != "" {
			s.perTarget[target]++
		}
		s.count++
	}
	s.series[h] = append(s.series[h], ms)
	name := ms.lset.Get(model.MetricNameLabel)
	s.byName[name] = append(s.byName[name], ms)
	return ms, nil
}

func find(list []*memSeries, lset labels.Labels) *memSeries {
	for _, ms := range list {
		if labels.Equal(ms.lset, lset) {
			return ms
		}
	}
	return nil
}

// NumSeries is the number of series held, the collector's own included.
func (s *Store) NumSeries() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.count + s.own
}

// Prune drops samples older than the window ending at now and series left
// empty. Call it periodically.
func (s *Store) Prune(now time.Time) {
	cutoff := now.UnixMilli() - s.retention
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, list := range s.series {
		kept := list[:0]
		for _, ms := range list {
			ms.mu.Lock()
			i := sort.Search(len(ms.pts), func(i int) bool { return ms.pts[i].t >= cutoff })
			if i > 0 {
				ms.pts = slices.Clone(ms.pts[i:])
			}
			empty := len(ms.pts) == 0
			ms.mu.Unlock()
			if empty {
				if ms.own {
					s.own--
				} else {
					s.count--
					if target := ms.lset.Get(TargetLabel); target != "" {
						if s.perTarget[target]--; s.perTarget[target] <= 0 {
							delete(s.perTarget, target)
						}
					}
				}
				name := ms.lset.Get(model.MetricNameLabel)
				s.byName[name] = slices.DeleteFunc(s.byName[name], func(x *memSeries) bool { return x == ms })
				if len(s.byName[name]) == 0 {
					delete(s.byName, name)
				}
				continue
			}
			kept = append(kept, ms)
		}
		if len(kept) == 0 {
			delete(s.series, h)
		} else {
			s.series[h] = kept
		}
	}
}

// Querier implements storage.Queryable.
func (s *Store) Querier(mint, maxt int64) (storage.Querier, error) {
	return &querier{s: s, mint: mint, maxt: maxt}, nil
}

var _ storage.Queryable = (*Store)(nil)

type querier struct {
	s          *Store
	mint, maxt int64
}

func (q *querier) candidates(ms []*labels.Matcher) []*memSeries {
	q.s.mu.RLock()
	defer q.s.mu.RUnlock()
	for _, m := range ms {
		if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
			return slices.Clone(q.s.byName[m.Value])
		}
	}
	out := make([]*memSeries, 0, q.s.count)
	for _, list := range q.s.byName {
		out = append(out, list...)
	}
	return out
}

func matches(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

func (q *querier) Select(_ context.Context, sortSeries bool, hints *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
	mint, maxt := q.mint, q.maxt
	if hints != nil {
		mint, maxt = max(mint, hints.Start), min(maxt, hints.End)
	}
	var out []storage.Series
	for _, ser := range q.candidates(ms) {
		if !matches(ser.lset, ms) {
			continue
		}
		ser.mu.Lock()
		lo := sort.Search(len(ser.pts), func(i int) bool { return ser.pts[i].t >= mint })
		hi := sort.Search(len(ser.pts), func(i int) bool { return ser.pts[i].t > maxt })
		var pts points
		if lo < hi {
			pts = slices.Clone(ser.pts[lo:hi])
		}
		ser.mu.Unlock()
		if len(pts) == 0 {
			continue
		}
		out = append(out, &storage.SeriesEntry{
			Lset: ser.lset,
			SampleIteratorFn: func(chunkenc.Iterator) chunkenc.Iterator {
				return storage.NewListSeriesIterator(pts)
			},
		})
	}
	if sortSeries {
		slices.SortFunc(out, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
	}
	return &seriesSet{list: out, i: -1}
}

func (q *querier) LabelValues(_ context.Context, name string, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	set := map[string]struct{}{}
	for _, ser := range q.candidates(ms) {
		if matches(ser.lset, ms) {
			if v := ser.lset.Get(name); v != "" {
				set[v] = struct{}{}
			}
		}
	}
	return sortedKeys(set), nil, nil
}

func (q *querier) LabelNames(_ context.Context, _ *storage.LabelHints, ms ...*labels.Matcher) ([]string, annotations.Annotations, error) {
	set := map[string]struct{}{}
	for _, ser := range q.candidates(ms) {
		if matches(ser.lset, ms) {
			ser.lset.Range(func(l labels.Label) { set[l.Name] = struct{}{} })
		}
	}
	return sortedKeys(set), nil, nil
}

func (q *querier) Close() error { return nil }

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type seriesSet struct {
	list []storage.Series
	i    int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i < len(s.list) }
func (s *seriesSet) At() storage.Series                { return s.list[s.i] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// ForRuleTests is a window without limits or pruning, for rule unit tests
// (`nines-collector rules test`), whose series start at time 0.
func ForRuleTests() *Store { return New(100*365*24*time.Hour, 0, 0) }
