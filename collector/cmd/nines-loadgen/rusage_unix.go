//go:build unix

package main

import (
	"syscall"
	"time"
)

// selfUsage is the process's CPU time so far and its peak RSS in MB.
func selfUsage() (time.Duration, float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), float64(ru.Maxrss) / 1024
}
