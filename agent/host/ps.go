package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	gohost "github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/load"
	"github.com/shirou/gopsutil/v3/mem"
	"github.com/shirou/gopsutil/v3/net"
)

// PS is the narrow seam over gopsutil. Methods take the context gopsutil
// reads its fixture root from (common.EnvKey), so tests point it at a
// testdata tree instead of the live /proc.
type PS interface {
	CPUTimes(ctx context.Context) ([]cpu.TimesStat, error)
	VirtualMemory(ctx context.Context) (*mem.VirtualMemoryStat, error)
	SwapMemory(ctx context.Context) (*mem.SwapMemoryStat, error)
	Partitions(ctx context.Context) ([]disk.PartitionStat, error)
	Usage(ctx context.Context, path string) (*disk.UsageStat, error)
	LoadAvg(ctx context.Context) (*load.AvgStat, error)
	Misc(ctx context.Context) (*load.MiscStat, error)
	DiskIO(ctx context.Context) (map[string]disk.IOCountersStat, error)
	NetIO(ctx context.Context) ([]net.IOCountersStat, error)
	BootTime(ctx context.Context) (uint64, error)
	Users(ctx context.Context) ([]gohost.UserStat, error)
	Temperatures(ctx context.Context) ([]gohost.TemperatureStat, error)
	// Threads is the number of threads of every process (Linux).
	Threads(ctx context.Context) (uint64, error)
}

// SystemPS is the PS of the live operating system.
type SystemPS struct{}

var _ PS = SystemPS{}

func (SystemPS) CPUTimes(ctx context.Context) ([]cpu.TimesStat, error) {
	return cpu.TimesWithContext(ctx, true)
}

func (SystemPS) VirtualMemory(ctx context.Context) (*mem.VirtualMemoryStat, error) {
	return mem.VirtualMemoryWithContext(ctx)
}

func (SystemPS) SwapMemory(ctx context.Context) (*mem.SwapMemoryStat, error) {
	return mem.SwapMemoryWithContext(ctx)
}

func (SystemPS) Partitions(ctx context.Context) ([]disk.PartitionStat, error) {
	return disk.PartitionsWithContext(ctx, true)
}

func (SystemPS) Usage(ctx context.Context, path string) (*disk.UsageStat, error) {
	return disk.UsageWithContext(ctx, path)
}

func (SystemPS) LoadAvg(ctx context.Context) (*load.AvgStat, error) {
	return load.AvgWithContext(ctx)
}

func (SystemPS) Misc(ctx context.Context) (*load.MiscStat, error) {
	m, err := load.MiscWithContext(ctx)
	return m, unsupported(err)
}

// unsupported turns gopsutil's "not implemented yet" (a function this OS
// lacks, such as load.Misc and host.Users on Windows; its sentinel is in
// an internal package) into errors.ErrUnsupported, which collectors treat
// as "no such metric here" rather than a failure.
func unsupported(err error) error {
	if err != nil && err.Error() == "not implemented yet" {
		return fmt.Errorf("%w: %v", errors.ErrUnsupported, err)
	}
	return err
}

func (SystemPS) DiskIO(ctx context.Context) (map[string]disk.IOCountersStat, error) {
	return disk.IOCountersWithContext(ctx)
}

func (SystemPS) NetIO(ctx context.Context) ([]net.IOCountersStat, error) {
	return net.IOCountersWithContext(ctx, true)
}

func (SystemPS) BootTime(ctx context.Context) (uint64, error) { return gohost.BootTimeWithContext(ctx) }

// Users lists the login sessions. A system without a login record file
// (containers, minimal images: no /var/run/utmp) has nobody logged in.
func (SystemPS) Users(ctx context.Context) ([]gohost.UserStat, error) {
	users, err := gohost.UsersWithContext(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return users, unsupported(err)
}

func (SystemPS) Temperatures(ctx context.Context) ([]gohost.TemperatureStat, error) {
	return gohost.SensorsTemperaturesWithContext(ctx)
}
