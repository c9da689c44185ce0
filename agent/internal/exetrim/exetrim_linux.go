package exetrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Trim drops the calling process's page mappings of its own executable's
// read-only segments (text, read-only data). A mapping that holds private
// anonymous pages (written before it was made read-only, as a relocated
// RELRO segment of a position-independent binary is, or patched by a
// debugger) is skipped, since dropping those pages would lose the writes.
func Trim() (Result, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return Result{}, fmt.Errorf("stat /proc/self/exe: %w", err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		return Result{}, err
	}
	var res Result
	for _, m := range exeMappings(smaps, uint64(st.Dev), st.Ino) {
		if m.anonymous > 0 {
			res.Skipped++
			continue
		}
		// The raw call: the range is a mapping's address, not Go memory.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, unix.MADV_DONTNEED); errno != 0 {
			return res, fmt.Errorf("madvise %x-%x: %w", m.start, m.end, errno)
		}
		res.Mappings++
		res.Bytes += int64(m.end - m.start)
	}
	return res, nil
}

// mapping is one read-only mapping of the executable, from smaps.
type mapping struct {
	start, end uintptr
	anonymous  int64 // kB of private anonymous pages in it
}

// exeMappings returns the non-writable, private mappings of the file dev,
// ino in the text of /proc/self/smaps.
func exeMappings(smaps []byte, dev, ino uint64) []mapping {
	var out []mapping
	var cur *mapping
	sc := bufio.NewScanner(bytes.NewReader(smaps))
	for sc.Scan() {
		line := sc.Bytes()
		f := bytes.Fields(line)
		if len(f) >= 5 && bytes.IndexByte(f[0], '-') > 0 && !bytes.HasSuffix(f[0], []byte(":")) {
			cur = nil
			m, ok := parseHeader(f, dev, ino)
			if ok {
				out = append(out, m)
				cur = &out[len(out)-1]
			}
			continue
		}
		if cur != nil && len(f) >= 2 && string(f[0]) == "Anonymous:" {
			cur.anonymous, _ = strconv.ParseInt(string(f[1]), 10, 64)
		}
	}
	return out
}

// parseHeader parses an smaps header line's fields (address, perms,
// offset, dev, inode) and says whether it is a read-only private mapping
// of dev, ino.
func parseHeader(f [][]byte, dev, ino uint64) (mapping, bool) {
	perms := f[1]
	if len(perms) != 4 || perms[1] != '-' || perms[3] != 'p' {
		return mapping{}, false // writable or shared
	}
	i, err := strconv.ParseUint(string(f[4]), 10, 64)
	if err != nil || i != ino || i == 0 {
		return mapping{}, false
	}
	major, minor, ok := bytes.Cut(f[3], []byte(":"))
	if !ok {
		return mapping{}, false
	}
	ma, err1 := strconv.ParseUint(string(major), 16, 32)
	mi, err2 := strconv.ParseUint(string(minor), 16, 32)
	if err1 != nil || err2 != nil || unix.Mkdev(uint32(ma), uint32(mi)) != dev {
		return mapping{}, false
	}
	lo, hi, ok := bytes.Cut(f[0], []byte("-"))
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	if err1 != nil || err2 != nil || end <= start {
		return mapping{}, false
	}
	return mapping{start: uintptr(start), end: uintptr(end)}, true
}
