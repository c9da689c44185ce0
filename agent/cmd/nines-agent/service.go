package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/kardianos/service"
)

// serviceConfig describes the agent to the system's service manager
// (systemd, the Windows service manager, launchd).
func serviceConfig(configFile string) *service.Config {
	args := []string{}
	if configFile != "" {
		if abs, err := filepath.Abs(configFile); err == nil {
			configFile = abs
		}
		args = append(args, "--config", configFile)
	}
	c := &service.Config{
		Name:        "nines-agent",
		DisplayName: "Nines agent",
		Description: "Collects host availability and performance and reports it to the Nines collector.",
		Arguments:   args,
		Option: service.KeyValue{
			"Restart":   "always", // systemd
			"KeepAlive": true,     // launchd
			"RunAtLoad": true,
			"LogOutput": true, // launchd: stdout and stderr to /var/log/nines-agent.{out,err}.log
			// Windows: automatic start; afterInstall (configureService)
			// then sets the restart on failure and asks for a delayed
			// start where the system supports it, as the installer does.
		},
	}
	platformService(c)
	return c
}

// program adapts the agent to kardianos/service for when the service
// manager runs it (Windows requires this handshake).
type program struct {
	run    func(ctx context.Context) int
	cancel context.CancelFunc
	done   chan int
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan int, 1)
	go func() { p.done <- p.run(ctx) }()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.cancel()
	<-p.done
	return nil
}

// serviceCmd runs "nines-agent service install|uninstall|start|stop|status"
// and, on Windows, "service configure" (the installer's custom action:
// restart on failure, delayed start, for a service already created).
func serviceCmd(args []string, configFile string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: nines-agent [--config FILE] service install|uninstall|start|stop|status")
		return 2
	}
	if args[0] == "configure" {
		if err := configureService(serviceConfig(configFile).Name, stdout); err != nil {
			fmt.Fprintln(stderr, "nines-agent: service configure:", err)
			return 1
		}
		fmt.Fprintln(stdout, "nines-agent: service configure done")
		return 0
	}
	s, err := service.New(&program{}, serviceConfig(configFile))
	if err != nil {
		fmt.Fprintln(stderr, "nines-agent: service manager:", err)
		return 1
	}
	switch args[0] {
	case "status":
		st, err := s.Status()
		if err != nil {
			fmt.Fprintf(stderr, "nines-agent: service status (%s): %v\n", s.Platform(), err)
			return 1
		}
		fmt.Fprintln(stdout, map[service.Status]string{
			service.StatusRunning: "running", service.StatusStopped: "stopped", service.StatusUnknown: "unknown",
		}[st])
		return 0
	case "install", "uninstall", "start", "stop":
		if err := service.Control(s, args[0]); err != nil {
			fmt.Fprintf(stderr, "nines-agent: service %s (%s): %v\n", args[0], s.Platform(), err)
			return 1
		}
		if args[0] == "install" {
			if err := afterInstall(serviceConfig(configFile).Name, stdout); err != nil {
				fmt.Fprintf(stderr, "nines-agent: service install (%s): %v\n", s.Platform(), err)
				return 1
			}
		}
		fmt.Fprintf(stdout, "nines-agent: service %s done (%s)\n", args[0], s.Platform())
		return 0
	default:
		fmt.Fprintf(stderr, "nines-agent: unknown service action %q (want install, uninstall, start, stop or status)\n", args[0])
		return 2
	}
}

// recordLevel reads the level of one log record as slog's text or JSON
// handler wrote it (for the Windows Event Log's event types): the first
// level field, which both handlers write right after the time, so a
// message mentioning a level does not count.
func recordLevel(record string) slog.Level {
	var value string
	if strings.HasPrefix(record, "{") {
		if _, rest, ok := strings.Cut(record, `"level":"`); ok {
			value, _, _ = strings.Cut(rest, `"`)
		}
	} else if _, rest, ok := strings.Cut(record, "level="); ok {
		value, _, _ = strings.Cut(rest, " ")
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(value)); err != nil {
		return slog.LevelInfo
	}
	return l
}
