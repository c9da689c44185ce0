package collector

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/internal/promconst"
	"github.com/ninesmon/nines/collector/shard"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
)

// Sharding (collector/shard): collectors sharing a PostgreSQL split the
// SNMP devices and checks between the live ones. Every ShardSync each
// refreshes the members from the heartbeats, writes what it probed and
// reads what the others probed; batches older than ProbeBatchesKept go.
const (
	ShardSync        = time.Second
	ProbeBatchesKept = 2 * time.Minute
)

// newShard sets up sharding on PostgreSQL. On SQLite a collector is
// alone, owns every device and check, and shares nothing.
func (c *Collector) newShard(ctx context.Context, cfg *config.Config, st store.Store, now time.Time) {
	if cfg.Storage.Driver != config.DriverPostgres {
		return
	}
	logger := c.logger.With("component", "shard")
	c.members = shard.New(shard.Options{Self: c.runID, List: st.LiveRuns, Fresh: 3 * c.heartbeat, Logger: logger,
		// What became this collector's is probed at once.
		OnChange: func([]int64) {
			c.poller.OwnersChanged()
			c.checks.OwnersChanged()
		}})
	// Before the first poll, so a collector joining takes only its share.
	if err := c.members.Refresh(ctx); err != nil {
		logger.Warn("read the live collectors; probing everything until it works", "err", err)
	}
	c.feed = shard.NewFeed(shard.FeedOptions{Self: c.runID, Store: st, Sink: &feedSink{c: c}, Since: now, Logger: logger})
	c.poller.SetOwner(c.owns)
	c.checks.SetOwner(c.owns)
}

// owns says whether this collector probes the device or check name
// (every one when alone).
func (c *Collector) owns(name string) bool { return c.members == nil || c.members.Owns(name) }

// shardTask keeps the members and the feed in step (PostgreSQL only).
// While the store cannot be reached it says so once, not every second
// (the batches it could not write are counted in nines_shard_dropped_total).
func (c *Collector) shardTask() task {
	var pruned time.Time
	failing := false
	return task{"shard", fixed(ShardSync), func(ctx context.Context, now time.Time) error {
		errs := []error{c.members.Refresh(ctx), c.feed.Sync(ctx, now)}
		if now.Sub(pruned) >= time.Minute {
			pruned = now
			errs = append(errs, c.feed.Prune(ctx, now.Add(-ProbeBatchesKept)))
		}
		err := errors.Join(errs...)
		was := failing
		failing = err != nil
		switch {
		case err != nil && was:
			return nil // said already
		case err == nil && was:
			c.logger.Info("sharing probes through the store again")
		}
		return err
	}}
}

// feedSink takes what the other collectors probed: samples into the
// window only (the prober forwards its own), outcomes into the tracker
// for the devices and checks this collector's configuration has (and
// their interfaces): while a reload reaches the collectors one after
// the other, one that has removed a device does not track it again
// from another's polls.
type feedSink struct {
	c *Collector

	mu         sync.Mutex
	cfg        *config.Config // configured was made from it
	configured map[string]bool
}

func (s *feedSink) Append(lset labels.Labels, t int64, v float64) error {
	return s.c.samples.Append(lset, t, v)
}

func (s *feedSink) ProbeResult(ctx context.Context, p state.Probe, now time.Time) error {
	name := p.Name
	if p.Kind == state.KindInterface {
		// A trap's outcome names only the interface (its device's
		// poller mapped it from the ifIndex).
		name = p.Labels["device"]
	}
	if name != "" && !s.isConfigured(name) {
		return nil
	}
	return s.c.tracker.ProbeResult(ctx, p, now)
}

func (s *feedSink) isConfigured(name string) bool {
	cfg := s.c.config()
	s.mu.Lock()
	defer s.mu.Unlock()
	if cfg != s.cfg {
		s.cfg, s.configured = cfg, map[string]bool{}
		for _, d := range cfg.Devices {
			s.configured[d.Name] = true
		}
		for i := range cfg.Checks {
			s.configured[cfg.Checks[i].Name] = true
		}
	}
	return s.configured[name]
}

// probeWriter is the Writer of the SNMP poller, the checks and the trap
// receiver: what they write is also queued for the other collectors
// (when sharing).
type probeWriter struct {
	Writer
	feed *shard.Feed
}

func (w probeWriter) Append(lset labels.Labels, t int64, v float64) error {
	err := w.Writer.Append(lset, t, v)
	if err == nil && w.feed != nil {
		w.feed.Sample(lset, t, v)
	}
	return err
}

func (w probeWriter) ProbeResult(ctx context.Context, p state.Probe, now time.Time) error {
	err := w.Writer.ProbeResult(ctx, p, now)
	if w.feed != nil {
		w.feed.Result(p, now)
	}
	return err
}

var (
	shardMembersDesc = prometheus.NewDesc("nines_shard_members",
		"Live collectors sharing this collector's store, itself included (1 on SQLite).", nil, nil)
	shardOwnedDesc = prometheus.NewDesc("nines_shard_owned",
		"SNMP devices and checks this collector probes, by kind (device, check).", []string{"kind"}, nil)
	shardSamplesDesc = prometheus.NewDesc("nines_shard_samples_total",
		"Probe samples shared with the other collectors (shared) and taken from them (received).", []string{"direction"}, nil)
	shardResultsDesc = prometheus.NewDesc("nines_shard_results_total",
		"Probe outcomes shared with the other collectors (shared), taken from them (received), and read after a newer one of the same target (stale, not applied).",
		[]string{"direction"}, nil)
	shardDroppedDesc = prometheus.NewDesc("nines_shard_dropped_total",
		"What was not shared or not taken, by reason: queue_full (samples), write_failed (samples and outcomes), undecodable (batches), window_refused (samples out of order, as while two collectors poll a device during a move).",
		[]string{"reason"}, nil)
	devicePollsDesc = prometheus.NewDesc("nines_snmp_device_polls_total",
		"Polls of each SNMP device by this collector.", []string{"device"}, nil)
	checkRunsDesc = prometheus.NewDesc("nines_check_runs_total",
		"Runs of each active check by this collector.", []string{"check"}, nil)
)

// shardCollector exposes the sharding series and the per-device and
// per-check probe counts, rendered at scrape time.
type shardCollector struct{ c *Collector }

func (s shardCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{shardMembersDesc, shardOwnedDesc, shardSamplesDesc, shardResultsDesc, shardDroppedDesc, devicePollsDesc, checkRunsDesc} {
		ch <- d
	}
}

func (s shardCollector) Collect(ch chan<- prometheus.Metric) {
	c := s.c
	members := 1
	if c.members != nil {
		members = len(c.members.Members())
	}
	promconst.Send(ch, shardMembersDesc, prometheus.GaugeValue, float64(members))
	cfg := c.config()
	devices, checks := 0, 0
	for _, d := range cfg.Devices {
		if c.owns(d.Name) {
			devices++
		}
	}
	for i := range cfg.Checks {
		if c.owns(cfg.Checks[i].Name) {
			checks++
		}
	}
	promconst.Send(ch, shardOwnedDesc, prometheus.GaugeValue, float64(devices), "device")
	promconst.Send(ch, shardOwnedDesc, prometheus.GaugeValue, float64(checks), "check")
	if f := c.feed; f != nil {
		promconst.Send(ch, shardSamplesDesc, prometheus.CounterValue, float64(f.SharedSamples.Load()), "shared")
		promconst.Send(ch, shardSamplesDesc, prometheus.CounterValue, float64(f.ReceivedSamples.Load()), "received")
		promconst.Send(ch, shardResultsDesc, prometheus.CounterValue, float64(f.SharedResults.Load()), "shared")
		promconst.Send(ch, shardResultsDesc, prometheus.CounterValue, float64(f.ReceivedResults.Load()), "received")
		promconst.Send(ch, shardResultsDesc, prometheus.CounterValue, float64(f.StaleResults.Load()), "stale")
		promconst.Send(ch, shardDroppedDesc, prometheus.CounterValue, float64(f.DroppedFull.Load()), "queue_full")
		promconst.Send(ch, shardDroppedDesc, prometheus.CounterValue, float64(f.DroppedWrite.Load()), "write_failed")
		promconst.Send(ch, shardDroppedDesc, prometheus.CounterValue, float64(f.DroppedDecode.Load()), "undecodable")
		promconst.Send(ch, shardDroppedDesc, prometheus.CounterValue, float64(f.RejectedSamples.Load()), "window_refused")
	}
	for name, n := range c.poller.Polled() {
		promconst.Send(ch, devicePollsDesc, prometheus.CounterValue, float64(n), name)
	}
	for name, n := range c.checks.Runs() {
		promconst.Send(ch, checkRunsDesc, prometheus.CounterValue, float64(n), name)
	}
}
