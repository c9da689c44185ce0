package spool

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
)

func body(i int) []byte { return []byte("batch-" + strconv.Itoa(i)) }

func TestOrderAndReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if _, err := s.Push(Batch{Seq: uint64(100 + i), Body: body(i)}); err != nil {
			t.Fatal(err)
		}
	}
	b, ok := s.Head()
	if !ok || b.Seq != 101 || !bytes.Equal(b.Body, body(1)) {
		t.Fatalf("head: got %d %q", b.Seq, b.Body)
	}
	s.Pop(101)
	s.Pop(999) // not the head: ignored

	// A crash: a half-written temporary file, and a damaged batch.
	os.WriteFile(filepath.Join(dir, "00000000000000000106.batch.tmp"), []byte("half"), 0o600)
	damaged := filepath.Join(dir, "00000000000000000103.batch")
	data, _ := os.ReadFile(damaged)
	data[len(data)-1] ^= 0xff
	os.WriteFile(damaged, data, 0o600)

	s2, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Corrupt() != 1 {
		t.Errorf("corrupt: got %d, want 1", s2.Corrupt())
	}
	var got []uint64
	for {
		b, ok := s2.Head()
		if !ok {
			break
		}
		got = append(got, b.Seq)
		s2.Pop(b.Seq)
	}
	if want := []uint64{102, 104, 105}; !equal(got, want) {
		t.Errorf("after reopen: got %v, want %v", got, want)
	}
	if s2.LastSeq() != 0 || s2.Len() != 0 || s2.Bytes() != 0 {
		t.Errorf("empty spool: last %d len %d bytes %d", s2.LastSeq(), s2.Len(), s2.Bytes())
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

func TestBoundDropsOldest(t *testing.T) {
	s, err := Open(t.TempDir(), int64(3*(headerSize+len(body(1)))))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := 1; i <= 5; i++ {
		n, err := s.Push(Batch{Seq: uint64(i), Body: body(i)})
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	if total != 2 || s.Dropped() != 2 || s.Len() != 3 {
		t.Errorf("dropped %d (counted %d), held %d; want 2, 2, 3", total, s.Dropped(), s.Len())
	}
	if b, _ := s.Head(); b.Seq != 3 {
		t.Errorf("oldest kept: got %d, want 3 (the newest are kept)", b.Seq)
	}
}

func equal(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The spool holds the host's metrics: its directory is 0700 (repaired if
// it was left open) and its files 0600.
func TestSpoolIsPrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	dir := filepath.Join(t.TempDir(), "spool")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(Batch{Seq: 1, Body: body(1)}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("directory mode: got %04o, want 0700", got)
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s mode: got %04o, want 0600", e.Name(), got)
		}
	}
	if len(ents) == 0 {
		t.Error("no spool file written")
	}
}

// TestDeferredSync: a batch pushed onto an empty spool is on disk at once
// (a new Open, as after kill -9, finds it) and served from memory until
// synced; the next Push, or Sync, makes it durable and drops the copy.
func TestDeferredSync(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Push(Batch{Seq: 1, Body: body(1)}); err != nil {
		t.Fatal(err)
	}
	if s.entries[0].body == nil {
		t.Fatal("the only batch was fsynced at once; want the fsync deferred")
	}
	data, _ := os.ReadFile(s.path(1))
	if b, ok := s.Head(); !ok || !bytes.Equal(b.Body, body(1)) {
		t.Fatalf("head: %v %q", ok, b.Body)
	}
	reopened, err := Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := reopened.Head(); !ok || b.Seq != 1 || !bytes.Equal(b.Body, body(1)) || !bytes.Equal(data[headerSize:], body(1)) {
		t.Fatalf("after a restart: %v %d %q", ok, b.Seq, b.Body)
	}

	if _, err := s.Push(Batch{Seq: 2, Body: body(2)}); err != nil {
		t.Fatal(err)
	}
	for i, e := range s.entries {
		if e.body != nil {
			t.Errorf("entry %d not synced after a Push behind it", i)
		}
	}
	s.Pop(1)
	s.Pop(2)
	if _, err := s.Push(Batch{Seq: 3, Body: body(3)}); err != nil {
		t.Fatal(err)
	}
	s.Sync()
	if s.entries[0].body != nil {
		t.Error("Sync left the batch unsynced")
	}
	if b, ok := s.Head(); !ok || b.Seq != 3 || !bytes.Equal(b.Body, body(3)) {
		t.Fatalf("head read back from disk: %v %d %q", ok, b.Seq, b.Body)
	}
}

func TestPathName(t *testing.T) {
	s := &Spool{dir: "d"}
	for seq, want := range map[uint64]string{0: "00000000000000000000.batch", 101: "00000000000000000101.batch", math.MaxUint64: "18446744073709551615.batch"} {
		if got := s.path(seq); got != filepath.Join("d", want) {
			t.Errorf("path(%d) = %s, want d/%s", seq, got, want)
		}
	}
}
