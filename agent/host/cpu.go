package host

import (
	"context"
	"log/slog"
	"runtime"
	"strings"
)

func init() {
	Register("cpu", true, func(ps PS, _ *slog.Logger) Collector { return &cpuCollector{ps: ps} })
	Register("loadavg", true, func(ps PS, _ *slog.Logger) Collector { return &loadCollector{ps: ps} })
}

type cpuCollector struct{ ps PS }

// Collect reports node_cpu_seconds_total{cpu,mode} per core, as
// node_exporter does.
func (c *cpuCollector) Collect(ctx context.Context, b *Batch) error {
	times, err := c.ps.CPUTimes(ctx)
	if err != nil {
		return err
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
