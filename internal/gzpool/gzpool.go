// Package gzpool hands out gzip writers for the agent's scrapes and
// pushes. They compress statelessly (klauspost/compress): no compressor
// state is kept between writes, where a compress/gzip writer carries about
// 800 KB of it, which either stays resident in a pool or is allocated again
// at every request (see the agent's BenchmarkScrape and
// BenchmarkPushCycle, and bench/RESULTS.md). Payloads are small (a few
// tens of KB before compression), so the output is within a few per cent
// of a stateful writer's.
package gzpool

import (
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

var pool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.StatelessCompression)
	return w
}}

// Get returns a gzip writer writing to w. Each Write is compressed on its
// own, so write through a buffer (bufio) rather than in small pieces.
func Get(w io.Writer) *gzip.Writer {
	zw := pool.Get().(*gzip.Writer)
	zw.Reset(w)
	return zw
}

// Put returns a writer after Close; it must not be used afterwards.
func Put(zw *gzip.Writer) {
	zw.Reset(io.Discard)
	pool.Put(zw)
}
