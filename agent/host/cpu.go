package host

import (
	"context"
	"log/slog"
	"runtime"
	"strings"

	"github.com/shirou/gopsutil/v3/cpu"
)

func init() {
	Register("cpu", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &cpuCollector{ps: ps, perCore: o.CPUPerCore} })
	Register("loadavg", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &loadCollector{ps: ps} })
}

type cpuCollector struct {
	ps      PS
	perCore bool
	// The previous totals, for utilisation between two collections.
	prevBusy, prevTotal float64
}

// Collect reports node_cpu_seconds_total{cpu,mode} per core, as
// node_exporter does (or summed, cpu="all", when per-core is off), and
// nines_cpu_utilisation_ratio: the busy share of all cores since the
// previous collection.
func (c *cpuCollector) Collect(ctx context.Context, b *Batch) error {
	times, err := c.ps.CPUTimes(ctx)
	if err != nil {
		return err
	}
	var sum cpu.TimesStat
	sum.CPU = "cpuall"
	for _, t := range times {
		sum.User += t.User
		sum.Nice += t.Nice
		sum.System += t.System
		sum.Idle += t.Idle
		sum.Iowait += t.Iowait
		sum.Irq += t.Irq
		sum.Softirq += t.Softirq
		sum.Steal += t.Steal
	}
	total := sum.User + sum.Nice + sum.System + sum.Idle + sum.Iowait + sum.Irq + sum.Softirq + sum.Steal
	busy := total - sum.Idle - sum.Iowait
	if c.prevTotal > 0 && total > c.prevTotal {
		b.Add("nines_cpu", "utilisation_ratio", (busy-c.prevBusy)/(total-c.prevTotal))
	}
	c.prevBusy, c.prevTotal = busy, total
	if !c.perCore {
		times = []cpu.TimesStat{sum}
	}
	for _, t := range times {
		cpuID := strings.TrimPrefix(t.CPU, "cpu")
		modes := [...]struct {
			mode string
			v    float64
		}{
			{"user", t.User}, {"nice", t.Nice}, {"system", t.System}, {"idle", t.Idle},
			{"iowait", t.Iowait}, {"irq", t.Irq}, {"softirq", t.Softirq}, {"steal", t.Steal},
		}
		for _, m := range modes {
			b.AddCounter("node_cpu", "seconds_total", m.v, "cpu", cpuID, "mode", m.mode)
		}
	}
	return nil
}

type loadCollector struct{ ps PS }

// Collect reports node_load1, node_load5 and node_load15 where the OS has
// load averages (not on Windows).
func (c *loadCollector) Collect(ctx context.Context, b *Batch) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	l, err := c.ps.LoadAvg(ctx)
	if err != nil {
		return err
	}
	b.Add("node", "load1", l.Load1)
	b.Add("node", "load5", l.Load5)
	b.Add("node", "load15", l.Load15)
	return nil
}
