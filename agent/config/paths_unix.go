//go:build !windows && !darwin

package config

// DefaultSpoolDir is where the agent spools batches by default.
func DefaultSpoolDir() string { return "/var/lib/nines-agent/spool" }
