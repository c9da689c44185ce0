// Package state tracks the availability of every target (host, device,
// check): UP, DOWN, UNKNOWN, MAINTENANCE or SHUTDOWN, with each change
// written durably to the store with its time and cause. That history is
// what availability and SLA figures are computed from.
package state

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"
)

// State is a target's availability.
type State string

// The states. SHUTDOWN is a clean stop announced by the agent (a planned
// shutdown is not an outage).
const (
	Up          State = "up"
	Down        State = "down"
	Unknown     State = "unknown"
	Maintenance State = "maintenance"
	Shutdown    State = "shutdown"
)

// AllStates lists every state, in display order.
var AllStates = []State{Up, Down, Unknown, Maintenance, Shutdown}

// Kind is the sort of target.
type Kind string

// Target kinds.
const (
	KindHost   Kind = "host"
	KindDevice Kind = "device"
	KindCheck  Kind = "check"
)

// Change is one entry of the durable state history.
type Change struct {
	Target string    `json:"target"`
	Kind   Kind      `json:"kind"`
	From   State     `json:"from"`
	To     State     `json:"to"`
	At     time.Time `json:"at"`
	Cause  string    `json:"cause"`
}

// Store keeps the state history. Implementations are safe for concurrent
// use, and RecordChange is durable when it returns.
type Store interface {
	RecordChange(ctx context.Context, c Change) error
	// LatestChanges returns the newest change of every target.
	LatestChanges(ctx context.Context) ([]Change, error)
}

// Target is a tracked target's current view.
type Target struct {
	Name     string            `json:"name"`
	Kind     Kind              `json:"kind"`
	ID       string            `json:"id,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	State    State             `json:"state"`
	Since    time.Time         `json:"since"`
	LastSeen time.Time         `json:"last_seen"`
	Interval time.Duration     `json:"interval_ns"`
}

// Options configure a Tracker.
type Options struct {
	// DownAfter is how many push intervals without data make a host DOWN.
	DownAfter int
	// Grace is extra time after the collector starts before any host can
	// go DOWN, so agents' queued data arrives first.
	Grace time.Duration
	// DefaultInterval applies to hosts that do not announce theirs.
	DefaultInterval time.Duration
}

// Tracker holds the current state of every target. Methods are safe for
// concurrent use.
type Tracker struct {
	store     Store
	logger    *slog.Logger
	startedAt time.Time

	mu      sync.Mutex
	opts    Options
	targets map[string]*Target
}

// New restores the last known states from the store. Targets that were UP
// get a fresh deadline from startedAt plus the grace period: the time the
// collector itself was away is not their downtime.
func New(ctx context.Context, store Store, opts Options, startedAt time.Time, logger *slog.Logger) (*Tracker, error) {
	t := &Tracker{store: store, logger: logger, startedAt: startedAt, opts: opts, targets: map[string]*Target{}}
	changes, err := store.LatestChanges(ctx)
	if err != nil {
		return nil, fmt.Errorf("load target states: %w", err)
	}
	for _, c := range changes {
		t.targets[c.Target] = &Target{Name: c.Target, Kind: c.Kind, State: c.To, Since: c.At, LastSeen: startedAt, Interval: opts.DefaultInterval}
	}
	return t, nil
}

// SetOptions applies new thresholds after a reload.
func (t *Tracker) SetOptions(o Options) {
	t.mu.Lock()
	t.opts = o
	t.mu.Unlock()
}

// Observe records data from a host at now: it is UP. interval is the
// host's announced push interval (0: the default).
func (t *Tracker) Observe(ctx context.Context, name, id string, labels map[string]string, interval time.Duration, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tg := t.targets[name]
	if tg == nil {
		tg = &Target{Name: name, Kind: KindHost, State: Unknown, Since: now}
		t.targets[name] = tg
	}
	tg.ID = id
	if labels != nil && !maps.Equal(tg.Labels, labels) {
		tg.Labels = labels
	}
	if interval <= 0 {
		interval = t.opts.DefaultInterval
	}
	tg.Interval = interval
	if now.After(tg.LastSeen) {
		tg.LastSeen = now
	}
	return t.change(ctx, tg, Up, now, "data received")
}

// Goodbye records a clean stop announced by the host.
func (t *Tracker) Goodbye(ctx context.Context, name string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tg := t.targets[name]
	if tg == nil {
		return nil
	}
	return t.change(ctx, tg, Shutdown, now, "agent said goodbye")
}

// Check marks DOWN every UP host that has sent nothing for DownAfter of
// its intervals (and never before the grace period after start ends).
func (t *Tracker) Check(ctx context.Context, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.startedAt.Add(t.opts.Grace)) {
		return nil
	}
	var firstErr error
	for _, tg := range t.targets {
		if tg.Kind != KindHost || tg.State != Up {
			continue
		}
		deadline := tg.LastSeen.Add(time.Duration(t.opts.DownAfter) * tg.Interval)
		if tg.LastSeen.Equal(t.startedAt) {
			deadline = deadline.Add(t.opts.Grace)
		}
		if now.After(deadline) {
			// The outage began when the first expected push did not arrive;
			// it is detected DownAfter intervals later.
			cause := fmt.Sprintf("no data for %d intervals of %s", t.opts.DownAfter, tg.Interval)
			if err := t.change(ctx, tg, Down, tg.LastSeen.Add(tg.Interval), cause); err != nil && firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr
}

// change moves tg to state to at `at`, durably. It is a no-op when the
// state is unchanged. On a store error the in-memory state is left as it
// was, so the next call retries.
func (t *Tracker) change(ctx context.Context, tg *Target, to State, at time.Time, cause string) error {
	if tg.State == to {
		return nil
	}
	c := Change{Target: tg.Name, Kind: tg.Kind, From: tg.State, To: to, At: at, Cause: cause}
	if err := t.store.RecordChange(ctx, c); err != nil {
		return fmt.Errorf("record state change of %s: %w", tg.Name, err)
	}
	tg.State, tg.Since = to, at
	t.logger.Info("target state changed", "target", tg.Name, "kind", tg.Kind, "from", c.From, "to", to, "cause", cause)
	return nil
}

// Snapshot returns a copy of every target, sorted by name.
func (t *Tracker) Snapshot() []Target {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Target, 0, len(t.targets))
	for _, tg := range t.targets {
		c := *tg
		c.Labels = maps.Clone(tg.Labels)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Target) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}
