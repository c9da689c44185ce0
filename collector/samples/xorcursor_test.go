package samples

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// randomChunk encodes up to 120 samples with chunkenc's appender: times
// with every delta-of-delta width (steady, jittered, jumps of hours and
// of years) and values that repeat, creep, jump, and are NaN or infinite.
func randomChunk(r *rand.Rand) (*chunkenc.XORChunk, []int64, []float64) {
	c := chunkenc.NewXORChunk()
	app, _ := c.Appender()
	n := 1 + r.IntN(samplesPerChunk)
	t := r.Int64N(1<<40) - 1<<39
	v := r.NormFloat64() * 1e6
	step := int64(1 + r.IntN(60_000))
	var ts []int64
	var vs []float64
	for range n {
		ts, vs = append(ts, t), append(vs, v)
		app.Append(0, t, v)
		switch r.IntN(8) {
		case 0:
			t += step + r.Int64N(2_000_000) // 17- and 20-bit deltas of deltas
		case 1:
			t += step + r.Int64N(1<<40) // 64-bit ones
		case 2:
			t += 1 + r.Int64N(step) // shrinking deltas (negative deltas of deltas)
		default:
			t += step + r.Int64N(20) - 10
		}
		switch r.IntN(9) {
		case 0:
			v = math.NaN()
		case 1:
			v = math.Inf(1 - 2*r.IntN(2))
		case 2:
			v = r.NormFloat64() * math.MaxFloat64 / 4
		case 3, 4:
			// unchanged
		case 5:
			v = float64(r.IntN(100))
		default:
			v += float64(r.IntN(65536))
		}
	}
	return c, ts, vs
}

func sameFloat(a, b float64) bool {
	return math.Float64bits(a) == math.Float64bits(b)
}

// TestXORCursorReadsWhatChunkencWrites: the cursor decodes exactly the
// samples chunkenc's appender encoded (checked against what went in and
// against chunkenc's own iterator), over many random chunks, and resuming
// from any saved state reads the same rest.
func TestXORCursorReadsWhatChunkencWrites(t *testing.T) {
	r := rand.New(rand.NewPCG(7, uint64(t.Name()[0])))
	for round := range 3000 {
		chunk, ts, vs := randomChunk(r)
		var c xorCursor
		c.reset(chunk.Bytes())
		it := chunk.Iterator(nil)
		var states []xorState
		for i := range ts {
			if !c.next() {
				t.Fatalf("round %d: the cursor stopped at sample %d of %d", round, i, len(ts))
			}
			if it.Next() != chunkenc.ValFloat {
				t.Fatalf("round %d: chunkenc stopped at %d", round, i)
			}
			wt, wv := it.At()
			if c.t != ts[i] || !sameFloat(c.v, vs[i]) || c.t != wt || !sameFloat(c.v, wv) {
				t.Fatalf("round %d sample %d: cursor (%d, %v), appended (%d, %v), chunkenc (%d, %v)", round, i, c.t, c.v, ts[i], vs[i], wt, wv)
			}
			states = append(states, c.xorState)
		}
		if c.next() || c.bad {
			t.Fatalf("round %d: cursor read past %d samples (bad %v)", round, len(ts), c.bad)
		}
		k := r.IntN(len(states))
		c.reset(chunk.Bytes())
		c.resume(states[k])
		for i := k + 1; i < len(ts); i++ {
			if !c.next() || c.t != ts[i] || !sameFloat(c.v, vs[i]) {
				t.Fatalf("round %d: resumed after sample %d, sample %d is (%d, %v), want (%d, %v)", round, k, i, c.t, c.v, ts[i], vs[i])
			}
		}
	}
}

// TestXORCursorSurvivesDamage: truncated or corrupted chunks end the
// cursor (bad), never a panic.
func TestXORCursorSurvivesDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 13))
	for range 3000 {
		chunk, _, _ := randomChunk(r)
		b := append([]byte(nil), chunk.Bytes()...)
		switch r.IntN(3) {
		case 0:
			b = b[:r.IntN(len(b)+1)]
		case 1:
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		default:
			b[0], b[1] = 0xff, 0xff // claims more samples than it holds
		}
		var c xorCursor
		c.reset(b)
		for c.next() {
		}
	}
}

func BenchmarkXORDecode(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	chunk := chunkenc.NewXORChunk()
	app, _ := chunk.Appender()
	v := 0.0
	for i := range samplesPerChunk {
		v += float64(r.IntN(65536))
		app.Append(0, int64(i)*15_000, v)
	}
	b.Run("cursor", func(b *testing.B) {
		var c xorCursor
		for b.Loop() {
			c.reset(chunk.Bytes())
			for c.next() {
			}
		}
	})
	b.Run("chunkenc", func(b *testing.B) {
		var it chunkenc.Iterator
		for b.Loop() {
			it = chunk.Iterator(it)
			for it.Next() == chunkenc.ValFloat {
			}
		}
	})
}
