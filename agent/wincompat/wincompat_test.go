package wincompat

import (
	"bufio"
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/expose"
	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/internal/golden"
)

// windowsBatch is what the agent collects on a small Windows desktop:
// two cores, one disk, two interfaces, two watched services.
func windowsBatch() *host.Batch {
	b := &host.Batch{Time: time.Unix(1700000000, 0)}
	for _, cpu := range []string{"0", "1"} {
		for _, m := range []struct {
			mode string
			v    float64
		}{{"user", 100.5}, {"nice", 0}, {"system", 40.25}, {"idle", 900}, {"iowait", 0}, {"irq", 2.5}, {"softirq", 0}, {"steal", 0}} {
			b.AddCounter("node_cpu", "seconds_total", m.v, "cpu", cpu, "mode", m.mode)
		}
	}
	b.AddCounter("node_cpu", "seconds_total", 5, "cpu", "all", "mode", "idle") // cpu_per_core off: no core
	b.AddCounter("node_cpu", "seconds_total", 7, "cpu", "70", "mode", "user")  // second processor group
	b.Add("node_memory", "MemTotal_bytes", 17179869184)
	b.Add("node_memory", "MemFree_bytes", 6442450944)
	b.Add("node_memory", "MemAvailable_bytes", 8589934592)
	b.Add("node_memory", "SwapTotal_bytes", 0)
	b.Add("node_filesystem", "size_bytes", 255e9, "device", "C:", "fstype", "NTFS", "mountpoint", "C:")
	b.Add("node_filesystem", "free_bytes", 100e9, "device", "C:", "fstype", "NTFS", "mountpoint", "C:")
	b.Add("node_filesystem", "avail_bytes", 99e9, "device", "C:", "fstype", "NTFS", "mountpoint", "C:")
	b.AddCounter("node_network", "receive_bytes_total", 123456, "device", "Ethernet 2")
	b.AddCounter("node_network", "transmit_bytes_total", 65432, "device", "Ethernet 2")
	b.AddCounter("node_network", "receive_bytes_total", 1, "device", "Wi-Fi (Intel® AX201)")
	b.AddCounter("node_network", "receive_packets_total", 99, "device", "Ethernet 2")
	b.Add("node", "boot_time_seconds", 1699990000)
	b.Add("nines", "processes", 214)
	b.Add("node_processes", "threads", 2871)
	b.Samples = append(b.Samples,
		host.Sample{Measurement: "nines_service", Field: "state", Value: 4, Labels: []host.Label{{Name: "service", Value: "Spooler"}}},
		host.Sample{Measurement: "nines_service", Field: "state", Value: 1, Labels: []host.Label{{Name: "service", Value: "wuauserv"}}},
	)
	b.Add("nines_check", "success", 1, "check", "db", "type", "tcp")
	return b
}

// TestAppendGolden renders the windows_exporter samples of a typical
// Windows batch; testdata/windows.golden.prom is the expected /metrics
// text (go test -update rewrites it).
func TestAppendGolden(t *testing.T) {
	src := windowsBatch()
	win := &host.Batch{Time: src.Time, Samples: Append(nil, src.Samples)}
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	expose.WriteBatch(w, win)
	w.Flush()
	golden.Check(t, "testdata/windows.golden.prom", out.Bytes())
	// Every windows_exporter name of the mapping is there.
	for _, name := range []string{
		"windows_cpu_time_total", "windows_cs_physical_memory_bytes", "windows_memory_physical_total_bytes",
		"windows_os_physical_memory_free_bytes", "windows_memory_physical_free_bytes",
		"windows_logical_disk_free_bytes", "windows_logical_disk_size_bytes",
		"windows_net_bytes_received_total", "windows_net_bytes_sent_total",
		"windows_system_system_up_time", "windows_system_boot_time_timestamp",
		"windows_system_processes", "windows_system_threads", "windows_service_state",
	} {
		if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).Match(out.Bytes()) {
			t.Errorf("%s missing", name)
		}
	}
}

// TestAppendKeepsSource checks that Append leaves the collected samples
// as they were when dst shares their array without spare capacity, as
// the agent calls it.
func TestAppendKeepsSource(t *testing.T) {
	src := windowsBatch().Samples
	before := append([]host.Sample(nil), src...)
	all := Append(src[:len(src):len(src)], src)
	if len(all) <= len(src) {
		t.Fatalf("got %d samples, want more than %d", len(all), len(src))
	}
	for i := range before {
		if src[i].Name() != before[i].Name() || src[i].Value != before[i].Value {
			t.Fatalf("sample %d changed: got %s %v, want %s %v", i, src[i].Name(), src[i].Value, before[i].Name(), before[i].Value)
		}
	}
	if got := Append(nil, nil); len(got) != 0 {
		t.Errorf("empty: got %d samples", len(got))
	}
}

func TestMangle(t *testing.T) {
	for in, want := range map[string]string{
		"Ethernet":                             "Ethernet",
		"Ethernet 2":                           "Ethernet_2",
		"Microsoft Hyper-V Network Adapter #1": "Microsoft_Hyper_V_Network_Adapter__1",
		"Wi-Fi (Intel® AX201)":                 "Wi_Fi__Intel__AX201_",
		"":                                     "",
	} {
		if got := mangle(in); got != want {
			t.Errorf("mangle(%q): got %q, want %q", in, got, want)
		}
	}
}
