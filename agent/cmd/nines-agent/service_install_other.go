//go:build !windows

package main

import "io"

// afterInstall completes "service install"; only Windows needs more than
// kardianos/service does.
func afterInstall(string, io.Writer) error { return nil }
