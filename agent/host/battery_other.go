//go:build !linux

package host

import "context"

// readBatteries is only implemented on Linux so far; elsewhere no battery
// is reported (see the README).
func readBatteries(context.Context) ([]Battery, error) { return nil, nil }
