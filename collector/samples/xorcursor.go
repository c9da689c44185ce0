package samples

import (
	"encoding/binary"
	"math"
)

// xorCursor reads a chunk in Prometheus's XOR encoding (chunkenc.EncXOR,
// written by chunkenc.XORChunk's appender) sample by sample. Unlike
// chunkenc's iterator, its position is a plain value (xorState) that can
// be kept and resumed from: a query that starts minutes before a chunk's
// end resumes where the previous query of that series started instead of
// decoding the chunk from its first sample (see decodeHint).
//
// The format, as chunkenc writes it: a 2-byte big-endian sample count;
// the first sample's time as a varint and its value as 64 raw bits; the
// second's time delta as a uvarint; then each time as a delta of deltas
// in a 1-, 2+14-, 3+17-, 4+20- or 4+64-bit form, and each value XORed with
// the previous one, in Gorilla's leading/trailing-zero form.
type xorCursor struct {
	b     []byte
	size  uint32 // len(b) in bits
	total uint16
	bad   bool // the bytes ended or were malformed
	xorState
}

// xorState is where a cursor is: after the n-th sample, whose time and
// value are t and v.
type xorState struct {
	pos               uint32 // bit offset of the next sample in the chunk
	n                 uint16 // samples read
	leading, trailing uint8
	tDelta            uint64
	t                 int64
	v                 float64
}

const xorHeaderBits = 16

func (c *xorCursor) reset(b []byte) {
	*c = xorCursor{b: b, size: uint32(min(len(b), math.MaxUint32/8)) * 8}
	if len(b) < 2 {
		c.bad = true
		return
	}
	c.total = binary.BigEndian.Uint16(b)
	c.pos = xorHeaderBits
}

// resetPart reads the end of a chunk, from a byte a cursor over it was
// at (the sample count, total, is in the header left out): only resume
// from a state of that byte, made relative to it, can follow.
func (c *xorCursor) resetPart(b []byte, total uint16) {
	*c = xorCursor{b: b, size: uint32(min(len(b), math.MaxUint32/8)) * 8, total: total, bad: true}
}

// resume continues from a state this chunk's bytes were read to before.
func (c *xorCursor) resume(s xorState) {
	if s.n <= c.total && s.pos <= c.size {
		c.xorState = s
		c.bad = false
	}
}

// next reads the next sample into t and v; false at the end or when the
// bytes are malformed (bad).
func (c *xorCursor) next() bool {
	if c.bad || c.n >= c.total {
		return false
	}
	switch c.n {
	case 0:
		t, ok := c.varint()
		if !ok {
			return c.fail()
		}
		v, ok := c.bits(64)
		if !ok {
			return c.fail()
		}
		c.t, c.v = t, math.Float64frombits(v)
		c.n++
		return true
	case 1:
		d, ok := c.uvarint()
		if !ok {
			return c.fail()
		}
		c.tDelta = d
		c.t += int64(d)
	default:
		var prefix uint8
		for range 4 {
			b, ok := c.bit()
			if !ok {
				return c.fail()
			}
			prefix = prefix<<1 | uint8(b)
			if b == 0 {
				break
			}
		}
		var sz uint8
		var dod int64
		switch prefix {
		case 0b0:
		case 0b10:
			sz = 14
		case 0b110:
			sz = 17
		case 0b1110:
			sz = 20
		case 0b1111:
			b, ok := c.bits(64)
			if !ok {
				return c.fail()
			}
			dod = int64(b)
		}
		if sz != 0 {
			b, ok := c.bits(sz)
			if !ok {
				return c.fail()
			}
			if b > 1<<(sz-1) { // two's complement in sz bits, as chunkenc reads it
				b -= 1 << sz
			}
			dod = int64(b)
		}
		c.tDelta = uint64(int64(c.tDelta) + dod)
		c.t += int64(c.tDelta)
	}
	if !c.value() {
		return c.fail()
	}
	c.n++
	return true
}

func (c *xorCursor) fail() bool {
	c.bad = true
	return false
}

// value reads an XOR-encoded value.
func (c *xorCursor) value() bool {
	changed, ok := c.bit()
	if !ok {
		return false
	}
	if changed == 0 {
		return true
	}
	newWindow, ok := c.bit()
	if !ok {
		return false
	}
	leading, trailing := c.leading, c.trailing
	if newWindow == 1 {
		l, ok := c.bits(5)
		if !ok {
			return false
		}
		sig, ok := c.bits(6)
		if !ok {
			return false
		}
		if sig == 0 { // 64 significant bits do not fit in 6: written as 0
			sig = 64
		}
		if l+sig > 64 {
			return false
		}
		leading, trailing = uint8(l), uint8(64-l-sig)
		c.leading, c.trailing = leading, trailing
	}
	sig := 64 - leading - trailing
	if int(leading)+int(trailing) > 64 {
		return false
	}
	x, ok := c.bits(sig)
	if !ok {
		return false
	}
	c.v = math.Float64frombits(math.Float64bits(c.v) ^ x<<trailing)
	return true
}

// bit reads one bit.
func (c *xorCursor) bit() (uint64, bool) {
	if c.pos >= c.size {
		return 0, false
	}
	b := c.b[c.pos>>3] >> (7 - c.pos&7) & 1
	c.pos++
	return uint64(b), true
}

// bits reads n (at most 64) bits, most significant first.
func (c *xorCursor) bits(n uint8) (uint64, bool) {
	if n == 0 {
		return 0, true
	}
	if uint64(c.pos)+uint64(n) > uint64(c.size) {
		return 0, false
	}
	i, off := c.pos>>3, c.pos&7
	var v uint64
	if int(i)+8 <= len(c.b) {
		w := binary.BigEndian.Uint64(c.b[i:])
		if off+uint32(n) <= 64 {
			v = w << off >> (64 - n)
		} else { // the last bits are in the ninth byte
			rest := uint32(n) - (64 - off)
			v = w<<off>>off<<rest | uint64(c.b[i+8])>>(8-rest)
		}
	} else {
		for k := uint32(0); k < uint32(n); k++ {
			p := c.pos + k
			v = v<<1 | uint64(c.b[p>>3]>>(7-p&7)&1)
		}
	}
	c.pos += uint32(n)
	return v, true
}

func (c *xorCursor) uvarint() (uint64, bool) {
	var x uint64
	for shift := uint(0); shift < 70; shift += 7 {
		b, ok := c.bits(8)
		if !ok {
			return 0, false
		}
		if b < 0x80 {
			return x | b<<shift, true
		}
		x |= (b & 0x7f) << shift
	}
	return 0, false // longer than a uint64's varint
}

func (c *xorCursor) varint() (int64, bool) {
	ux, ok := c.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x, ok
}
