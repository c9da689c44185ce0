// Package loadgen makes realistic host-metric line protocol, the shape
// nines-agent and Telegraf send, for benchmarks and for sizing an
// installation (see cmd/nines-loadgen).
package loadgen

import (
	"bytes"
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

// Shard splits line protocol into n streams by the value of each line's
// host tag (hosts dealt to the streams in turn), so that a host's lines stay in one stream and in their order,
// and cuts each stream into batches of up to batch lines. Posting each
// stream's batches in order, one stream per connection, sends every
// host's samples in time order however the streams interleave, as a fleet
// of senders each posting its own data does; batches of one stream cut
// from a round-major payload would race their neighbours and reach a
// window that refuses out-of-order samples out of order. Lines without a
// host tag go to the first stream. It returns the batches and the number
// of lines.
func Shard(data []byte, n, batch int) ([][][]byte, int) {
	n, batch = max(n, 1), max(batch, 1)
	bufs := make([][]byte, n)
	counts := make([]int, n)
	out := make([][][]byte, n)
	streamOf := map[string]int{}
	lines := 0
	for start := 0; start < len(data); {
		end := bytes.IndexByte(data[start:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += start + 1
		}
		line := data[start:end]
		start = end
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		s := 0
		if v := hostTag(line); v != nil {
			var ok bool
			if s, ok = streamOf[string(v)]; !ok {
				s = len(streamOf) % n // hosts dealt in turn: streams of equal size
				streamOf[string(v)] = s
			}
		}
		bufs[s] = append(bufs[s], line...)
		if bufs[s][len(bufs[s])-1] != '\n' {
			bufs[s] = append(bufs[s], '\n')
		}
		lines++
		if counts[s]++; counts[s] == batch {
			out[s] = append(out[s], bufs[s])
			bufs[s], counts[s] = nil, 0
		}
	}
	for s := range bufs {
		if counts[s] > 0 {
			out[s] = append(out[s], bufs[s])
		}
	}
	return out, lines
}

// hostTag returns the value of a line's host tag, or nil. It reads plain
// line protocol (no escaped commas or spaces before the tag).
func hostTag(line []byte) []byte {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return nil
	}
	key := line[:sp]
	i := bytes.Index(key, []byte(",host="))
	if i < 0 {
		return nil
	}
	v := key[i+len(",host="):]
	if j := bytes.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	return v
}
