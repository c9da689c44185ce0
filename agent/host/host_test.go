package host

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/golden"
	"github.com/shirou/gopsutil/v3/common"
	"github.com/shirou/gopsutil/v3/cpu"
	"github.com/shirou/gopsutil/v3/disk"
	gohost "github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/load"
	"github.com/shirou/gopsutil/v3/mem"
	"github.com/shirou/gopsutil/v3/net"
)

// fixturePS reads /proc from a testdata tree through gopsutil's context
// and answers filesystem questions from a table (statfs cannot be faked).
type fixturePS struct {
	proc  string
	parts []disk.PartitionStat
	usage map[string]*disk.UsageStat
}

func (f fixturePS) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, common.EnvKey, common.EnvMap{
		common.HostProcEnvKey: f.proc,
		common.HostSysEnvKey:  filepath.Join(filepath.Dir(f.proc), "sys"),
	})
}

func (f fixturePS) CPUTimes(ctx context.Context) ([]cpu.TimesStat, error) {
	return SystemPS{}.CPUTimes(f.ctx(ctx))
}
func (f fixturePS) VirtualMemory(ctx context.Context) (*mem.VirtualMemoryStat, error) {
	return SystemPS{}.VirtualMemory(f.ctx(ctx))
}
func (f fixturePS) SwapMemory(ctx context.Context) (*mem.SwapMemoryStat, error) {
	return SystemPS{}.SwapMemory(f.ctx(ctx))
}
func (f fixturePS) LoadAvg(ctx context.Context) (*load.AvgStat, error) {
	return SystemPS{}.LoadAvg(f.ctx(ctx))
}
func (f fixturePS) Misc(ctx context.Context) (*load.MiscStat, error) {
	return SystemPS{}.Misc(f.ctx(ctx))
}
func (f fixturePS) DiskIO(ctx context.Context) (map[string]disk.IOCountersStat, error) {
	return SystemPS{}.DiskIO(f.ctx(ctx))
}
func (f fixturePS) NetIO(ctx context.Context) ([]net.IOCountersStat, error) {
	return SystemPS{}.NetIO(f.ctx(ctx))
}
func (f fixturePS) Threads(ctx context.Context) (uint64, error) {
	return SystemPS{}.Threads(f.ctx(ctx))
}
func (f fixturePS) BootTime(ctx context.Context) (uint64, error) {
	return SystemPS{}.BootTime(f.ctx(ctx))
}
func (f fixturePS) Users(context.Context) ([]gohost.UserStat, error) {
	return []gohost.UserStat{{User: "alice"}, {User: "bob"}}, nil
}
func (f fixturePS) Temperatures(context.Context) ([]gohost.TemperatureStat, error) {
	return []gohost.TemperatureStat{{SensorKey: "coretemp_package_id_0", Temperature: 51}}, nil
}
func (f fixturePS) Partitions(context.Context) ([]disk.PartitionStat, error) { return f.parts, nil }
func (f fixturePS) Usage(_ context.Context, path string) (*disk.UsageStat, error) {
	if u, ok := f.usage[path]; ok {
		return u, nil
	}
	return nil, errors.New("stale file handle")
}

func serverFixture() fixturePS {
	return fixturePS{
		proc: "testdata/server/proc",
		parts: []disk.PartitionStat{
			{Device: "/dev/sda1", Mountpoint: "/", Fstype: "ext4"},
			{Device: "proc", Mountpoint: "/proc", Fstype: "proc"},
			{Device: "server:/export", Mountpoint: "/mnt/nfs", Fstype: "nfs4"},
			{Device: "/dev/sdb1", Mountpoint: "/data", Fstype: "xfs"},
			{Device: "/dev/sdc1", Mountpoint: "/stale", Fstype: "ext4"},
		},
		usage: map[string]*disk.UsageStat{
			"/":     {Total: 100 << 30, Free: 40 << 30, Used: 55 << 30, InodesTotal: 1000, InodesFree: 600},
			"/data": {Total: 500 << 30, Free: 25 << 30, Used: 475 << 30, InodesTotal: 5000, InodesFree: 4000},
		},
	}
}

// render writes a batch without the timing samples, which vary per run.
func render(b *Batch) string {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	for _, s := range b.Samples {
		switch {
		case s.Measurement == "node_scrape_collector" && s.Field == "duration_seconds", s.Name() == "node_time_seconds":
			continue // vary per run
		case s.Name() == "node_boot_time_seconds":
			// gopsutil derives it from /proc/uptime inside containers, so
			// it moves with the clock: only its presence is golden.
			w.WriteString("node_boot_time_seconds present\n")
			continue
		}
		w.WriteString(s.Name())
		for _, l := range s.Labels {
			w.WriteString(" " + l.Name + "=" + l.Value)
		}
		w.WriteString(" ")
		w.WriteString(strings.TrimRight(strings.TrimRight(formatFloat(s.Value), "0"), "."))
		w.WriteString("\n")
	}
	w.Flush()
	return out.String()
}

func TestCollectorsGolden(t *testing.T) {
	reg, err := NewRegistry([]string{"battery", "cpu", "diskstats", "filesystem", "hwmon", "loadavg", "memory", "netdev", "system"}, serverFixture(), DefaultOptions(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := reg.Collect(serverFixture().ctx(context.Background()), time.Unix(1700000000, 0))
	got := render(b)
	golden.Check(t, "testdata/server/expected.out", []byte(got))
}

type panicky struct{}

func (panicky) Collect(context.Context, *Batch) error { panic("boom") }

func TestRegistryRecoversPanic(t *testing.T) {
	r := &Registry{names: []string{"bad"}, collectors: []Collector{panicky{}}, logger: slog.New(slog.DiscardHandler)}
	b := r.Collect(context.Background(), time.Now())
	var success float64 = -1
	for _, s := range b.Samples {
		if s.Name() == "node_scrape_collector_success" {
			success = s.Value
		}
	}
	if success != 0 {
		t.Errorf("success of a panicking collector: got %v, want 0", success)
	}
}

func TestNewRegistryUnknown(t *testing.T) {
	if _, err := NewRegistry([]string{"nope"}, SystemPS{}, DefaultOptions(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("unknown collector: got no error")
	}
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }

func TestOptions(t *testing.T) {
	o := DefaultOptions()
	o.CPUPerCore = false
	o.ExcludeMountPoints = regexp.MustCompile(`^/data$`)
	o.IncludeVirtualInterfaces = true
	reg, err := NewRegistry([]string{"cpu", "filesystem", "netdev"}, serverFixture(), o, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := reg.Collect(context.Background(), time.Now())
	got := render(b)
	for _, want := range []string{"node_cpu_seconds_total cpu=all mode=user 20\n", "device=lo 500000\n", "mountpoint=/ "} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, unwanted := range []string{"cpu=0 ", "mountpoint=/data"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("output has %q", unwanted)
		}
	}
	// A second collection yields utilisation since the first.
	b = reg.Collect(context.Background(), time.Now())
	for _, s := range b.Samples {
		if s.Name() == "nines_cpu_utilisation_ratio" {
			t.Errorf("utilisation from identical fixture counters: got %v, want none (no time passed)", s.Value)
		}
	}
}

// TestNoLoginRecords: a system without a utmp file (a container) has
// nobody logged in; that is not a collector failure.
func TestNoLoginRecords(t *testing.T) {
	ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostVarEnvKey: t.TempDir()})
	users, err := SystemPS{}.Users(ctx)
	if err != nil || len(users) != 0 {
		t.Fatalf("no utmp: users %v, err %v", users, err)
	}
}

// TestBatchLabels: labels come out sorted by name, and each sample's
// labels are its own even though they share one store.
func TestBatchLabels(t *testing.T) {
	var b Batch
	for i := range 300 { // past the store's first size
		b.Add("m", "f", float64(i), "z", strconv.Itoa(i), "a", "x", "m", "y")
	}
	b.Add("m", "g", 0)
	for i, s := range b.Samples[:300] {
		want := []Label{{"a", "x"}, {"m", "y"}, {"z", strconv.Itoa(i)}}
		if !slices.Equal(s.Labels, want) {
			t.Fatalf("sample %d: labels %v, want %v", i, s.Labels, want)
		}
	}
	first := b.Samples[0].Labels
	first = append(first, Label{"zz", "appended"})
	if got := b.Samples[1].Labels[0]; len(first) != 4 || got != (Label{"a", "x"}) {
		t.Fatalf("append to one sample's labels changed the next's: %v", got)
	}
	if b.Samples[300].Labels != nil {
		t.Fatalf("sample without labels has %v", b.Samples[300].Labels)
	}
}
