package ingest

import (
	"math"
	"strconv"
	"testing"
)

func TestParseFloatMatchesStrconv(t *testing.T) {
	for _, s := range []string{"0", "-0", "1", "12.5", "-12.345", "0.1", ".5", "5.", "123456789012345", "1234567890123456",
		"0.000000000000001", "99.99", "1e3", "-1.5E-7", "3.14159265358979", "0.30000000000000004", "1.7976931348623157e308"} {
		want, err := strconv.ParseFloat(s, 64)
		got, gerr := parseFloat([]byte(s))
		if err != nil || gerr != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s: got %v (%v), want %v (%v)", s, got, gerr, want, err)
		}
	}
	for _, s := range []string{"", "-", ".", "-.", "1.2.3", "abc", "1e999", "NaN", "Inf", "--1"} {
		if _, err := parseFloat([]byte(s)); err == nil {
			t.Errorf("%q: got no error", s)
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, s := range []string{"0", "-1", "123", "9223372036854775807", "-9223372036854775808", "123456789012345678"} {
		want, _ := strconv.ParseInt(s, 10, 64)
		if got, err := parseInt([]byte(s)); err != nil || got != want {
			t.Errorf("%s: got %d (%v), want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-", "1.5", "9223372036854775808", "x"} {
		if _, err := parseInt([]byte(s)); err == nil {
			t.Errorf("%q: got no error", s)
		}
	}
}

// FuzzParseFloat: the fast path never disagrees with strconv.
func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"12.5", "-0.001", "123456789.12345", "1e10", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, gerr := parseFloat([]byte(s))
		want, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(want, 0) || math.IsNaN(want) {
			if gerr == nil {
				t.Fatalf("%q: got %v, strconv rejects it", s, got)
			}
			return
		}
		if gerr != nil || math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: got %v (%v), strconv %v", s, got, gerr, want)
		}
	})
}
