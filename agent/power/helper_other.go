//go:build !darwin

package power

import (
	"fmt"
	"os"
)

// Helper is the power helper's main; it is for macOS only.
func Helper() int {
	fmt.Fprintln(os.Stdout, lineError+"the power helper runs on macOS only")
	return 2
}
