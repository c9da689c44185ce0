package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/audit"
)

// The store holds the web session key: its directory is created 0700 and
// every file of it is 0600, and a store left readable by others is
// repaired when opened.
func TestStoreFilesArePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "nines.db")
	s := open(t, path)
	if err := s.Record(ctx, audit.Entry{At: time.Now(), Principal: "p", Action: "a", Object: "o"}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o700 {
			t.Errorf("%s: directory mode: got %04o, want 0700", when, got)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", when, err)
				continue
			}
			if got := fi.Mode().Perm(); got&0o077 != 0 {
				t.Errorf("%s: %s mode: got %04o, want 0600", when, filepath.Base(p), got)
			}
		}
	}
	check("created")
	if r := s.Repaired(); len(r) != 0 {
		t.Errorf("new store repaired: %v", r)
	}
	s.Close()

	// A store made readable by everyone (an old release, a restore) is
	// made private again.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o644); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s = open(t, path)
	defer s.Close()
	if err := s.Record(ctx, audit.Entry{At: time.Now(), Principal: "p", Action: "a", Object: "o"}); err != nil {
		t.Fatal(err)
	}
	check("reopened")
	if r := s.Repaired(); len(r) == 0 || r[0] != path {
		t.Errorf("repaired: got %v, want %s first", r, path)
	}
}
