package pgtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Fatalf and Skipf instead of
// stopping the test.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skip = fmt.Sprintf(format, args...) }

// TestMissing: without PostgreSQL a test fails naming the package to
// install and the opt-out, and skips only when opted out.
func TestMissing(t *testing.T) {
	err := errors.New("PostgreSQL server binaries (initdb, postgres) not found")
	t.Setenv(SkipEnv, "")
	r := &recorder{TB: t}
	missing(r, err)
	if r.skip != "" || !strings.Contains(r.fatal, "postgresql") || !strings.Contains(r.fatal, SkipEnv+"=1") || !strings.Contains(r.fatal, err.Error()) {
		t.Errorf("without %s: got fatal %q, skip %q; want a failure naming the package postgresql and %s=1", SkipEnv, r.fatal, r.skip, SkipEnv)
	}
	t.Setenv(SkipEnv, "1")
	r = &recorder{TB: t}
	missing(r, err)
	if r.fatal != "" || !strings.Contains(r.skip, SkipEnv+"=1") {
		t.Errorf("with %s=1: got fatal %q, skip %q; want a skip", SkipEnv, r.fatal, r.skip)
	}
}

// TestFindBin: the newest version's directory that holds both binaries.
func TestFindBin(t *testing.T) {
	t.Setenv("PATH", "")
	root := t.TempDir()
	for dir, files := range map[string][]string{
		"9.6/bin": {"initdb", "postgres"},
		"15/bin":  {"initdb", "postgres"},
		"17/bin":  {"initdb"}, // the client package only
	} {
		must(t, os.MkdirAll(filepath.Join(root, dir), 0o755))
		for _, f := range files {
			must(t, os.WriteFile(filepath.Join(root, dir, f), nil, 0o755))
		}
	}
	got, err := findBin(filepath.Join(root, "*", "bin"))
	if want := filepath.Join(root, "15", "bin"); err != nil || got != want {
		t.Errorf("findBin: got %q, %v; want %q", got, err, want)
	}
	if _, err := findBin(filepath.Join(root, "none", "*", "bin")); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("findBin with nothing installed: got %v, want not found", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
