package gzpool

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// TestRoundTrip: what a pooled writer produces, in several writes and
// after reuse, is read back whole by the standard library's reader (what
// Prometheus and the collector use).
func TestRoundTrip(t *testing.T) {
	want := strings.Repeat("node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"} 12345.67\n", 2000)
	for round := range 3 {
		var buf bytes.Buffer
		zw := Get(&buf)
		for i := 0; i < len(want); i += 32 << 10 {
			if _, err := zw.Write([]byte(want[i:min(i+32<<10, len(want))])); err != nil {
				t.Fatal(err)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		Put(zw)
		zr, err := gzip.NewReader(&buf)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if string(got) != want {
			t.Fatalf("round %d: read back %d bytes, want %d", round, len(got), len(want))
		}
	}
}
