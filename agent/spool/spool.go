// Package spool keeps the agent's batches on disk until a collector has
// accepted them, so that neither a collector outage nor an agent restart
// or kill -9 loses data.
//
// Each batch is one file, <sequence>.batch, written to a temporary name
// and renamed into place: a batch is either wholly there or not at all. A
// header with a CRC-32 of the payload lets Open find and drop files
// damaged by a crash or a failing disk (counted, never fatal). The spool
// is bounded: past MaxBytes the oldest batches are dropped, and counted.
//
// A written file outlives the process (kill -9); to outlive a power cut
// it is fsynced, with the directory. That is deferred while a batch can
// still leave at once: a batch pushed onto an empty spool is only written
// (and kept in memory for Head), and fsynced by Sync, which the sender
// calls when a delivery fails, or by the next Push. A collector that
// accepts every batch at once thus costs no disk flush at all; a power cut
// can lose the one batch in flight.
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
)

const (
	suffix     = ".batch"
	headerSize = 16 // magic (4) | payload length (4) | CRC-32C (4) | reserved (4)
)

var (
	magic  = [4]byte{'N', 'S', 'P', '1'}
	crcTab = crc32.MakeTable(crc32.Castagnoli)
)

// Batch is one queued batch.
type Batch struct {
	Seq  uint64
	Body []byte
}

// Spool is a directory of batches, oldest first. Safe for concurrent use.
type Spool struct {
	dir      string
	maxBytes int64

	mu      sync.Mutex
	entries []entry // by sequence
	bytes   int64
	dropped int64 // batches dropped because the spool was full
	corrupt int64 // files dropped because they were damaged
}

type entry struct {
	seq  uint64
	size int64
	// body is the payload of a batch not fsynced yet (nil once it is):
	// Head returns it without reading the file back.
	body []byte
}

// Open opens (creating) a spool in dir. Damaged or partial files are
// removed and counted (Corrupt); leftover temporary files are removed.
func Open(dir string, maxBytes int64) (*Spool, error) {
	// Batches hold the host's metrics: only the agent's user reads them.
	// A spool directory left open to others is closed again (files are
	// written 0600 and renamed into it, so their mode is already right).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Stat(dir); err == nil && fi.Mode().Perm()&0o077 != 0 && runtime.GOOS != "windows" {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("make spool %s private: %w", dir, err)
		}
	}
	s := &Spool{dir: dir, maxBytes: maxBytes}
	names, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, de := range names {
		name := de.Name()
		path := filepath.Join(dir, name)
		if strings.HasSuffix(name, ".tmp") {
			os.Remove(path) // a write that did not finish
			continue
		}
		if !strings.HasSuffix(name, suffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, suffix), 10, 64)
		if err != nil {
			continue
		}
		if _, err := s.read(seq); err != nil {
			s.corrupt++
			os.Remove(path)
			continue
		}
		info, err := de.Info()
		if err != nil {
			return nil, err
		}
		s.entries = append(s.entries, entry{seq: seq, size: info.Size()})
		s.bytes += info.Size()
	}
	slices.SortFunc(s.entries, func(a, b entry) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	return s, nil
}

// path is dir/<seq, 20 digits>.batch (so names sort as numbers do).
func (s *Spool) path(seq uint64) string {
	var name [20 + len(suffix)]byte
	digits := strconv.AppendUint(name[:0], seq, 10)
	pad := 20 - len(digits)
	copy(name[pad:], digits)
	for i := range pad {
		name[i] = '0'
	}
	copy(name[20:], suffix)
	return filepath.Join(s.dir, string(name[:]))
}

// Push stores a batch. It is durable at once (fsynced) when others are
// queued before it, and otherwise after Sync or the next Push. When the
// spool would exceed its bound, the oldest batches are dropped first; the
// number dropped is returned.
func (s *Spool) Push(b Batch) (dropped int, err error) {
	data := make([]byte, headerSize+len(b.Body))
	copy(data, magic[:])
	binary.LittleEndian.PutUint32(data[4:], uint32(len(b.Body)))
	binary.LittleEndian.PutUint32(data[8:], crc32.Checksum(b.Body, crcTab))
	copy(data[headerSize:], b.Body)

	final := s.path(b.Seq)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	s.mu.Lock()
	deferSync := len(s.entries) == 0 // it may leave at once
	s.mu.Unlock()
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return 0, err
	}
	if !deferSync {
		if err := f.Sync(); err != nil {
			f.Close()
			os.Remove(tmp)
			return 0, err
		}
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if !deferSync {
		s.syncFiles() // the batches before it
		syncDir(s.dir)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	e := entry{seq: b.Seq, size: int64(len(data))}
	if deferSync {
		e.body = b.Body
	}
	s.entries = append(s.entries, e)
	s.bytes += int64(len(data))
	for s.maxBytes > 0 && s.bytes > s.maxBytes && len(s.entries) > 1 {
		old := s.entries[0]
		os.Remove(s.path(old.seq))
		s.entries = s.entries[1:]
		s.bytes -= old.size
		s.dropped++
		dropped++
	}
	return dropped, nil
}

// Head returns the oldest batch, or false when the spool is empty. A
// batch that cannot be read back is dropped, counted, and the next one
// returned.
func (s *Spool) Head() (Batch, bool) {
	for {
		s.mu.Lock()
		if len(s.entries) == 0 {
			s.mu.Unlock()
			return Batch{}, false
		}
		seq, body := s.entries[0].seq, s.entries[0].body
		s.mu.Unlock()
		if body != nil {
			return Batch{Seq: seq, Body: body}, true
		}
		body, err := s.read(seq)
		if err == nil {
			return Batch{Seq: seq, Body: body}, true
		}
		s.mu.Lock()
		s.corrupt++
		s.mu.Unlock()
		s.Pop(seq)
	}
}

// Sync makes every batch held durable: the files not fsynced yet, then
// the directory. Errors are left to the next write to find (the batches
// are still on disk, and still delivered).
func (s *Spool) Sync() {
	if s.syncFiles() {
		syncDir(s.dir)
	}
}

// syncFiles fsyncs the files not fsynced yet and reports whether there
// were any.
func (s *Spool) syncFiles() bool {
	s.mu.Lock()
	var pending []uint64
	for i := range s.entries {
		if s.entries[i].body != nil {
			pending = append(pending, s.entries[i].seq)
			s.entries[i].body = nil
		}
	}
	s.mu.Unlock()
	for _, seq := range pending {
		if f, err := os.OpenFile(s.path(seq), os.O_WRONLY, 0); err == nil {
			_ = f.Sync()
			f.Close()
		}
	}
	return len(pending) > 0
}

// Pop removes the batch with this sequence number if it is the oldest.
func (s *Spool) Pop(seq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) == 0 || s.entries[0].seq != seq {
		return
	}
	os.Remove(s.path(seq))
	s.bytes -= s.entries[0].size
	s.entries = s.entries[1:]
}

// Len is the number of batches held.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Bytes is the disk space the batches take.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// LastSeq is the newest sequence number held (0 when empty).
func (s *Spool) LastSeq() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.entries) == 0 {
		return 0
	}
	return s.entries[len(s.entries)-1].seq
}

// Dropped and Corrupt count batches lost to the bound and to damage.
func (s *Spool) Dropped() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.dropped }

// Corrupt counts damaged batch files removed.
func (s *Spool) Corrupt() int64 { s.mu.Lock(); defer s.mu.Unlock(); return s.corrupt }

var errDamaged = errors.New("damaged batch file")

func (s *Spool) read(seq uint64) ([]byte, error) {
	data, err := os.ReadFile(s.path(seq))
	if err != nil {
		return nil, err
	}
	if len(data) < headerSize || [4]byte(data[:4]) != magic {
		return nil, errDamaged
	}
	n := binary.LittleEndian.Uint32(data[4:])
	if int(n) != len(data)-headerSize {
		return nil, errDamaged
	}
	body := data[headerSize:]
	if crc32.Checksum(body, crcTab) != binary.LittleEndian.Uint32(data[8:]) {
		return nil, errDamaged
	}
	return body, nil
}
