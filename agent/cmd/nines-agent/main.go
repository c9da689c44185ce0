// Command nines-agent is the Nines host agent: it collects availability and
// performance facts, serves them on /metrics and pushes them to a
// nines-collector. See the README for flags and configuration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/ninesmon/nines/agent"
	"github.com/ninesmon/nines/agent/config"
	"github.com/ninesmon/nines/agent/power"
	"github.com/ninesmon/nines/internal/buildinfo"
	"github.com/ninesmon/nines/internal/cli"
	"github.com/ninesmon/nines/internal/logging"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == power.HelperCommand {
		return power.Helper() // the agent's own sleep-notice helper (macOS)
	}
	fs := flag.NewFlagSet("nines-agent", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "configuration file (YAML); without it the defaults apply")
	checkConfig := fs.Bool("check-config", false, "load and validate the configuration, print any errors, and exit")
	version := fs.Bool("version", false, "print the version and exit")
	listen := fs.String("web.listen-address", "", "address of the /metrics listener (overrides web.listen_address)")
	logLevel := fs.String("log.level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log.format", "logfmt", "log format: logfmt or json")
	trimCode := fs.Bool("runtime.trim-code", true, "once started, give back the resident pages of the agent's code that start-up alone used (Linux)")
	var over config.Overrides
	var labelArgs []string
	fs.Func("push.url", "collector URL to push to (repeatable; replaces push.urls; empty: ignored)", func(v string) error {
		if v != "" {
			over.URLs = append(over.URLs, v)
		}
		return nil
	})
	fs.StringVar(&over.TokenFile, "push.token-file", "", "file holding the push token (replaces push.token and push.token_file)")
	fs.StringVar(&over.Token, "push.token", "", "push token (replaces push.token and push.token_file; visible to local users in the process list: prefer --push.token-file)")
	fs.Func("labels", "host labels as name=value,name=value (repeatable; added to labels)", func(v string) error {
		labelArgs = append(labelArgs, v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  nines-agent [flags]                     run the agent\n  nines-agent [--config FILE] service install|uninstall|start|stop|status\n\nCollects host availability and performance, serves /metrics and pushes to nines-collector.\n\nFlags:\n")
		cli.PrintFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		if fs.Arg(0) == "service" {
			return serviceCmd(fs.Args()[1:], *configFile, stdout, stderr)
		}
		fmt.Fprintf(stderr, "nines-agent: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.String("nines-agent"))
		return 0
	}
	logger, err := logging.New(logOutput(stderr), *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "nines-agent:", err)
		return 2
	}
	for _, l := range labelArgs {
		if over.Labels == nil {
			over.Labels = map[string]string{}
		}
		if err := config.ParseLabels(l, over.Labels); err != nil {
			fmt.Fprintln(stderr, "nines-agent: --labels:", err)
			return 2
		}
	}
	load := func() (*config.Config, error) {
		cfg, err := config.LoadFileWith(*configFile, over)
		if err != nil {
			return nil, err
		}
		if *listen != "" {
			cfg.Web.ListenAddress = *listen
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(stderr, "nines-agent: invalid configuration:\n%v\n", err)
		return 1
	}
	if *checkConfig {
		fmt.Fprintf(stdout, "%s: configuration is valid\n", nameOr(*configFile, "<defaults>"))
		return 0
	}
	smallDaemonRuntime()
	a, err := agent.New(cfg, logger, nil)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	runAgent := func(ctx context.Context) int {
		go settleMemory(ctx, a, logger, *trimCode)
		if err := a.Run(ctx); err != nil {
			logger.Error("stopped with error", "err", err)
			return 1
		}
		return 0
	}
	go reloadOnHUP(a, load, logger)
	if code, managed := runManaged(runAgent, *configFile); managed {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runAgent(ctx)
}

// reloadOnHUP reloads the configuration on every SIGHUP (build, validate,
// swap; a bad file keeps the running configuration).
func reloadOnHUP(a *agent.Agent, load func() (*config.Config, error), logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	for range hup {
		next, err := load()
		if err != nil {
			a.ReloadFailed()
			logger.Error("reload failed; keeping the running configuration", "err", err)
			continue
		}
		if err := a.Reload(next); err != nil {
			logger.Error("reload failed; keeping the running configuration", "err", err)
		}
	}
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// smallDaemonRuntime sets the Go runtime for a small, mostly idle daemon;
// GOGC and GOMAXPROCS in the environment win (bench/RESULTS.md has the
// figures).
//   - GOGC 50: the heap is small and steady; collecting at 50 % growth
//     keeps the resident memory about 1.5 MB lower at a cost too small to
//     measure.
//   - GOMAXPROCS 1, as node_exporter does: the work (a collection, a push,
//     a scrape) is short and rarely overlaps, and with more than one P
//     every wake-up also woke an idle thread to look for work, a third of
//     the agent's CPU time.
//
// No memory limit (GOMEMLIMIT) is set: near the agent's few MB it makes
// the collector run many times a second.
func smallDaemonRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(50)
	}
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
