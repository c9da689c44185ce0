// Command nines-collector is the Nines central server: it ingests agent
// pushes, tracks the availability of every target, evaluates rules, opens
// and resolves incidents, and serves the REST API and /metrics.
//
//	nines-collector [flags]                run the server
//	nines-collector rules check FILE...    validate rule files
//	nines-collector rules test FILE...     run rule unit tests (promtool's format)
//	nines-collector report [flags]         write a service level report
//	nines-collector incidents ...          list and work incidents (REST API)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	_ "time/tzdata" // calendars name IANA time zones; Windows has no zoneinfo

	"github.com/ninesmon/nines/collector"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/internal/buildinfo"
	"github.com/ninesmon/nines/internal/cli"
	"github.com/ninesmon/nines/internal/logging"
	"github.com/ninesmon/nines/rules"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "rules" {
		return rulesCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "report" {
		return reportCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "incidents" {
		return incidentsCmd(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("nines-collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "configuration file (YAML); without it the defaults apply")
	checkConfig := fs.Bool("check-config", false, "load and validate the configuration and its rule files, print any errors, and exit")
	version := fs.Bool("version", false, "print the version and exit")
	listen := fs.String("web.listen-address", "", "address of the HTTP listener (overrides web.listen_address)")
	logLevel := fs.String("log.level", "info", "log level: debug, info, warn or error")
	logFormat := fs.String("log.format", "logfmt", "log format: logfmt or json")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage:
  nines-collector [flags]               run the collector
  nines-collector rules check FILE...   validate rule files and exit
  nines-collector rules test FILE...    run rule unit tests (promtool's format)
  nines-collector report [flags]        write a service level report (see report --help)
  nines-collector incidents ...         list, show, acknowledge, assign, comment, resolve incidents

Flags:
`)
		cli.PrintFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "nines-collector: unexpected argument %q (see --help)\n", fs.Arg(0))
		return 2
	}
	if *version {
		fmt.Fprintln(stdout, buildinfo.String("nines-collector"))
		return 0
	}
	logger, err := logging.New(stderr, *logLevel, *logFormat)
	if err != nil {
		fmt.Fprintln(stderr, "nines-collector:", err)
		return 2
	}
	load := func() (*config.Config, error) {
		var cfg *config.Config
		var err error
		if *configFile == "" {
			cfg, err = config.Load("<defaults>", nil)
			if err == nil {
				err = cfg.Resolve(".")
			}
		} else {
			cfg, err = config.LoadFile(*configFile)
		}
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
		fmt.Fprintf(stderr, "nines-collector: invalid configuration:\n%v\n", err)
		return 1
	}
	if *checkConfig {
		fmt.Fprintf(stdout, "%s: configuration is valid (%d rule files)\n", nameOr(*configFile, "<defaults>"), len(cfg.RuleFiles))
		return 0
	}
	if os.Getenv("GOGC") == "" {
		// The collector's heap is mostly the sample window, long-lived and
		// growing steadily: collecting at 50 % growth instead of 100 %
		// keeps peak memory about a sixth lower at no measurable ingest
		// cost (bench/RESULTS.md). GOGC in the environment still wins.
		debug.SetGCPercent(50)
	}
	if len(cfg.Auth.Tokens) == 0 {
		logger.Warn("no API tokens configured: nothing can push to or read from this collector")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var reload func() (*config.Config, error)
	if *configFile != "" {
		reload = load
	}
	c, err := collector.New(ctx, cfg, logger, reload)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				// One reload at a time with POST /-/reload; a failure is
				// logged, counted and audited by the collector.
				_ = c.ReloadConfig(load, "signal", "SIGHUP")
			}
		}
	}()
	if err := c.Run(ctx); err != nil {
		logger.Error("stopped with error", "err", err)
		return 1
	}
	return 0
}

const rulesUsage = "usage: nines-collector rules check FILE...   (validate rule files)\n       nines-collector rules test FILE...    (run rule unit tests, promtool's format)"

func rulesCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || (args[0] != "check" && args[0] != "test") {
		fmt.Fprintln(stderr, rulesUsage)
		return 2
	}
	files := args[1:]
	if args[0] == "test" {
		failed := false
		for _, f := range files {
			if rules.RunTestFile(f, stderr, func() rules.TestStorage { return samples.ForRuleTests() }) {
				fmt.Fprintf(stdout, "%s: SUCCESS\n", f)
			} else {
				fmt.Fprintf(stdout, "%s: FAILED\n", f)
				failed = true
			}
		}
		if failed {
			return 1
		}
		return 0
	}
	failed := false
	for _, f := range files {
		rf, err := rules.ParseFile(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			failed = true
			continue
		}
		n := 0
		for _, g := range rf.Groups {
			n += len(g.Rules)
		}
		fmt.Fprintf(stdout, "%s: %d groups, %d rules: OK\n", f, len(rf.Groups), n)
	}
	if failed {
		return 1
	}
	return 0
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
