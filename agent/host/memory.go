package host

import (
	"context"
	"log/slog"
	"runtime"
)

func init() {
	Register("memory", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &memoryCollector{ps: ps} })
}

type memoryCollector struct{ ps PS }

// Collect reports memory and swap with node_exporter's meminfo names.
func (c *memoryCollector) Collect(ctx context.Context, b *Batch) error {
	vm, err := c.ps.VirtualMemory(ctx)
	if err != nil {
		return err
	}
	b.Add("node_memory", "MemTotal_bytes", float64(vm.Total))
	b.Add("node_memory", "MemFree_bytes", float64(vm.Free))
	b.Add("node_memory", "MemAvailable_bytes", float64(vm.Available))
	b.Add("node_memory", "Buffers_bytes", float64(vm.Buffers))
	b.Add("node_memory", "Cached_bytes", float64(vm.Cached))
	swapTotal, swapFree := vm.SwapTotal, vm.SwapFree // from /proc/meminfo on Linux
	if runtime.GOOS != "linux" {
		sw, err := c.ps.SwapMemory(ctx)
		if err != nil {
			return err
		}
		swapTotal, swapFree = sw.Total, sw.Free
	}
	b.Add("node_memory", "SwapTotal_bytes", float64(swapTotal))
	b.Add("node_memory", "SwapFree_bytes", float64(swapFree))
	return nil
}
