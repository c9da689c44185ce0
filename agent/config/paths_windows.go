//go:build windows

package config

import (
	"os"
	"path/filepath"
)

// DefaultSpoolDir is where the agent spools batches by default.
func DefaultSpoolDir() string {
	base := os.Getenv("ProgramData")
	if base == "" {
		base = `C:\ProgramData`
	}
	return filepath.Join(base, "nines-agent", "spool")
}
