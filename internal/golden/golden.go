// Package golden compares what a test produced with a file kept under
// testdata (a golden file), and rewrites the file instead when the test
// binary runs with -update (go test ./pkg -run TestX -update).
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files with what the tests produce")

// Updating reports whether this run rewrites golden files (-update).
func Updating() bool { return *update }

// Check fails t when got differs from the contents of path, showing both;
// under -update it writes got to path (creating its directory) instead.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s (go test -update rewrites it after a reviewed change)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
