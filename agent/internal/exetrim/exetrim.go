// Package exetrim lets a long-running daemon give back the resident pages
// of its own executable that it no longer uses.
//
// The kernel maps a program's code and read-only data from the page cache
// on demand, but each fault maps its neighbours too (fault-around, 64 KB
// by default, and whole large folios on recent kernels), so after start-up
// nearly all of a Go binary's text and read-only data is resident in the
// process although most of it (flag and YAML parsing, TLS set-up, error
// paths) never runs again. Trim unmaps the executable's read-only,
// file-backed mappings with madvise(MADV_DONTNEED): the pages stay in the
// page cache, and those still in use fault back in (a minor fault each, no
// disk read). Writable data, the heap and stacks are never touched.
//
// Trim is Linux only; elsewhere it does nothing and reports ErrUnsupported.
package exetrim

import "errors"

// ErrUnsupported is returned where trimming is not implemented.
var ErrUnsupported = errors.New("trimming the executable's pages is not supported on this platform")

// Result says what one Trim did.
type Result struct {
	Mappings int   // read-only mappings of the executable advised
	Bytes    int64 // their total size (not all of it was resident)
	Skipped  int   // read-only mappings left alone because they hold private (copied) pages
}
