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
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
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

	// collide gives every label set the same baseHash (tests of the
	// index's collision handling).
	collide bool

	mu sync.RWMutex
	// series indexes the series by the hash of their labels but the
	// metric name (baseHash, findLine): the samples of one line-protocol line share
	// them, so AppendLine finds all of a line's series with one lookup.
	// Each entry is a list through memSeries.next, in creation order.
	series    map[uint64]*memSeries
	byName    map[string][]*memSeries
	count     int            // series under the limits
	own       int            // series appended with AppendOwn, outside them
	perTarget map[string]int // series per value of TargetLabel
	// labelBytes is the size of the series' label sets.
	labelBytes int64

	chunkBytes atomic.Int64 // memory of the encoded samples
}

// TargetLabel is the label whose values get their own series limit.
const TargetLabel = "host"

// memSeries is one series: its samples XOR-encoded (Prometheus's chunk
// encoding, about 1-3 bytes a sample) in chunks of up to samplesPerChunk,
// and its newest sample kept apart, since a sample at the same time
// replaces it and an encoded sample cannot change.
type memSeries struct {
	lset labels.Labels
	// next is the following series of the same baseHash (Store.series).
	next *memSeries

	mu     sync.Mutex
	sealed []sealedChunk // full chunks, oldest first; their bytes never change
	head   *chunkenc.XORChunk
	app    chunkenc.Appender // head's
	// headMinT and headMaxT bound head's samples.
	headMinT, headMaxT int64
	// minT: samples older than this were pruned. The chunk holding them
	// goes when all its samples have; until then queries skip them.
	minT    int64
	lastT   int64
	lastF   float64
	hasLast bool // false: the series is empty
	own     bool // created by AppendOwn: not under the series limits
	// mixed: the series' list in Store.series holds series of more than
	// one label set but the name (a hash collision), so a match by name
	// alone is not enough. Set under Store.mu, never cleared.
	mixed bool
	// headN is head's number of samples, kept here so that an append
	// need not read the chunk's header.
	headN uint8
	// hint: where the last query started reading (nil until a query
	// skipped samples before its range).
	hint *decodeHint
}

type sealedChunk struct {
	maxT int64
	b    []byte
}

// minT is the time of the chunk's first sample, which the XOR encoding
// keeps as a varint after the 2-byte header.
func (c *sealedChunk) minT() int64 {
	t, _ := binary.Varint(c.b[2:])
	return t
}

// samplesPerChunk is Prometheus's chunk size: the header and the first
// sample (stored nearly raw) are shared by 120 samples, and a query for
// the last minutes decodes at most one chunk's worth ahead of its range.
const samplesPerChunk = 120

// appendLocked adds a sample newer than the newest, or replaces the newest.
func (ms *memSeries) appendLocked(t int64, v float64) (grown int64, err error) {
	if ms.hasLast {
		if t < ms.lastT {
			return 0, ErrOutOfOrder
		}
		if t == ms.lastT {
			ms.lastF = v
			return 0, nil
		}
		grown = ms.encode(ms.lastT, ms.lastF)
	}
	ms.lastT, ms.lastF, ms.hasLast = t, v, true
	return grown, nil
}

// encode appends a sample to the head chunk, sealing it first when full,
// and returns by how much the chunks' memory grew.
func (ms *memSeries) encode(t int64, v float64) (grown int64) {
	if ms.head != nil && ms.headN >= samplesPerChunk {
		b := slices.Clone(ms.head.Bytes()) // exactly sized: full chunks no longer grow
		grown += int64(len(b)) - int64(cap(ms.head.Bytes()))
		ms.sealed = append(ms.sealed, sealedChunk{maxT: ms.headMaxT, b: b})
		ms.head, ms.app = nil, nil
	}
	if ms.head == nil {
		ms.head, ms.headN = chunkenc.NewXORChunk(), 0
		ms.app, _ = ms.head.Appender() // an empty XOR chunk's appender never fails
		ms.headMinT = t
		grown += int64(cap(ms.head.Bytes()))
	}
	before := cap(ms.head.Bytes())
	ms.app.Append(0, t, v)
	ms.headMaxT = t
	ms.headN++
	return grown + int64(cap(ms.head.Bytes())-before)
}

// pruneLocked drops what is older than cutoff and returns by how much the
// chunks' memory shrank; the series is empty after it when !ms.hasLast.
func (ms *memSeries) pruneLocked(cutoff int64) (freed int64) {
	if !ms.hasLast {
		return 0
	}
	if ms.lastT < cutoff { // the newest is too old: all are
		for _, c := range ms.sealed {
			freed += int64(len(c.b))
		}
		if ms.head != nil {
			freed += int64(cap(ms.head.Bytes()))
		}
		ms.sealed, ms.head, ms.app, ms.hasLast = nil, nil, nil, false
		return freed
	}
	ms.minT = max(ms.minT, cutoff)
	i := 0
	for i < len(ms.sealed) && ms.sealed[i].maxT < cutoff {
		freed += int64(len(ms.sealed[i].b))
		i++
	}
	if i > 0 {
		ms.sealed = slices.Clone(ms.sealed[i:])
	}
	// A full chunk more than half stale is encoded again with its fresh
	// samples only: the window then holds at most a few stale samples a
	// series, for a decode of half a chunk now and then.
	if len(ms.sealed) > 0 {
		c := &ms.sealed[0]
		if minT := c.minT(); minT < cutoff && cutoff-minT > (c.maxT-minT)/2 {
			b := reencode(c.b, cutoff)
			freed += int64(len(c.b) - len(b))
			c.b = b
		}
	}
	if ms.head != nil && ms.headMaxT < cutoff {
		freed += int64(cap(ms.head.Bytes()))
		ms.head, ms.app = nil, nil
	}
	return freed
}

// New returns a store keeping retention of samples, at most maxSeries
// series in all and at most maxPerTarget per value of TargetLabel (0: no
// limit).
func New(retention time.Duration, maxSeries, maxPerTarget int) *Store {
	return &Store{
		retention:    retention.Milliseconds(),
		maxSeries:    maxSeries,
		maxPerTarget: maxPerTarget,
		series:       map[uint64]*memSeries{},
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
	grown, err := ms.appendLocked(t, v)
	ms.mu.Unlock()
	if grown != 0 {
		s.chunkBytes.Add(grown)
	}
	return err
}

// AppendLine appends the samples of one line-protocol line: one per
// name, at t, each with the labels base and the name as __name__. base
// holds no __name__. errs[i] (len(errs) >= len(names)) gets what Append
// would have returned for sample i. The line's existing series are found
// with one index lookup and without building their label sets; base and
// names are only read during the call.
func (s *Store) AppendLine(base labels.Labels, names []string, t int64, vs []float64, errs []error) {
	key := base.Hash()
	var refs [32]*memSeries // a line's series are found 32 at a time
	var found []*memSeries
	var sb labels.ScratchBuilder
	var lset labels.Labels
	for i, name := range names {
		if i%len(refs) == 0 {
			found = refs[:min(len(names)-i, len(refs))]
			s.findLine(key, base, names[i:i+len(found)], found)
		}
		ms := found[i%len(refs)]
		if ms == nil { // a new series
			sb.Reset()
			base.Range(func(l labels.Label) { sb.Add(l.Name, l.Value) })
			sb.Add(model.MetricNameLabel, name)
			sb.Sort()
			sb.Overwrite(&lset)
			errs[i] = s.append(lset, t, vs[i], false)
			continue
		}
		ms.mu.Lock()
		grown, err := ms.appendLocked(t, vs[i])
		ms.mu.Unlock()
		if grown != 0 {
			s.chunkBytes.Add(grown)
		}
		errs[i] = err
	}
}

// findLine sets found[i] to the series of names[i] with the labels base
// (whose Hash is key), or nil where there is none yet.
func (s *Store) findLine(key uint64, base labels.Labels, names []string, found []*memSeries) {
	if s.collide {
		key = 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	head := s.series[key]
	if head == nil {
		clear(found)
		return
	}
	if head.mixed {
		// A hash collision put another label set in this list:
		// compare each series in full.
		for i, name := range names[:len(found)] {
			found[i] = nil
			for ms := head; ms != nil; ms = ms.next {
				if ms.lset.Get(model.MetricNameLabel) == name && labels.Equal(withoutName(ms.lset), base) {
					found[i] = ms
					break
				}
			}
		}
		return
	}
	// Every series of the list has the same labels but the name: check
	// them once. The line's fields usually come in the order their
	// series were created in, so each search starts after the last match.
	if !labels.Equal(withoutName(head.lset), base) {
		clear(found)
		return
	}
	at := head
	for i, name := range names[:len(found)] {
		ms := scanName(at, nil, name)
		if ms == nil && at != head {
			ms = scanName(head, at, name)
		}
		found[i] = ms
		if ms != nil {
			if at = ms.next; at == nil {
				at = head
			}
		}
	}
}

// scanName returns the first series from from up to (not including) to
// named name.
func scanName(from, to *memSeries, name string) *memSeries {
	for ms := from; ms != to; ms = ms.next {
		if ms.lset.Get(model.MetricNameLabel) == name {
			return ms
		}
	}
	return nil
}

func isMetricName(name string) bool { return name == model.MetricNameLabel }

// withoutName returns lset without __name__: a view of the same bytes
// when __name__ is its first label, as it usually is.
func withoutName(lset labels.Labels) labels.Labels { return lset.DropReserved(isMetricName) }

// baseHash is the index key of lset: the hash of its labels but
// __name__, the same as findLine's of a line's labels.
func (s *Store) baseHash(lset labels.Labels) uint64 {
	if s.collide {
		return 0
	}
	return withoutName(lset).Hash()
}

func (s *Store) getOrCreate(lset labels.Labels, own bool) (*memSeries, error) {
	h := s.baseHash(lset)
	s.mu.RLock()
	ms := find(s.series[h], lset)
	s.mu.RUnlock()
	if ms != nil {
		return ms, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	head := s.series[h]
	if ms := find(head, lset); ms != nil {
		return ms, nil
	}
	if !own && s.maxSeries > 0 && s.count >= s.maxSeries {
		return nil, ErrTooMany
	}
	// Keys of the indexes come from the copy: the caller may reuse lset's
	// memory (the ingest decoder does).
	ms = &memSeries{lset: lset.Copy(), own: own, minT: math.MinInt64}
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
	if head == nil {
		s.series[h] = ms
	} else {
		last := head
		for last.next != nil {
			last = last.next
		}
		last.next = ms
		if head.mixed || !labels.Equal(withoutName(head.lset), withoutName(ms.lset)) {
			for x := head; x != nil; x = x.next {
				x.mixed = true
			}
		}
	}
	s.labelBytes += int64(ms.lset.ByteSize())
	name := ms.lset.Get(model.MetricNameLabel)
	s.byName[name] = append(s.byName[name], ms)
	return ms, nil
}

func find(list *memSeries, lset labels.Labels) *memSeries {
	for ms := list; ms != nil; ms = ms.next {
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

// Bytes is the memory the window's samples and label sets take, without
// the indexes' and the Go runtime's overhead (about 100 bytes a series).
func (s *Store) Bytes() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.labelBytes + s.chunkBytes.Load()
}

// Prune drops samples older than the window ending at now and series left
// empty. Call it periodically.
func (s *Store) Prune(now time.Time) {
	cutoff := now.UnixMilli() - s.retention
	s.mu.Lock()
	defer s.mu.Unlock()
	for h, list := range s.series {
		var head, tail *memSeries
		for ms := list; ms != nil; {
			next := ms.next
			ms.mu.Lock()
			freed := ms.pruneLocked(cutoff)
			empty := !ms.hasLast
			ms.mu.Unlock()
			if freed != 0 {
				s.chunkBytes.Add(-freed)
			}
			if empty {
				s.labelBytes -= int64(ms.lset.ByteSize())
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
				ms.next, ms = nil, next
				continue
			}
			if head == nil {
				head = ms
			} else {
				tail.next = ms
			}
			tail, ms = ms, next
		}
		if head == nil {
			delete(s.series, h)
			continue
		}
		tail.next = nil
		if head != list {
			s.series[h] = head
		}
	}
}

// reencode returns the chunk's samples from cutoff on, encoded again.
func reencode(b []byte, cutoff int64) []byte {
	var src chunkenc.XORChunk
	src.Reset(b)
	dst := chunkenc.NewXORChunk()
	app, _ := dst.Appender() // an empty XOR chunk's appender never fails
	it := src.Iterator(nil)
	for it.Next() == chunkenc.ValFloat {
		if t, f := it.At(); t >= cutoff {
			app.Append(0, t, f)
		}
	}
	return slices.Clone(dst.Bytes())
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
		snap, ok := ser.snapshot(mint, maxt)
		if !ok {
			continue
		}
		out = append(out, snap)
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
