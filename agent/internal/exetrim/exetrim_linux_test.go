package exetrim

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const smapsFixture = `00400000-007fc000 r-xp 00000000 fe:00 10990257                           /usr/bin/nines-agent
Size:               4080 kB
Rss:                3824 kB
Anonymous:             0 kB
VmFlags: rd ex mr mw me 
007fc000-00c0f000 r--p 003fc000 fe:00 10990257                           /usr/bin/nines-agent
Size:               4172 kB
Anonymous:             0 kB
00c0f000-00c6e000 rw-p 0080f000 fe:00 10990257                           /usr/bin/nines-agent
Anonymous:           316 kB
00d00000-00d10000 r--p 00900000 fe:00 10990257                           /usr/bin/nines-agent
Anonymous:             8 kB
7f0000000000-7f0000001000 r--p 00000000 fe:00 42                           /usr/lib/other.so
Anonymous:             0 kB
7f0000002000-7f0000003000 r--s 00000000 fe:00 10990257                           /usr/bin/nines-agent
Anonymous:             0 kB
7f0000004000-7f0000005000 r--p 00000000 fe:01 10990257                           /usr/bin/nines-agent-elsewhere
Anonymous:             0 kB
393cfb400000-393cfbc00000 rw-p 00000000 00:00 0 
Anonymous:          2248 kB
`

func TestExeMappings(t *testing.T) {
	got := exeMappings([]byte(smapsFixture), uint64(unix.Mkdev(0xfe, 0)), 10990257)
	want := []mapping{
		{start: 0x400000, end: 0x7fc000},
		{start: 0x7fc000, end: 0xc0f000},
		{start: 0xd00000, end: 0xd10000, anonymous: 8},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("exeMappings = %v, want %v (read-only private mappings of the file only)", got, want)
	}
}

// exeRSS is the resident size (kB) of this process's read-only mappings
// of its executable.
func exeRSS(t *testing.T) int64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		t.Fatal(err)
	}
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	in := false
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			_, in = parseHeader(toBytes(f), uint64(st.Dev), st.Ino)
			continue
		}
		if in && len(f) >= 2 && f[0] == "Rss:" {
			var kb int64
			fmt.Sscan(f[1], &kb)
			total += kb
		}
	}
	return total
}

func toBytes(f []string) [][]byte {
	b := make([][]byte, len(f))
	for i := range f {
		b[i] = []byte(f[i])
	}
	return b
}

// TestTrim trims this test binary's own code and read-only data: less of
// it is resident afterwards, and the process goes on running (the code it
// needs faults back in from the page cache).
func TestTrim(t *testing.T) {
	before := exeRSS(t)
	res, err := Trim()
	if err != nil {
		t.Fatal(err)
	}
	after := exeRSS(t)
	t.Logf("trimmed %d mappings (%d bytes, %d skipped): executable resident %d kB -> %d kB", res.Mappings, res.Bytes, res.Skipped, before, after)
	if res.Mappings == 0 {
		t.Fatalf("no mapping of the executable trimmed: %+v", res)
	}
	if after >= before {
		t.Errorf("executable resident %d kB after the trim, %d kB before: nothing given back", after, before)
	}
	// Everything still works: the GC (which reads the read-only tables),
	// formatting, a goroutine.
	runtime.GC()
	done := make(chan string)
	go func() { done <- fmt.Sprintf("%d %s", 42, strings.Repeat("x", 3)) }()
	if s := <-done; s != "42 xxx" {
		t.Errorf("after the trim: %q", s)
	}
}
