package samples

import (
	"errors"
	"math"
	"slices"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// series is what a query sees of a memSeries: the chunks that overlap its
// range, read after the series' lock is released. Full chunks are shared
// (their bytes never change); the head chunk, which appends change, is
// copied.
type series struct {
	ms         *memSeries
	lset       labels.Labels
	chunks     []chunkRef
	mint, maxt int64
	lastT      int64
	lastF      float64
	hasLast    bool // lastT is within [mint, maxt]
	hint       decodeHint
	hasHint    bool
}

// decodeHint is where a query of the series started reading a chunk: the
// cursor's state after the last sample before the query's range. Rules
// query the same range every interval, a little later each time, so the
// next query resumes there instead of decoding the chunk from its first
// sample (a 5-minute rate at the end of a 120-sample chunk of 15 s
// samples would otherwise decode 60 samples on average to use 20).
type decodeHint struct {
	chunkMinT int64 // the chunk's first time: which chunk the state is of
	xorState
}

var _ storage.Series = (*series)(nil)

// chunkRef is a chunk as a query reads it. A full chunk's bytes are
// shared; the head chunk's are copied, from the byte of the series' hint
// on when the query can resume there (skip bytes left out, and the
// sample count, which is in the left-out header, in total).
type chunkRef struct {
	minT, maxT int64
	b          []byte
	skip       uint32
	total      uint16
}

// snapshot returns the series' samples within [mint, maxt], or false when
// there are none.
func (ms *memSeries) snapshot(mint, maxt int64) (*series, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	mint = max(mint, ms.minT)
	if !ms.hasLast || mint > maxt || ms.lastT < mint {
		return nil, false
	}
	s := &series{ms: ms, lset: ms.lset, mint: mint, maxt: maxt, lastT: ms.lastT, lastF: ms.lastF}
	s.hasLast = ms.lastT <= maxt
	if ms.hint != nil {
		s.hint, s.hasHint = *ms.hint, true
	}
	n := 0
	for _, c := range ms.sealed {
		if c.maxT >= mint && c.minT() <= maxt {
			n++
		}
	}
	headIn := ms.head != nil && ms.headMaxT >= mint && ms.headMinT <= maxt
	if headIn {
		n++
	}
	if n > 0 {
		s.chunks = make([]chunkRef, 0, n)
		for _, c := range ms.sealed {
			if minT := c.minT(); c.maxT >= mint && minT <= maxt {
				s.chunks = append(s.chunks, chunkRef{minT: minT, maxT: c.maxT, b: c.b})
			}
		}
		if headIn {
			b := ms.head.Bytes()
			ref := chunkRef{minT: ms.headMinT, maxT: ms.headMaxT}
			if s.resumes(ms.headMinT) {
				ref.skip, ref.total = s.hint.pos/8, uint16(ms.head.NumSamples())
			}
			ref.b = slices.Clone(b[ref.skip:])
			s.chunks = append(s.chunks, ref)
		}
	}
	if len(s.chunks) == 0 && !s.hasLast {
		return nil, false
	}
	return s, true
}

// resumes says whether the query reads the chunk that starts at minT from
// the series' hint.
func (s *series) resumes(minT int64) bool {
	return s.hasHint && s.hint.chunkMinT == minT && s.hint.t < s.mint
}

// keepHint records where a query started reading a chunk, for the next.
func (ms *memSeries) keepHint(h decodeHint) {
	ms.mu.Lock()
	if ms.hint == nil {
		ms.hint = new(decodeHint)
	}
	*ms.hint = h
	ms.mu.Unlock()
}

func (s *series) Labels() labels.Labels { return s.lset }

func (s *series) Iterator(reuse chunkenc.Iterator) chunkenc.Iterator {
	it, ok := reuse.(*iterator[int64])
	if !ok {
		it = &iterator[int64]{}
	}
	it.reset(s)
	return it
}

// errMalformedChunk: a chunk's bytes ended early or made no sense.
var errMalformedChunk = errors.New("samples: malformed chunk")

// iterator reads a series' chunks, then its newest sample, skipping what
// is outside [mint, maxt]. Use it as iterator[int64]: it is generic only
// because go vet's stdmethods check takes any Seek(int64) method for an
// io.Seeker gone wrong, and chunkenc.Iterator needs Seek(int64) ValueType.
type iterator[T ~int64] struct {
	s        *series
	next     int // index in s.chunks of the next chunk to open
	cur      xorCursor
	open     bool     // cur reads a chunk
	curMinT  int64    // the open chunk's first time
	skipBits uint32   // bits of the open chunk left out of cur's bytes
	before   xorState // the cursor after the last sample before mint
	hinted   bool     // this iterator reached mint: it kept its hint
	last     bool     // the newest sample was reached
	valid    bool     // t and f hold the current sample
	done     bool
	t        int64
	f        float64
	err      error
}

func (it *iterator[T]) reset(s *series) {
	*it = iterator[T]{s: s}
}

func (it *iterator[T]) Next() chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	for {
		if it.open {
			for it.cur.next() {
				t := it.cur.t
				if t < it.s.mint {
					it.before = it.cur.xorState
					continue
				}
				if t > it.s.maxt {
					return it.end()
				}
				if !it.hinted {
					it.hinted = true
					if it.before.n > 0 {
						h := decodeHint{chunkMinT: it.curMinT, xorState: it.before}
						h.pos += it.skipBits
						it.s.ms.keepHint(h)
					}
				}
				it.t, it.f, it.valid = t, it.cur.v, true
				return chunkenc.ValFloat
			}
			if it.cur.bad {
				it.err = errMalformedChunk
				return it.end()
			}
			it.open = false
		}
		if it.next < len(it.s.chunks) {
			it.openChunk(it.next)
			it.next++
			continue
		}
		if !it.last {
			it.last = true
			if it.s.hasLast {
				it.t, it.f, it.valid = it.s.lastT, it.s.lastF, true
				return chunkenc.ValFloat
			}
		}
		return it.end()
	}
}

// openChunk starts reading chunk i, where the series' hint says when it
// is of this chunk and before the range.
func (it *iterator[T]) openChunk(i int) {
	c := &it.s.chunks[i]
	it.curMinT, it.skipBits = c.minT, c.skip*8
	it.before = xorState{}
	it.open = true
	if c.skip > 0 {
		it.cur.resetPart(c.b, c.total)
	} else {
		it.cur.reset(c.b)
	}
	if it.s.resumes(c.minT) {
		h := it.s.hint.xorState
		h.pos -= it.skipBits
		it.cur.resume(h)
	}
}

func (it *iterator[T]) end() chunkenc.ValueType {
	it.done, it.valid, it.open = true, false, false
	return chunkenc.ValNone
}

func (it *iterator[T]) Seek(t T) chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	if it.valid && it.t >= int64(t) {
		return chunkenc.ValFloat
	}
	// Skip the chunks that end before t without decoding them.
	if !it.open || (it.next > 0 && it.s.chunks[it.next-1].maxT < int64(t)) {
		for it.next < len(it.s.chunks) && it.s.chunks[it.next].maxT < int64(t) {
			it.next++
		}
		it.open = false
	}
	for {
		if it.Next() != chunkenc.ValFloat {
			return chunkenc.ValNone
		}
		if it.t >= int64(t) {
			return chunkenc.ValFloat
		}
	}
}

func (it *iterator[T]) At() (int64, float64) { return it.t, it.f }
func (it *iterator[T]) AtHistogram(*histogram.Histogram) (int64, *histogram.Histogram) {
	return math.MinInt64, nil
}
func (it *iterator[T]) AtFloatHistogram(*histogram.FloatHistogram) (int64, *histogram.FloatHistogram) {
	return math.MinInt64, nil
}
func (it *iterator[T]) AtT() int64  { return it.t }
func (it *iterator[T]) AtST() int64 { return 0 }
func (it *iterator[T]) Err() error  { return it.err }
