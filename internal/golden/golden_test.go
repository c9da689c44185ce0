package golden

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a failure instead of failing.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Errorf(format string, args ...any) { r.failed = format }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = format }

func TestCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "x.golden")
	r := &recorder{TB: t}
	Check(r, path, []byte("a\n"))
	if !strings.Contains(r.failed, "-update writes it") {
		t.Errorf("missing golden file: got failure %q", r.failed)
	}
	*update = true
	Check(t, path, []byte("a\n"))
	*update = false
	if b, err := os.ReadFile(path); err != nil || string(b) != "a\n" {
		t.Fatalf("-update wrote %q, %v", b, err)
	}
	r = &recorder{TB: t}
	Check(r, path, []byte("a\n"))
	if r.failed != "" {
		t.Errorf("equal contents failed: %q", r.failed)
	}
	Check(r, path, []byte("b\n"))
	if !strings.Contains(r.failed, "differs from") {
		t.Errorf("different contents: got failure %q", r.failed)
	}
}
