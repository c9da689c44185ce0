package ingest

import (
	"errors"
	"math"
	"strconv"
	"unsafe"
)

// pow10 are the powers of ten a float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

var errBadNumber = errors.New("invalid number")

// parseFloat parses a line-protocol float field value. Plain decimals
// ("-12.345", at most 15 digits, no exponent) take an exact fast path:
// an integer mantissa below 2^53 divided by an exact power of ten is
// correctly rounded (Clinger), which is what strconv.ParseFloat returns
// too. Everything else goes to strconv.ParseFloat.
func parseFloat(b []byte) (float64, error) {
	if v, ok := fastDecimal(b); ok {
		return v, nil
	}
	v, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errBadNumber
	}
	return v, nil
}

func fastDecimal(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		neg, i = true, 1
	}
	var mant uint64
	digits, frac, seenDot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 15 {
				return 0, false
			}
			mant = mant*10 + uint64(c-'0')
			if mant != 0 {
				digits++
			}
			if seenDot {
				frac++
			}
		case c == '.' && !seenDot:
			seenDot = true
		default:
			return 0, false
		}
	}
	if i == 0 || (neg && len(b) == 1) || (seenDot && len(b) == 1+btoi(neg)) {
		return 0, false // "", "-", ".", "-."
	}
	if frac >= len(pow10) {
		return 0, false
	}
	v := float64(mant) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// parseInt parses an integer field value (without its "i").
func parseInt(b []byte) (int64, error) {
	if len(b) > 0 && len(b) < 19 {
		i, neg := 0, false
		if b[0] == '-' {
			neg, i = true, 1
		}
		if i < len(b) {
			var n int64
			ok := true
			for ; i < len(b); i++ {
				c := b[i]
				if c < '0' || c > '9' {
					ok = false
					break
				}
				n = n*10 + int64(c-'0')
			}
			if ok {
				if neg {
					n = -n
				}
				return n, nil
			}
		}
	}
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(b), len(b)), 10, 64)
	if err != nil {
		return 0, errBadNumber
	}
	return n, nil
}

// parseUint parses an unsigned field value (without its "u").
func parseUint(b []byte) (uint64, error) {
	n, err := strconv.ParseUint(unsafe.String(unsafe.SliceData(b), len(b)), 10, 64)
	if err != nil {
		return 0, errBadNumber
	}
	return n, nil
}

// parseBool parses a boolean field value as line protocol spells it.
func parseBool(b []byte) (bool, error) {
	switch string(b) {
	case "t", "T", "true", "True", "TRUE":
		return true, nil
	case "f", "F", "false", "False", "FALSE":
		return false, nil
	}
	return false, errBadNumber
}
