// Package gzpool reuses gzip writers: each one carries about 800 KB of
// compressor state, which per-request allocation would churn (see the
// agent's BenchmarkScrape and BenchmarkPushEncode).
package gzpool

import (
	"compress/gzip"
	"io"
	"sync"
)

var pool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return w
}}

// Get returns a gzip writer (best speed) writing to w.
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
