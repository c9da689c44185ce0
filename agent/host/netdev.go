package host

import (
	"context"
	"log/slog"
	"regexp"
)

func init() {
	Register("netdev", true, func(ps PS, o Options, _ *slog.Logger) Collector {
		return &netCollector{ps: ps, all: o.IncludeVirtualInterfaces}
	})
}

// virtualInterfaces are skipped by default: loopback, container and bridge
// interfaces say nothing about the host's own network.
var virtualInterfaces = regexp.MustCompile(`^(lo|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*|cali.*|tun.*|tap.*)$`)

type netCollector struct {
	ps  PS
	all bool
}

// Collect reports per-interface traffic with node_exporter's names.
func (c *netCollector) Collect(ctx context.Context, b *Batch) error {
	stats, err := c.ps.NetIO(ctx)
	if err != nil {
		return err
	}
	for _, s := range stats {
		if !c.all && virtualInterfaces.MatchString(s.Name) {
			continue
		}
		b.AddCounter("node_network", "receive_bytes_total", float64(s.BytesRecv), "device", s.Name)
		b.AddCounter("node_network", "transmit_bytes_total", float64(s.BytesSent), "device", s.Name)
		b.AddCounter("node_network", "receive_packets_total", float64(s.PacketsRecv), "device", s.Name)
		b.AddCounter("node_network", "transmit_packets_total", float64(s.PacketsSent), "device", s.Name)
		b.AddCounter("node_network", "receive_errs_total", float64(s.Errin), "device", s.Name)
		b.AddCounter("node_network", "transmit_errs_total", float64(s.Errout), "device", s.Name)
		b.AddCounter("node_network", "receive_drop_total", float64(s.Dropin), "device", s.Name)
		b.AddCounter("node_network", "transmit_drop_total", float64(s.Dropout), "device", s.Name)
	}
	return nil
}
