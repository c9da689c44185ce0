// Package loadgen makes realistic host-metric line protocol, the shape
// nines-agent and Telegraf send, for benchmarks and for sizing an
// installation (see cmd/nines-loadgen).
package loadgen

import (
	"math/rand/v2"
	"strconv"
)

// Host describes one simulated host.
type Host struct {
	Name   string
	Cores  int
	Disks  int
	NICs   int
	Mounts []string
}

// NewHost returns a typical server: 8 cores, 2 disks, 2 NICs, 3 mounts.
func NewHost(i int) Host {
	return Host{Name: "host-" + strconv.Itoa(i), Cores: 8, Disks: 2, NICs: 2, Mounts: []string{"/", "/var", "/data"}}
}

// AppendLines appends one collection of h at time ts (nanoseconds) and
// returns the buffer and the number of lines. Values drift randomly, as
// real counters and gauges do.
func (h Host) AppendLines(dst []byte, ts int64, r *rand.Rand) ([]byte, int) {
	n := 0
	tsb := strconv.AppendInt(nil, ts, 10)
	line := func(measurement string, tags []string, fields ...string) {
		dst = append(dst, measurement...)
		dst = append(dst, ",host="...)
		dst = append(dst, h.Name...)
		for i := 0; i+1 < len(tags); i += 2 {
			dst = append(dst, ',')
			dst = append(dst, tags[i]...)
			dst = append(dst, '=')
			dst = append(dst, tags[i+1]...)
		}
		dst = append(dst, ' ')
		for i := 0; i+1 < len(fields); i += 2 {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, fields[i]...)
			dst = append(dst, '=')
			dst = append(dst, fields[i+1]...)
		}
		dst = append(dst, ' ')
		dst = append(dst, tsb...)
		dst = append(dst, '\n')
		n++
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	// Integers as "i": InfluxDB 1.x does not take unsigned ("u") fields.
	u := func(v uint64) string { return strconv.FormatUint(v, 10) + "i" }
	for c := range h.Cores {
		cpu := "cpu" + strconv.Itoa(c)
		line("cpu", []string{"cpu", cpu},
			"usage_user", f(r.Float64()*40), "usage_system", f(r.Float64()*10), "usage_idle", f(50+r.Float64()*50),
			"usage_iowait", f(r.Float64()*5), "usage_steal", f(r.Float64()))
	}
	line("mem", nil, "total", u(64<<30), "available", u(uint64(20+r.IntN(20))<<30), "used_percent", f(30+r.Float64()*40),
		"cached", u(uint64(8+r.IntN(4))<<30), "buffers", u(uint64(r.IntN(1<<30))))
	line("swap", nil, "total", u(8<<30), "free", u(uint64(6+r.IntN(2))<<30))
	line("system", nil, "load1", f(r.Float64()*4), "load5", f(r.Float64()*3), "load15", f(r.Float64()*2), "n_users", u(uint64(r.IntN(5))), "uptime", u(uint64(1e6+r.IntN(1e6))))
	for i, m := range h.Mounts {
		line("disk", []string{"device", "sd" + string(rune('a'+i)) + "1", "fstype", "ext4", "path", m},
			"total", u(500<<30), "free", u(uint64(100+r.IntN(300))<<30), "used_percent", f(r.Float64()*90),
			"inodes_total", u(32_000_000), "inodes_free", u(uint64(20_000_000+r.IntN(10_000_000))))
	}
	for i := range h.Disks {
		line("diskio", []string{"name", "sd" + string(rune('a'+i))},
			"reads", u(uint64(r.Int64N(1e9))), "writes", u(uint64(r.Int64N(1e9))), "read_bytes", u(uint64(r.Int64N(1e12))),
			"write_bytes", u(uint64(r.Int64N(1e12))), "io_time", u(uint64(r.Int64N(1e9))))
	}
	for i := range h.NICs {
		line("net", []string{"interface", "eth" + strconv.Itoa(i)},
			"bytes_recv", u(uint64(r.Int64N(1e13))), "bytes_sent", u(uint64(r.Int64N(1e13))), "packets_recv", u(uint64(r.Int64N(1e10))),
			"packets_sent", u(uint64(r.Int64N(1e10))), "err_in", u(uint64(r.IntN(100))), "drop_in", u(uint64(r.IntN(100))))
	}
	return dst, n
}

// Payload returns about lines lines of line protocol from as many hosts
// as it takes, one collection each, timestamps in nanoseconds from ts0,
// one second apart per round over the hosts.
func Payload(lines int, ts0 int64, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var out []byte
	total := 0
	for round := 0; total < lines; round++ {
		for i := 0; i < 1000 && total < lines; i++ {
			var n int
			out, n = NewHost(i).AppendLines(out, ts0+int64(round)*1e9, r)
			total += n
		}
	}
	return out
}
