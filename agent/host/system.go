package host

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

func init() {
	Register("system", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &systemCollector{ps: ps} })
	Register("hwmon", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &hwmonCollector{ps: ps} })
}

type systemCollector struct{ ps PS }

// Collect reports boot time, processes, context switches and logged-in
// users: node_boot_time_seconds, node_procs_running, node_procs_blocked,
// node_forks_total, node_context_switches_total, node_processes_threads
// (Linux) (node_exporter's names), nines_processes and
// nines_users_logged_in. A figure the OS lacks (gopsutil has no process
// counts or login sessions on Windows) is left out, not a failure.
func (c *systemCollector) Collect(ctx context.Context, b *Batch) error {
	var errs []error
	if bt, err := c.ps.BootTime(ctx); err == nil {
		b.Add("node", "boot_time_seconds", float64(bt))
	} else {
		errs = append(errs, err)
	}
	b.Add("node", "time_seconds", float64(time.Now().UnixMilli())/1000)
	if m, err := c.ps.Misc(ctx); err == nil {
		b.Add("node_procs", "running", float64(m.ProcsRunning))
		b.Add("node_procs", "blocked", float64(m.ProcsBlocked))
		b.AddCounter("node", "forks_total", float64(m.ProcsCreated))
		b.AddCounter("node", "context_switches_total", float64(m.Ctxt))
		b.Add("nines", "processes", float64(m.ProcsTotal))
	} else if !errors.Is(err, errors.ErrUnsupported) { // Windows has no such figures
		errs = append(errs, err)
	}
	if n, err := c.ps.Threads(ctx); err == nil {
		b.Add("node_processes", "threads", float64(n))
	} // not on every OS: not an error
	if users, err := c.ps.Users(ctx); err == nil {
		b.Add("nines_users", "logged_in", float64(len(users)))
	} else if !errors.Is(err, errors.ErrUnsupported) { // not on Windows yet
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

type hwmonCollector struct{ ps PS }

// Collect reports temperatures where the OS exposes them, as
// node_hwmon_temp_celsius{sensor}. None is not an error.
func (c *hwmonCollector) Collect(ctx context.Context, b *Batch) error {
	temps, err := c.ps.Temperatures(ctx)
	if err != nil && len(temps) == 0 {
		return nil // no sensors here (VMs, containers): nothing to report
	}
	for _, t := range temps {
		b.Add("node_hwmon", "temp_celsius", t.Temperature, "sensor", t.SensorKey)
	}
	return nil
}
