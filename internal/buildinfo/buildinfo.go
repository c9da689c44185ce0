// Package buildinfo holds the version stamped into both binaries at link
// time by the Makefile (-X github.com/ninesmon/nines/internal/buildinfo.Version=...).
package buildinfo

import (
	"fmt"
	"runtime"
)

// Set by the linker; the defaults describe an unstamped development build.
var (
	Version   = "dev"
	Revision  = "unknown"
	BuildDate = "unknown"
)

// String is the one-line version report printed by --version.
func String(program string) string {
	return fmt.Sprintf("%s version %s (revision %s, built %s, %s %s/%s)",
		program, Version, Revision, BuildDate, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
