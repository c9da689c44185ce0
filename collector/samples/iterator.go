package samples

import (
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
	lset       labels.Labels
	chunks     []sealedChunk
	mint, maxt int64
	lastT      int64
	lastF      float64
	hasLast    bool // lastT is within [mint, maxt]
}

var _ storage.Series = (*series)(nil)

// snapshot returns the series' samples within [mint, maxt], or false when
// there are none.
func (ms *memSeries) snapshot(mint, maxt int64) (*series, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	mint = max(mint, ms.minT)
	if !ms.hasLast || mint > maxt || ms.lastT < mint {
		return nil, false
	}
	s := &series{lset: ms.lset, mint: mint, maxt: maxt, lastT: ms.lastT, lastF: ms.lastF}
	s.hasLast = ms.lastT <= maxt
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
		s.chunks = make([]sealedChunk, 0, n)
		for _, c := range ms.sealed {
			if c.maxT >= mint && c.minT() <= maxt {
				s.chunks = append(s.chunks, c)
			}
		}
		if headIn {
			s.chunks = append(s.chunks, sealedChunk{maxT: ms.headMaxT, b: slices.Clone(ms.head.Bytes())})
		}
	}
	if len(s.chunks) == 0 && !s.hasLast {
		return nil, false
	}
	return s, true
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

// iterator reads a series' chunks, then its newest sample, skipping what
// is outside [mint, maxt]. Use it as iterator[int64]: it is generic only
// because go vet's stdmethods check takes any Seek(int64) method for an
// io.Seeker gone wrong, and chunkenc.Iterator needs Seek(int64) ValueType.
type iterator[T ~int64] struct {
	s     *series
	next  int // index in s.chunks of the next chunk to open
	chunk chunkenc.XORChunk
	xor   chunkenc.Iterator // the open chunk's, nil when none is open
	keep  chunkenc.Iterator // an XOR iterator to reuse
	last  bool              // the newest sample was reached
	valid bool              // t and f hold the current sample
	done  bool
	t     int64
	f     float64
	err   error
}

func (it *iterator[T]) reset(s *series) {
	keep := it.keep
	*it = iterator[T]{s: s, keep: keep}
}

func (it *iterator[T]) Next() chunkenc.ValueType {
	if it.done {
		return chunkenc.ValNone
	}
	for {
		if it.xor != nil {
			for it.xor.Next() == chunkenc.ValFloat {
				t, f := it.xor.At()
				if t < it.s.mint {
					continue
				}
				if t > it.s.maxt {
					return it.end()
				}
				it.t, it.f, it.valid = t, f, true
				return chunkenc.ValFloat
			}
			if err := it.xor.Err(); err != nil {
				it.err = err
				return it.end()
			}
			it.xor = nil
		}
		if it.next < len(it.s.chunks) {
			it.open(it.next)
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

func (it *iterator[T]) open(i int) {
	it.chunk.Reset(it.s.chunks[i].b)
	it.keep = it.chunk.Iterator(it.keep)
	it.xor = it.keep
}

func (it *iterator[T]) end() chunkenc.ValueType {
	it.done, it.valid, it.xor = true, false, nil
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
	if it.xor == nil || (it.next > 0 && it.s.chunks[it.next-1].maxT < int64(t)) {
		for it.next < len(it.s.chunks) && it.s.chunks[it.next].maxT < int64(t) {
			it.next++
		}
		it.xor = nil
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
