//go:build !windows

package host

import (
	"context"
	"errors"
)

// errNoWindowsServices makes a windows_services list on another system a
// visible collector failure rather than silence.
var errNoWindowsServices = errors.New("windows_services: Windows services exist only on Windows")

func collectWindowsServices(context.Context, []string, *Batch) error { return errNoWindowsServices }
