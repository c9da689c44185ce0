package loadgen

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func TestShardKeepsEachHostInOneStreamInOrder(t *testing.T) {
	data := Payload(20_000, 1e18, 1) // two rounds over 1,000 hosts and more
	streams, lines := Shard(data, 4, 777)
	if want := bytes.Count(data, []byte("\n")); lines != want {
		t.Fatalf("lines: got %d, want %d", lines, want)
	}
	streamOf := map[string]int{}
	var got []string
	for s, batches := range streams {
		if len(batches) == 0 {
			t.Fatalf("stream %d is empty", s)
		}
		for i, b := range batches {
			n := bytes.Count(b, []byte("\n"))
			if n > 777 || (n < 777 && i != len(batches)-1) {
				t.Fatalf("stream %d batch %d: %d lines", s, i, n)
			}
			for _, line := range strings.SplitAfter(string(b), "\n") {
				if line == "" {
					continue
				}
				host := string(hostTag([]byte(line)))
				if prev, ok := streamOf[host]; ok && prev != s {
					t.Fatalf("host %s in streams %d and %d", host, prev, s)
				}
				streamOf[host] = s
				got = append(got, line)
			}
		}
	}
	// Every line is sent once, and each host's lines keep their order.
	want := strings.SplitAfter(string(data), "\n")
	want = want[:len(want)-1]
	perHost := func(lines []string) map[string][]string {
		m := map[string][]string{}
		for _, l := range lines {
			h := string(hostTag([]byte(l)))
			m[h] = append(m[h], l)
		}
		return m
	}
	g, w := perHost(got), perHost(want)
	if len(g) != 1000 || len(g) != len(w) {
		t.Fatalf("hosts: got %d, want %d", len(g), len(w))
	}
	for h := range w {
		if !slices.Equal(g[h], w[h]) {
			t.Fatalf("host %s: lines differ in content or order", h)
		}
	}
}

func TestShardLinesWithoutHostAndLastLine(t *testing.T) {
	streams, lines := Shard([]byte("a v=1\n\nb,host=x v=2\nc v=3"), 3, 10)
	if lines != 3 {
		t.Fatalf("lines: got %d, want 3", lines)
	}
	if got := string(bytes.Join(streams[0], nil)); !strings.HasPrefix(got, "a v=1\n") || !strings.Contains(got, "c v=3\n") {
		t.Fatalf("stream 0: got %q", got)
	}
}
