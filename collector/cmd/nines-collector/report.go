package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/ninesmon/nines/collector"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/cli"
)

// reportCmd writes a service level report from the store the
// configuration names. It reads while a collector runs (SQLite in WAL
// mode); label-selector components match the configured inventory's
// labels.
func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("nines-collector report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "configuration file (YAML) naming the store and the services")
	month := fs.String("month", "", "calendar month YYYY-MM (in --tz)")
	from := fs.String("from", "", "start of the period, RFC 3339 (with --to, instead of --month)")
	to := fs.String("to", "", "end of the period, RFC 3339")
	tz := fs.String("tz", "", "time zone of --month (IANA name; default UTC)")
	services := fs.String("service", "", "comma-separated services (default: the whole catalogue)")
	format := fs.String("format", "html", "json, csv or html")
	out := fs.String("out", "", "write to this file instead of standard output")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage:\n  nines-collector report --config FILE --month 2026-10 [--format html] [--out report.html]\n\nFlags:\n")
		cli.PrintFlags(stderr, fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	req := report.Request{Month: *month, From: *from, To: *to, TZ: *tz, Format: *format}
	for _, s := range strings.Split(*services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			req.Services = append(req.Services, s)
		}
	}
	fail := func(code int, err error) int {
		fmt.Fprintln(stderr, "nines-collector report:", err)
		return code
	}
	if err := req.CheckFormat(); err != nil {
		return fail(2, err)
	}
	start, end, err := req.Period()
	if err != nil {
		return fail(2, err)
	}
	if *configFile == "" {
		return fail(2, errors.New("--config: required (it names the store and the services)"))
	}
	cfg, err := config.LoadFile(*configFile)
	if err != nil {
		fmt.Fprintf(stderr, "nines-collector report: invalid configuration:\n%v\n", err)
		return 1
	}
	ctx := context.Background()
	st, err := collector.OpenStore(ctx, cfg.Storage, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return fail(1, err)
	}
	defer st.Close()
	rep, err := servicelevel.BuildReport(ctx, st, servicelevel.ReportInput{Config: cfg, Policy: servicelevel.IncidentPolicy(cfg), Workers: st.ReadParallelism(), Targets: inventoryTargets(cfg),
		From: start, To: end, Now: time.Now(), Services: req.Services})
	if err != nil {
		return fail(1, err)
	}
	w := stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return fail(1, err)
		}
		defer f.Close()
		w = f
	}
	if err := report.Write(w, rep, req.Format); err != nil {
		return fail(1, err)
	}
	return 0
}

// inventoryTargets are the configured targets with their labels, for
// label-selector components.
func inventoryTargets(cfg *config.Config) []state.Target {
	var out []state.Target
	for _, h := range cfg.Inventory.Hosts {
		out = append(out, state.Target{Name: h.Name, Kind: state.KindHost, Labels: h.Labels})
	}
	for _, c := range cfg.Checks {
		out = append(out, state.Target{Name: c.Name, Kind: state.KindCheck, Labels: c.Labels})
	}
	for _, d := range cfg.Devices {
		out = append(out, state.Target{Name: d.Name, Kind: state.KindDevice, Labels: d.Labels})
	}
	return out
}
