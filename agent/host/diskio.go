package host

import (
	"context"
	"log/slog"
	"regexp"
	"sort"
)

func init() {
	Register("diskstats", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &diskIOCollector{ps: ps} })
}

// ignoredDisks are not physical disks: loop and RAM devices (node_exporter's
// default, plus partitions, whose I/O their disk already counts).
var ignoredDisks = regexp.MustCompile(`^((ram|loop|fd)\d+|(h|s|v|xv)d[a-z]+\d+|nvme\d+n\d+p\d+|mmcblk\d+p\d+)$`)

type diskIOCollector struct{ ps PS }

// Collect reports per-device I/O with node_exporter's names.
func (c *diskIOCollector) Collect(ctx context.Context, b *Batch) error {
	io, err := c.ps.DiskIO(ctx)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(io))
	for n := range io {
		if !ignoredDisks.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		d := io[n]
		b.AddCounter("node_disk", "reads_completed_total", float64(d.ReadCount), "device", n)
		b.AddCounter("node_disk", "writes_completed_total", float64(d.WriteCount), "device", n)
		b.AddCounter("node_disk", "read_bytes_total", float64(d.ReadBytes), "device", n)
		b.AddCounter("node_disk", "written_bytes_total", float64(d.WriteBytes), "device", n)
		b.AddCounter("node_disk", "read_time_seconds_total", float64(d.ReadTime)/1000, "device", n)
		b.AddCounter("node_disk", "write_time_seconds_total", float64(d.WriteTime)/1000, "device", n)
		b.AddCounter("node_disk", "io_time_seconds_total", float64(d.IoTime)/1000, "device", n)
	}
	return nil
}
