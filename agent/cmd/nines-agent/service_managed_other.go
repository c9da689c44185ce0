//go:build !windows

package main

import (
	"context"
	"io"

	"github.com/kardianos/service"
)

// runManaged runs the agent under the service manager when it started
// us (Windows services must answer its handshake); it reports false when
// the agent runs interactively (a terminal, or systemd's simple service).
func runManaged(run func(ctx context.Context) int, configFile string) (int, bool) {
	if service.Interactive() {
		return 0, false
	}
	p := &program{run: run}
	s, err := service.New(p, serviceConfig(configFile))
	if err != nil {
		return 0, false
	}
	if err := s.Run(); err != nil {
		return 1, true
	}
	return 0, true
}

// logOutput is where logs go: stderr (the journal under systemd, the log
// files launchd is told of).
func logOutput(stderr io.Writer) io.Writer { return stderr }
