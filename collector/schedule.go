package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/rules"
)

// task is one periodic duty of the running collector. Each runs in its
// own goroutine, so a slow one (an SLA recompute reaching a year back)
// never delays another (the deadline checks that decide host down).
type task struct {
	name string
	// every is the pause after a run ends before the next (read after
	// each run, so a reload changes it).
	every func() time.Duration
	run   func(ctx context.Context, now time.Time) error
}

// alignedTasks run at the multiples of their every on the wall clock,
// with now at that multiple, so the collectors of an HA pair compute the
// service levels at the same instants over the same history and show
// one figure (not two taken up to 30 s apart).
var alignedTasks = map[string]bool{"slo": true, "sla": true}

func (t task) aligned() bool { return alignedTasks[t.name] }

func fixed(d time.Duration) func() time.Duration { return func() time.Duration { return d } }

// tasks are the collector's periodic duties.
func (c *Collector) tasks() []task {
	checkEvery := func() time.Duration { return c.config().Availability.CheckInterval.D() }
	tasks := []task{
		{"states", checkEvery, func(ctx context.Context, now time.Time) error {
			// Deadline checks (decided in memory even when the store
			// cannot be written; written when it can), then the states as
			// series for the rules.
			err := c.tracker.Check(ctx, now)
			if ctx.Err() == nil {
				c.storeHealth.observe("state", err)
			}
			c.publishStates(now)
			c.storeHealth.publish(c.own, now)
			return err
		}},
		{"alive", fixed(c.heartbeat), func(ctx context.Context, now time.Time) error {
			err := c.store.Alive(ctx, c.runID, now)
			if ctx.Err() == nil {
				c.storeHealth.observe("heartbeat", err)
			}
			return err
		}},
		{"incident timers", checkEvery, func(ctx context.Context, now time.Time) error {
			if !c.lease.IsLeader() {
				// A follower's open incidents (nines_incidents_open) are
				// the leader's, read from the store.
				return c.incidents.Follow(ctx)
			}
			c.incidents.CheckTimers(ctx, now)
			return nil
		}},
		{"close resolved", fixed(30 * time.Second), c.incidents.CloseResolved},
		{"maintenance", c.maintenanceEvery, func(ctx context.Context, now time.Time) error {
			// Recurring windows roll forward; service windows follow
			// their targets.
			return maintenanceBook{c}.apply(ctx, now)
		}},
		{"slo", fixed(rules.SLOEvalInterval), c.slos.Compute},
		{"sla", fixed(rules.SLOEvalInterval), c.sla.Compute},
		{"monthly reports", fixed(15 * time.Minute), c.leaderOnly(c.monthly.Write)},
		{"prune", fixed(time.Minute), func(_ context.Context, now time.Time) error {
			c.samples.Prune(now)
			return nil
		}},
		{"refresh alerts", fixed(5 * time.Second), c.leaderOnly(c.refreshAlerts())},
		{"store retention", fixed(time.Hour), func(ctx context.Context, now time.Time) error {
			r := c.config().Storage.Retention
			n, err := c.store.Prune(ctx, now, store.Retention{Audit: r.Audit.D(), Notifications: r.Notifications.D(), History: r.History.D()})
			if n > 0 {
				c.logger.Info("old rows removed from the store", "rows", n)
			}
			return err
		}},
	}
	if c.feed != nil {
		tasks = append(tasks, c.shardTask())
	}
	return tasks
}

// maintenanceEvery is how often the maintenance windows are read again:
// recurring windows roll forward every 10 minutes; on PostgreSQL, where
// the other collector of an HA pair may have created or ended one (at
// its API), every 15 s, so the leader heeds it before an incident opens.
func (c *Collector) maintenanceEvery() time.Duration {
	if c.config().Storage.Driver == config.DriverPostgres {
		return 15 * time.Second
	}
	return 10 * time.Minute
}

// leaderOnly runs f only while this collector leads its HA pair: what
// it sends (mail, alerts) is the leader's to send.
func (c *Collector) leaderOnly(f func(ctx context.Context, now time.Time) error) func(ctx context.Context, now time.Time) error {
	return func(ctx context.Context, now time.Time) error {
		if !c.lease.IsLeader() {
			return nil
		}
		return f(ctx, now)
	}
}

// refreshAlerts sends receivers whose peer forgets firing alerts
// (Alertmanager's API) the active incidents they were told of, each at
// its own interval (alerting.Refresher); the receivers are read at every
// run, so a reload's are refreshed too.
func (c *Collector) refreshAlerts() func(ctx context.Context, now time.Time) error {
	last := map[string]time.Time{}
	return func(ctx context.Context, now time.Time) error {
		var errs []error
		for _, rc := range c.config().Receivers {
			r, ok := c.dispatcher.Notifier(rc.Name).(alerting.Refresher)
			if !ok || r.RefreshEvery() <= 0 || now.Sub(last[rc.Name]) < r.RefreshEvery() {
				continue
			}
			last[rc.Name] = now
			if _, err := alerting.RefreshOnce(ctx, c.store, rc.Name, r, now); err != nil {
				errs = append(errs, fmt.Errorf("refresh %s: %w", rc.Name, err))
			}
		}
		return errors.Join(errs...)
	}
}

// wait is the pause after a run that ended at now: every, or for an
// aligned task until the next multiple of every.
func (t task) wait(now time.Time) time.Duration {
	d := t.every()
	if !t.aligned() || d <= 0 {
		return d
	}
	return now.Truncate(d).Add(d).Sub(now)
}

// clock is the schedule's time: time.Now and time.After, or a test's.
type clock struct {
	now   func() time.Time
	after func(time.Duration) <-chan time.Time
}

var realClock = clock{now: time.Now, after: time.After}

// runTasks runs every task at once, then again every task.every after
// its previous run ended, each in its own goroutine, until ctx is done;
// it returns when they all have.
func runTasks(ctx context.Context, tasks []task, clk clock, logger *slog.Logger) {
	var wg sync.WaitGroup
	for _, t := range tasks {
		wg.Go(func() {
			for {
				now := clk.now()
				if t.aligned() {
					now = now.Truncate(t.every())
				}
				if err := t.run(ctx, now); err != nil && ctx.Err() == nil {
					logger.Error("periodic task failed", "task", t.name, "err", err)
				}
				select {
				case <-ctx.Done():
					return
				case <-clk.after(t.wait(clk.now())):
				}
			}
		})
	}
	wg.Wait()
}
