//go:build darwin

package config

// DefaultSpoolDir is where the agent spools batches by default.
func DefaultSpoolDir() string { return "/Library/Application Support/nines-agent/spool" }
