package collector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/leader"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/postgres"
	"github.com/ninesmon/nines/rules"
)

// The HA pair's lease (see collector/leader and postgres.Locker): a
// leader renews every second and acts until 5 s after its last renewal
// began; the database frees a silent holder's lock after 10 s, so a
// frozen or cut-off leader has stopped 5 s before the other can start; a
// follower tries every second, so it takes over within about a second of
// a crash (the socket closes) and within about 11 s of a freeze.
const (
	LeaseTTL     = 5 * time.Second
	LeaseRenew   = time.Second
	LeaseRetry   = time.Second
	TakeoverWait = 10 * time.Second
)

// newLease is the collector's lease: on PostgreSQL the leader lock,
// and every incident, outbox and ticket write fenced by its epoch; on
// SQLite, where a collector is alone, leader.Always.
func (c *Collector) newLease(cfg *config.Config, st store.Store) error {
	pg, ok := st.(*postgres.Store)
	if !ok {
		c.lease = leader.Always()
		return nil
	}
	host, _ := os.Hostname()
	locker, err := postgres.NewLocker(cfg.Storage.DSN.Reveal(), host+" "+cfg.Web.ListenAddress, TakeoverWait)
	if err != nil {
		return err
	}
	c.lease = leader.New(leader.Options{Locker: locker, TTL: LeaseTTL, RenewEvery: LeaseRenew, RetryEvery: LeaseRetry,
		OnLead: c.takeOver, Logger: c.logger.With("component", "leader")})
	pg.SetFence(c.lease.Leader)
	return nil
}

// takeOver is what a collector does on taking the lead, before it acts
// as leader: it writes the state changes it decided as follower (and
// that the previous leader did not write), and loads the active
// incidents the previous leader opened, so it continues them.
func (c *Collector) takeOver(ctx context.Context, epoch int64) error {
	n, err := c.tracker.Resync(ctx)
	if err != nil {
		return fmt.Errorf("write the states decided as follower: %w", err)
	}
	if err := c.incidents.Reload(ctx); err != nil {
		return err
	}
	c.logger.Info("took the lead of the pair", "epoch", epoch, "state_changes_written", n)
	return nil
}

// leaderStates is the state store the tracker writes through: the state
// history is the leader's, so a follower's changes are not written
// (they are counted; the follower writes the differences when it takes
// the lead, see takeOver). Targets' details are written by both.
type leaderStates struct {
	state.Store
	lease   *leader.Lease
	skipped *atomic.Int64
}

func (s leaderStates) RecordChanges(ctx context.Context, changes []state.Change) error {
	if !s.lease.Holds() {
		s.skipped.Add(int64(len(changes)))
		return nil
	}
	return s.Store.RecordChanges(ctx, changes)
}

// SaveTargets passes state.TargetsSaver through when the store offers
// it (SaveTarget one by one otherwise).
func (s leaderStates) SaveTargets(ctx context.Context, infos []state.Info) error {
	if ts, ok := s.Store.(state.TargetsSaver); ok {
		return ts.SaveTargets(ctx, infos)
	}
	var errs []error
	for _, in := range infos {
		if err := s.Store.SaveTarget(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("record target %s: %w", in.Name, err))
		}
	}
	return errors.Join(errs...)
}

// leaderAlerts is the alert state store the rule manager writes
// through: like the state history, the pair's alert state is the
// leader's (both collectors evaluate the same rules over the same
// pushes, and a follower's slightly different timing must not overwrite
// the leader's pending and firing times). A follower's writes are left
// out with rules.ErrNotSaved, so it writes its state at its first
// evaluation as leader.
type leaderAlerts struct {
	rules.StateStore
	lease *leader.Lease
}

func (s leaderAlerts) SaveAlerts(ctx context.Context, group string, alerts []rules.SavedAlert) error {
	if !s.lease.Holds() {
		return rules.ErrNotSaved
	}
	return s.StateStore.SaveAlerts(ctx, group, alerts)
}

// leaderMetrics are the pair's series on /metrics.
func (c *Collector) leaderMetrics() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nines_leader",
			Help: "Whether this collector leads its HA pair (1: opens and resolves incidents, notifies) or follows (0); 1 on SQLite."},
			func() float64 {
				if c.lease.IsLeader() {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nines_leader_epoch",
			Help: "The HA pair's current fencing epoch: this collector's lead's when it leads; on a follower the leader's, read from the database every second (the last read while it does not answer); 0 on SQLite."},
			func() float64 { e, _ := c.lease.PairEpoch(); return float64(e) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "nines_state_changes_left_to_leader_total",
			Help: "State changes this collector decided as follower and left to the leader to write."},
			func() float64 { return float64(c.statesSkipped.Load()) }),
	}
}

// role is how /-/ready and /-/leader name the collector's part in its
// pair. A follower names the pair's current epoch, as its lease loop
// last read it from the database (not a query per probe), and the epoch
// it last led itself, if it has.
func (c *Collector) role() string {
	if epoch, ok := c.lease.Leader(); ok {
		return fmt.Sprintf("leader, epoch %d", epoch)
	}
	own := ""
	if e := c.lease.Epoch(); e > 0 {
		own = fmt.Sprintf("; led epoch %d", e)
	}
	pair, ok := c.lease.PairEpoch()
	if !ok {
		return "follower, pair epoch unknown: the database did not answer" + own
	}
	return fmt.Sprintf("follower of epoch %d%s", pair, own)
}
