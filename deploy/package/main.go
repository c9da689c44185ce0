// Command package builds the .deb and .rpm packages of nines-agent and
// nines-collector with nfpm (make package runs it once per architecture).
// Each package holds its binary in /usr/bin, its systemd unit (from
// deploy/systemd, run as the system user nines), its configuration in
// /etc/nines as a conffile, and maintainer scripts that create the user
// and the private state directory but never enable or start the service:
// it has no tokens yet.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
)

func main() { os.Exit(run()) }

func run() int {
	var o Options
	flag.StringVar(&o.Root, "root", ".", "the repository's root")
	flag.StringVar(&o.Bin, "bin", "bin", "directory holding the Linux binaries nines-agent and nines-collector")
	flag.StringVar(&o.Out, "out", "dist", "where to write the packages")
	flag.StringVar(&o.Version, "version", "dev", "version (git describe output)")
	flag.StringVar(&o.Arch, "arch", runtime.GOARCH, "architecture of the binaries (Go name: amd64, arm64)")
	flag.Parse()
	paths, err := Build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "package:", err)
		return 1
	}
	for _, p := range paths {
		fmt.Println(p)
	}
	return 0
}
