package host

import (
	"context"
	"log/slog"
	"regexp"

	"github.com/shirou/gopsutil/v3/process"
)

func init() {
	Register("processes", true, func(ps PS, o Options, logger *slog.Logger) Collector {
		return &processCollector{matches: o.Processes, logger: logger}
	})
}

// ProcessMatch selects the processes of one named check: all given
// conditions must hold.
type ProcessMatch struct {
	Name    string         // the check's name (the process label)
	Comm    *regexp.Regexp // on the executable name
	Cmdline *regexp.Regexp // on the full command line
	User    string
	// Min is how many must run for the check to be up (default 1).
	Min int
}

type processCollector struct {
	matches []ProcessMatch
	logger  *slog.Logger
}

// Collect reports, per configured process check, how many processes match
// and their CPU time and resident memory: nines_process_count,
// nines_process_cpu_seconds_total, nines_process_resident_memory_bytes and
// nines_process_up (1 when at least Min run: a process that should run and
// does not is an availability signal). Without checks it does nothing.
func (c *processCollector) Collect(ctx context.Context, b *Batch) error {
	if len(c.matches) == 0 {
		return nil
	}
	procs, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return err
	}
	type agg struct {
		count    int
		cpu, rss float64
	}
	totals := make([]agg, len(c.matches))
	for _, p := range procs {
		name, _ := p.NameWithContext(ctx)
		var cmdline, user string
		for i, m := range c.matches {
			if m.Comm != nil && !m.Comm.MatchString(name) {
				continue
			}
			if m.Cmdline != nil {
				if cmdline == "" {
					cmdline, _ = p.CmdlineWithContext(ctx)
				}
				if !m.Cmdline.MatchString(cmdline) {
					continue
				}
			}
			if m.User != "" {
				if user == "" {
					user, _ = p.UsernameWithContext(ctx)
				}
				if user != m.User {
					continue
				}
			}
			totals[i].count++
			if t, err := p.TimesWithContext(ctx); err == nil {
				totals[i].cpu += t.User + t.System
			}
			if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
				totals[i].rss += float64(mi.RSS)
			}
		}
	}
	for i, m := range c.matches {
		t := totals[i]
		up := 0.0
		if t.count >= max(m.Min, 1) {
			up = 1
		}
		b.Add("nines_process", "count", float64(t.count), "process", m.Name)
		b.Add("nines_process", "up", up, "process", m.Name)
		b.AddCounter("nines_process", "cpu_seconds_total", t.cpu, "process", m.Name)
		b.Add("nines_process", "resident_memory_bytes", t.rss, "process", m.Name)
	}
	return nil
}
