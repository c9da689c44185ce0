// Package cli holds the command-line helpers both binaries share.
package cli

import (
	"flag"
	"fmt"
	"io"
)

// PrintFlags lists a flag set's flags Prometheus-style, with a double
// dash ("--web.listen-address"), which is also how they are accepted.
func PrintFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += "=" + name
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
