//go:build !linux

package host

import (
	"context"
	"errors"
)

// errNoThreadCount: only Linux gives the number of threads cheaply.
var errNoThreadCount = errors.New("thread count not available on this system")

// Threads is not reported here (counting would mean reading every
// process).
func (SystemPS) Threads(context.Context) (uint64, error) { return 0, errNoThreadCount }
