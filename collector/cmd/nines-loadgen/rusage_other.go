//go:build !unix

package main

import "time"

// selfUsage is not measured outside Unix.
func selfUsage() (time.Duration, float64) { return 0, 0 }
