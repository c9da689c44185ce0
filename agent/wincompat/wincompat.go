// Package wincompat gives the agent's samples the names
// prometheus-community/windows_exporter uses, so that dashboards and alert
// rules written for windows_exporter work with the agent on Windows. The
// agent's own names (node_*, nines_*) stay: the windows_* samples are
// added next to them on /metrics, not pushed to the collector.
//
// Names, labels and units follow windows_exporter v0.29 (the cs, os and
// system_up_time names most published dashboards use) and, where a later
// release renamed a metric, its current name as well (memory
// physical_total_bytes and physical_free_bytes, system
// boot_time_timestamp). Append is a pure function of the collected
// samples, so the mapping is tested on any system.
package wincompat

import (
	"strconv"

	"github.com/ninesmon/nines/agent/host"
)

// ServiceStates are the states windows_exporter's windows_service_state
// reports, indexed by the Win32 service state code (SERVICE_STOPPED = 1
// ... SERVICE_PAUSED = 7) that nines_service_state carries.
var ServiceStates = [...]string{
	1: "stopped",
	2: "start pending",
	3: "stop pending",
	4: "running",
	5: "continue pending",
	6: "pause pending",
	7: "paused",
}

// cpuModes maps node_cpu_seconds_total's modes, as gopsutil fills them on
// Windows, to windows_cpu_time_total's. gopsutil reports no DPC time per
// core, so mode="dpc" is absent; the other node modes are always 0 on
// Windows and have no windows_exporter counterpart.
var cpuModes = map[string]string{
	"user":   "user",
	"system": "privileged",
	"idle":   "idle",
	"irq":    "interrupt",
}

// Append appends to dst the windows_exporter samples that src's samples
// map to, and returns the extended slice:
//
//	node_cpu_seconds_total{cpu,mode}        windows_cpu_time_total{core,mode}
//	node_memory_MemTotal_bytes              windows_cs_physical_memory_bytes, windows_memory_physical_total_bytes
//	node_memory_MemAvailable_bytes          windows_os_physical_memory_free_bytes, windows_memory_physical_free_bytes
//	node_filesystem_free_bytes{mountpoint}  windows_logical_disk_free_bytes{volume}
//	node_filesystem_size_bytes{mountpoint}  windows_logical_disk_size_bytes{volume}
//	node_network_receive_bytes_total{device}   windows_net_bytes_received_total{nic}
//	node_network_transmit_bytes_total{device}  windows_net_bytes_sent_total{nic}
//	node_boot_time_seconds                  windows_system_system_up_time, windows_system_boot_time_timestamp
//	nines_processes                         windows_system_processes
//	node_processes_threads                  windows_system_threads
//	nines_service_state{service}            windows_service_state{name,state}, one per state
//
// Labels: core is "group,index" as Windows' Processor Information counters
// name it (64 logical processors to a group); cpu="all" (cpu_per_core
// off) has no counterpart and is left out. volume is the mount point
// ("C:"). nic is the interface name with every character other than
// [a-zA-Z0-9] replaced by "_", as windows_exporter mangles its names.
// dst and src may share a backing array only if dst has no spare capacity
// (src is read while dst grows).
func Append(dst []host.Sample, src []host.Sample) []host.Sample {
	add := func(name string, s *host.Sample, labels ...host.Label) {
		dst = append(dst, host.Sample{Measurement: "windows", Field: name, Labels: labels, Value: s.Value, Counter: s.Counter})
	}
	for i := range src {
		s := &src[i]
		switch s.Measurement + "_" + s.Field {
		case "node_cpu_seconds_total":
			cpu, mode := label(s, "cpu"), cpuModes[label(s, "mode")]
			n, err := strconv.Atoi(cpu)
			if mode == "" || err != nil || n < 0 {
				continue
			}
			add("cpu_time_total", s, host.Label{Name: "core", Value: strconv.Itoa(n/64) + "," + strconv.Itoa(n%64)}, host.Label{Name: "mode", Value: mode})
		case "node_memory_MemTotal_bytes":
			add("cs_physical_memory_bytes", s)
			add("memory_physical_total_bytes", s)
		case "node_memory_MemAvailable_bytes":
			add("os_physical_memory_free_bytes", s)
			add("memory_physical_free_bytes", s)
		case "node_filesystem_free_bytes":
			add("logical_disk_free_bytes", s, host.Label{Name: "volume", Value: label(s, "mountpoint")})
		case "node_filesystem_size_bytes":
			add("logical_disk_size_bytes", s, host.Label{Name: "volume", Value: label(s, "mountpoint")})
		case "node_network_receive_bytes_total":
			add("net_bytes_received_total", s, host.Label{Name: "nic", Value: mangle(label(s, "device"))})
		case "node_network_transmit_bytes_total":
			add("net_bytes_sent_total", s, host.Label{Name: "nic", Value: mangle(label(s, "device"))})
		case "node_boot_time_seconds":
			add("system_system_up_time", s)
			add("system_boot_time_timestamp", s)
		case "nines_processes":
			add("system_processes", s)
		case "node_processes_threads":
			add("system_threads", s)
		case "nines_service_state":
			name := label(s, "service")
			for code, state := range ServiceStates {
				if state == "" {
					continue
				}
				v := 0.0
				if float64(code) == s.Value {
					v = 1
				}
				dst = append(dst, host.Sample{Measurement: "windows", Field: "service_state", Value: v,
					Labels: []host.Label{{Name: "name", Value: name}, {Name: "state", Value: state}}})
			}
		}
	}
	return dst
}

func label(s *host.Sample, name string) string {
	for _, l := range s.Labels {
		if l.Name == name {
			return l.Value
		}
	}
	return ""
}

// mangle replaces every character other than [a-zA-Z0-9] with "_", as
// windows_exporter's net collector does with interface names
// (regexp [^a-zA-Z0-9], which matches one rune, or one invalid byte, at a
// time).
func mangle(name string) string {
	b := make([]byte, 0, len(name))
	for _, r := range name {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b = append(b, byte(r))
		} else {
			b = append(b, '_')
		}
	}
	return string(b)
}
