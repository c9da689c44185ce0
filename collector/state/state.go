// Package state tracks the availability of every target (host, device,
// check): UP, DOWN, UNKNOWN, MAINTENANCE or SHUTDOWN, with each change
// written durably to the store with its time and cause. That history is
// what availability and SLA figures are computed from.
package state

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
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
	KindHost      Kind = "host"
	KindDevice    Kind = "device"
	KindCheck     Kind = "check"
	KindInterface Kind = "interface" // a monitored interface of a device: "<device>/<ifName>"
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
// use.
type Store interface {
	// RecordChanges appends changes to the history in their order, all or
	// none (one transaction), durably when it returns nil.
	RecordChanges(ctx context.Context, changes []Change) error
	// LatestChanges returns the newest change of every target.
	LatestChanges(ctx context.Context) ([]Change, error)
	// SaveTarget records what is known of a target besides its state,
	// replacing what was saved under its name; durable when it returns.
	SaveTarget(ctx context.Context, info Info) error
	// Targets returns every saved target's Info.
	Targets(ctx context.Context) ([]Info, error)
}

// TargetsSaver is a Store that saves many targets' Infos at once (one
// transaction, all or none); the tracker uses it when its store offers
// it, so a fleet registering at once is not one commit per host.
type TargetsSaver interface {
	SaveTargets(ctx context.Context, infos []Info) error
}

// Info is what the collector knows of a target besides its state: the
// sender's labels, its push interval, its metrics address and agent ID.
// It is kept in the store and restored at start, so a restart changes
// nothing a decision depends on (an alert's labels and so its identity, a
// service's label-selected components, service discovery).
type Info struct {
	Name           string            `json:"name"`
	Kind           Kind              `json:"kind"`
	ID             string            `json:"id,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"` // the sender's own, before declared labels
	Interval       time.Duration     `json:"interval_ns"`
	MetricsAddress string            `json:"metrics_address,omitempty"`
	// Goodbye: the host's last word was a goodbye (a planned stop), so
	// it is SHUTDOWN, not DOWN, when a maintenance window ends.
	Goodbye bool `json:"goodbye,omitempty"`
}

func (tg *Target) info() Info {
	return Info{Name: tg.Name, Kind: tg.Kind, ID: tg.ID, Labels: tg.agentLabels, Interval: tg.Interval, MetricsAddress: tg.MetricsAddress,
		Goodbye: tg.saidGoodbye}
}

// sameInfo reports whether two Infos hold the same facts.
func sameInfo(a, b Info) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.ID == b.ID && maps.Equal(a.Labels, b.Labels) &&
		a.Interval == b.Interval && a.MetricsAddress == b.MetricsAddress && a.Goodbye == b.Goodbye
}

// Target is a tracked target's current view.
type Target struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	ID   string `json:"id,omitempty"`
	// Labels are the sender's labels overlaid by the declared ones. The
	// tracker never changes a label map once set (it sets a new one), so
	// Snapshot and States hand out its own.
	Labels   map[string]string `json:"labels,omitempty"`
	State    State             `json:"state"`
	Since    time.Time         `json:"since"`
	Cause    string            `json:"cause,omitempty"`
	LastSeen time.Time         `json:"last_seen"`
	Interval time.Duration     `json:"interval_ns"`
	// Declared is true for targets listed in the configured inventory.
	Declared bool `json:"declared"`
	// MetricsAddress is where the target serves its own /metrics
	// (host:port), for Prometheus service discovery.
	MetricsAddress string `json:"metrics_address,omitempty"`
	// Failures counts consecutive failed checks (checks only).
	Failures int `json:"failures,omitempty"`

	agentLabels map[string]string
	saved       Info // what the store holds (or is about to) of it
	// waitingSince is when the maintenance window a silent host was in
	// ended (zero otherwise): its deadline runs from then.
	waitingSince time.Time
	// saidGoodbye: its last word was a goodbye (not a push).
	saidGoodbye bool
}

// Observation is a sign of life from a target.
type Observation struct {
	Name           string
	Kind           Kind // default KindHost
	ID             string
	Labels         map[string]string // the sender's own labels
	Interval       time.Duration     // how often it reports; 0: the default
	MetricsAddress string
}

// Declared is a target listed in the configuration.
type Declared struct {
	Name   string
	Kind   Kind
	Labels map[string]string // win over the sender's own labels
}

// Inventory is what the configuration says about targets.
type Inventory struct {
	Declared []Declared
	// AutoRegister lets targets that are not declared register themselves
	// on first contact, when their name matches Allow (empty: any name).
	AutoRegister bool
	Allow        []*regexp.Regexp
	// MaxTargets bounds the hosts tracked (declared ones included;
	// devices, interfaces and checks come from the configuration and
	// are not counted): a host that would register itself beyond it is
	// refused with a *LimitError (0: no limit). Declared hosts are always
	// admitted.
	MaxTargets int
	// MaxNewPerMinute bounds how many undeclared hosts may register
	// themselves per minute (a token bucket of that size, refilled at
	// that rate; 0: no limit).
	MaxNewPerMinute int
}

// Reasons of a LimitError.
const (
	LimitMaxTargets = "max_targets"
	LimitNewRate    = "new_targets_rate"
)

// LimitError refuses a new target beyond the inventory's limits.
type LimitError struct {
	Name   string // the refused target
	Reason string // LimitMaxTargets or LimitNewRate
	Limit  int
}

func (e *LimitError) Error() string {
	if e.Reason == LimitNewRate {
		return fmt.Sprintf("new target %q refused: more than %d new targets in the last minute (inventory.max_new_targets_per_minute); retry later", e.Name, e.Limit)
	}
	return fmt.Sprintf("new target %q refused: the collector tracks %d hosts, its limit (inventory.max_targets)", e.Name, e.Limit)
}

// Window is a maintenance window: planned work during which the targets
// it covers are MAINTENANCE, not DOWN, open no incidents, and do not count
// against availability.
type Window struct {
	// ID is set for windows created through the API (0 for configured
	// ones).
	ID       int64             `json:"id,omitempty"`
	Name     string            `json:"name"`
	Targets  []string          `json:"targets,omitempty"`
	Selector map[string]string `json:"selector,omitempty"`
	// Services and Schedule are how the window was asked for: its
	// services' targets are in Targets, and a recurring window (on a
	// calendar) is laid out as its occurrences between From and To.
	Services []string  `json:"services,omitempty"`
	Schedule string    `json:"schedule,omitempty"`
	From     time.Time `json:"start"`
	To       time.Time `json:"end"`
	// Source is "config" or "api".
	Source    string    `json:"source"`
	CreatedBy string    `json:"created_by,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	// EndedBy is who ended the window early, if anyone.
	EndedBy string `json:"ended_by,omitempty"`
}

// Active reports whether the window is in force at now.
func (w *Window) Active(now time.Time) bool { return !now.Before(w.From) && now.Before(w.To) }

// Covers reports whether the window covers the named target with labels
// at any time (its time range aside).
func (w *Window) Covers(name string, labels map[string]string) bool {
	if slices.Contains(w.Targets, name) {
		return true
	}
	if len(w.Selector) == 0 {
		return false
	}
	for k, v := range w.Selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (w *Window) covers(tg *Target, now time.Time) bool {
	return w.Active(now) && w.Covers(tg.Name, tg.Labels)
}

// SetMaintenance replaces the maintenance windows; Check applies them.
func (t *Tracker) SetMaintenance(windows []Window) {
	t.mu.Lock()
	t.windows = windows
	t.mu.Unlock()
}

// InMaintenance names the maintenance window that covers the named
// target (with its tracked labels, or these when it is not tracked) at
// now, or "". Rules' alerts about it open no incident.
func (t *Tracker) InMaintenance(name string, labels map[string]string, now time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tg := t.targets[name]; tg != nil {
		labels = tg.Labels
	}
	for i := range t.windows {
		if t.windows[i].Active(now) && t.windows[i].Covers(name, labels) {
			return t.windows[i].Name
		}
	}
	return ""
}

// maintenance names the window covering tg at now, or "".
func (t *Tracker) maintenance(tg *Target, now time.Time) string {
	if w := t.window(tg, now); w != nil {
		return w.Name
	}
	return ""
}

func (t *Tracker) window(tg *Target, now time.Time) *Window {
	for i := range t.windows {
		if t.windows[i].covers(tg, now) {
			return &t.windows[i]
		}
	}
	return nil
}

// ErrNotAllowed is returned for an undeclared target that may not
// register itself.
var ErrNotAllowed = errors.New("target is not in the inventory and may not register itself")

// Options configure a Tracker.
type Options struct {
	// DownAfter is how many push intervals without data make a host DOWN.
	DownAfter int
	// Grace is extra time after the collector starts before any host can
	// go DOWN, so agents' queued data arrives first.
	Grace time.Duration
	// DefaultInterval applies to hosts that do not announce theirs.
	DefaultInterval time.Duration
	// CheckFailures is how many consecutive failed probes (checks, SNMP
	// polls) make the target DOWN.
	CheckFailures int
}

// Tracker holds the current state of every target. Methods are safe for
// concurrent use.
//
// Deciding and writing are apart: every method decides under mu (which
// every ingest push needs) and applies its decisions to the in-memory
// state at once, queueing the changes in decision order; the queue is
// written after mu is released, in one batch, by whoever holds wmu. A
// slow store therefore never holds up a push that changes nothing, and
// the durable history keeps the order the decisions were made in.
//
// A method that decided or finds queued a change of its target returns
// only once that change is durable, or with the write's error. A change
// whose write fails stays queued, ahead of later ones, and is written by
// the next flush (the next Check, within a second or so, or the next
// call about that target); the in-memory state keeps the decision, since
// it is what was observed. It is lost only if the collector stops before
// the store recovers (or past maxUnwritten, logged): the state restored
// at start is then the store's last.
type Tracker struct {
	store     Store
	logger    *slog.Logger
	startedAt time.Time

	// wmu serialises flushes. Lock order: wmu, then mu; mu is never held
	// across a store call.
	wmu sync.Mutex

	mu       sync.Mutex
	opts     Options
	windows  []Window
	inv      Inventory
	declared map[string]Declared
	targets  map[string]*Target
	// unwritten holds the decided changes not yet handed to the store,
	// oldest first.
	unwritten []Change
	// unsaved holds target Infos not yet handed to the store, by name.
	unsaved map[string]Info
	// newTokens is the bucket of Inventory.MaxNewPerMinute as of newAt
	// (newAt zero: full).
	newTokens float64
	newAt     time.Time
	// hosts counts the targets of kind host, for Inventory.MaxTargets.
	hosts int
}

// maxUnwritten bounds the changes kept while the store fails; past it
// the oldest are dropped (and logged).
const maxUnwritten = 100_000

// New restores the last known states from the store. Targets that were UP
// get a fresh deadline from startedAt plus the grace period: the time the
// collector itself was away is not their downtime.
func New(ctx context.Context, store Store, opts Options, startedAt time.Time, logger *slog.Logger) (*Tracker, error) {
	t := &Tracker{store: store, logger: logger, startedAt: startedAt, opts: opts, targets: map[string]*Target{}, declared: map[string]Declared{},
		inv: Inventory{AutoRegister: true}, unsaved: map[string]Info{}}
	changes, err := store.LatestChanges(ctx)
	if err != nil {
		return nil, fmt.Errorf("load target states: %w", err)
	}
	for _, c := range changes {
		tg := &Target{Name: c.Target, Kind: c.Kind, State: c.To, Since: c.At, Cause: c.Cause, LastSeen: startedAt, Interval: opts.DefaultInterval}
		if tg.Kind == KindHost && tg.State == Unknown {
			// A host is UNKNOWN only when a maintenance window ended
			// while it was silent: it is still waiting for its deadline.
			tg.waitingSince = tg.Since
		}
		t.targets[c.Target] = tg
	}
	infos, err := store.Targets(ctx)
	if err != nil {
		return nil, fmt.Errorf("load targets: %w", err)
	}
	for _, in := range infos {
		tg := t.targets[in.Name]
		if tg == nil {
			continue // never changed state: nothing to restore it to
		}
		tg.ID, tg.agentLabels, tg.MetricsAddress, tg.saidGoodbye, tg.saved = in.ID, in.Labels, in.MetricsAddress, in.Goodbye, in
		if in.Interval > 0 {
			tg.Interval = in.Interval
		}
		if in.Kind != "" {
			tg.Kind = in.Kind
		}
		t.applyLabels(tg)
	}
	t.countHosts()
	return t, nil
}

// countHosts recounts the targets of kind host. The caller holds mu.
func (t *Tracker) countHosts() {
	t.hosts = 0
	for _, tg := range t.targets {
		if tg.Kind == KindHost {
			t.hosts++
		}
	}
}

// noteInfo queues tg's Info for the store when it differs from what was
// saved last. The caller holds mu.
func (t *Tracker) noteInfo(tg *Target) {
	in := tg.info()
	if sameInfo(in, tg.saved) {
		return
	}
	tg.saved = in
	if t.unsaved == nil {
		t.unsaved = map[string]Info{}
	}
	t.unsaved[tg.Name] = in
}

// SetOptions applies new thresholds after a reload.
func (t *Tracker) SetOptions(o Options) {
	t.mu.Lock()
	t.opts = o
	t.mu.Unlock()
}

// SetInventory applies the configured inventory: declared targets that
// never reported are listed as UNKNOWN, and declared labels are applied.
func (t *Tracker) SetInventory(inv Inventory, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inv = inv
	t.declared = make(map[string]Declared, len(inv.Declared))
	for _, d := range inv.Declared {
		if d.Kind == "" {
			d.Kind = KindHost
		}
		t.declared[d.Name] = d
		tg := t.targets[d.Name]
		if tg == nil {
			tg = &Target{Name: d.Name, Kind: d.Kind, State: Unknown, Since: now, Cause: "declared, no data yet", Interval: t.opts.DefaultInterval}
			t.targets[d.Name] = tg
		}
		tg.Kind = d.Kind
	}
	for _, tg := range t.targets {
		t.applyLabels(tg)
	}
	t.countHosts()
}

// AgentID returns the agent ID of the target called name (pinned at its
// first push, restored at start) and whether the target is known.
func (t *Tracker) AgentID(name string) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tg := t.targets[name]; tg != nil {
		return tg.ID, true
	}
	return "", false
}

// Admit reports whether a target of this name may report: declared, or
// allowed to register itself (within the inventory's limits as of the
// last registration).
func (t *Tracker) Admit(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.admit(name, KindHost, t.newAt, false) == nil
}

// AdmitAt is Admit with the reason: nil, ErrNotAllowed, or a *LimitError
// for a new target beyond Inventory.MaxTargets or MaxNewPerMinute at now.
// It reserves nothing: Observe decides again.
func (t *Tracker) AdmitAt(name string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.admit(name, KindHost, now, false)
}

// admit decides whether name, of kind, may report at now; consume takes
// a token of the new-target bucket when it is a new host that may
// register. The target limits apply to hosts only. The caller holds mu.
func (t *Tracker) admit(name string, kind Kind, now time.Time, consume bool) error {
	if _, ok := t.declared[name]; ok {
		return nil
	}
	if _, known := t.targets[name]; known && t.inv.AutoRegister {
		return nil
	}
	if !t.inv.AutoRegister {
		return ErrNotAllowed
	}
	if len(t.inv.Allow) > 0 && !slices.ContainsFunc(t.inv.Allow, func(re *regexp.Regexp) bool { return re.MatchString(name) }) {
		return ErrNotAllowed
	}
	if kind != KindHost {
		return nil
	}
	if m := t.inv.MaxTargets; m > 0 && t.hosts >= m {
		return &LimitError{Name: name, Reason: LimitMaxTargets, Limit: m}
	}
	if m := t.inv.MaxNewPerMinute; m > 0 {
		tokens := t.tokens(now)
		if tokens < 1 {
			return &LimitError{Name: name, Reason: LimitNewRate, Limit: m}
		}
		if consume {
			t.newTokens, t.newAt = tokens-1, maxTime(t.newAt, now)
		}
	}
	return nil
}

// tokens is the new-target bucket's content at now. The caller holds mu.
func (t *Tracker) tokens(now time.Time) float64 {
	full := float64(t.inv.MaxNewPerMinute)
	if t.newAt.IsZero() {
		return full
	}
	if !now.After(t.newAt) {
		return min(t.newTokens, full)
	}
	return min(full, t.newTokens+now.Sub(t.newAt).Minutes()*full)
}

// applyLabels sets tg.Labels to the sender's labels overlaid by the
// declared ones.
func (t *Tracker) applyLabels(tg *Target) {
	d, declared := t.declared[tg.Name]
	tg.Declared = declared
	if !declared || len(d.Labels) == 0 {
		tg.Labels = tg.agentLabels
		return
	}
	m := maps.Clone(tg.agentLabels)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, d.Labels)
	tg.Labels = m
}

// Observe records a sign of life from a target at now: it is UP. An
// undeclared target that may not register itself gets ErrNotAllowed.
func (t *Tracker) Observe(ctx context.Context, o Observation, now time.Time) error {
	return t.apply(ctx, o.Name, func() error { return t.observe(o, now) })
}

// ObserveUnwritten is Observe for a caller that observes many targets
// at once (the hosts of a /write): it leaves writing the state changes
// the observation caused to the caller, who calls Flush before it
// answers when unwritten is true. A thousand new hosts then cost one
// write, not a thousand.
func (t *Tracker) ObserveUnwritten(o Observation, now time.Time) (unwritten bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.observe(o, now); err != nil {
		return false, err
	}
	return slices.ContainsFunc(t.unwritten, func(c Change) bool { return c.Target == o.Name }), nil
}

func (t *Tracker) observe(o Observation, now time.Time) error {
	if o.Kind == "" {
		o.Kind = KindHost
	}
	if err := t.admit(o.Name, o.Kind, now, true); err != nil {
		return err
	}
	tg := t.targets[o.Name]
	if tg == nil {
		tg = &Target{Name: o.Name, Kind: o.Kind, State: Unknown, Since: now}
		t.targets[o.Name] = tg
		if tg.Kind == KindHost {
			t.hosts++
		}
	}
	tg.ID = o.ID
	if o.MetricsAddress != "" {
		tg.MetricsAddress = o.MetricsAddress
	}
	if o.Labels != nil && !maps.Equal(tg.agentLabels, o.Labels) {
		tg.agentLabels = o.Labels
		t.applyLabels(tg)
	}
	interval := o.Interval
	if interval <= 0 {
		interval = t.opts.DefaultInterval
	}
	tg.Interval = interval
	if now.After(tg.LastSeen) {
		tg.LastSeen = now
	}
	tg.Failures, tg.saidGoodbye = 0, false
	defer t.noteInfo(tg)
	if tg.State == Maintenance || t.maintenance(tg, now) != "" {
		return nil // signs of life during planned work change nothing else
	}
	tg.waitingSince = time.Time{}
	t.change(tg, Up, now, "data received")
	return nil
}

// Alive records a sign of life of a known host whose push the collector
// refused (overloaded): the push proves the host is up, so the
// collector's own trouble never makes it DOWN. It only moves LastSeen
// (and a DOWN host back UP); unknown targets and pushes whose agent ID is
// not the one pinned to the host are ignored (false).
func (t *Tracker) Alive(ctx context.Context, name, id string, now time.Time) (bool, error) {
	var ok bool
	err := t.apply(ctx, name, func() error {
		tg := t.targets[name]
		if tg == nil || tg.Kind != KindHost || (tg.ID != "" && tg.ID != name && id != tg.ID) {
			return nil
		}
		ok = true
		if now.After(tg.LastSeen) {
			tg.LastSeen = now
		}
		if tg.State == Down && t.maintenance(tg, now) == "" {
			t.change(tg, Up, now, "push refused by the overloaded collector; the host is alive")
		}
		return nil
	})
	return ok, err
}

// Probe is the outcome of one active probe of a target: a check run by
// the collector, an SNMP poll of a device.
type Probe struct {
	Name     string
	Kind     Kind // KindCheck or KindDevice
	Labels   map[string]string
	Interval time.Duration
	OK       bool
	Cause    string // why it failed
	// AdminDown: switched off on purpose (an interface set
	// administratively down): SHUTDOWN, not an outage.
	AdminDown bool
	// Immediate: a failure the device itself reported (a linkDown trap):
	// DOWN at once, without waiting for CheckFailures.
	Immediate bool
	// Unknown: the probe could not be made (the device holding a
	// monitored interface does not answer): UNKNOWN, with Cause, after as
	// many consecutive failures as DOWN would take, until a probe is made
	// again.
	Unknown bool
}

// ProbeResult records a probe's outcome at now. The target goes DOWN after
// Options.CheckFailures consecutive failures and UP on the first success.
func (t *Tracker) ProbeResult(ctx context.Context, p Probe, now time.Time) error {
	if p.OK && !p.AdminDown {
		return t.Observe(ctx, Observation{Name: p.Name, Kind: p.Kind, Labels: p.Labels, Interval: p.Interval}, now)
	}
	return t.apply(ctx, p.Name, func() error {
		tg := t.probed(p, now)
		defer t.noteInfo(tg)
		switch {
		case p.AdminDown:
			tg.LastSeen, tg.Failures = now, 0
			t.change(tg, Shutdown, now, cmp.Or(p.Cause, "administratively down"))
		case tg.State == Maintenance || t.maintenance(tg, now) != "":
			tg.Failures++ // failures during planned work are expected
		case p.Unknown:
			// The probe could not be made (its device does not answer).
			tg.Failures++
			if tg.Failures >= max(t.opts.CheckFailures, 1) {
				t.change(tg, Unknown, now, p.Cause)
			}
		default:
			tg.Failures++
			if tg.Failures >= max(t.opts.CheckFailures, 1) || p.Immediate {
				t.change(tg, Down, now, p.Cause)
			}
		}
		return nil
	})
}

// probed returns the probed target, created at its first probe, with the
// probe's (configured) labels: a target restored after a restart or
// reconfigured gets them even while it fails.
func (t *Tracker) probed(p Probe, now time.Time) *Target {
	tg := t.targets[p.Name]
	if tg == nil {
		tg = &Target{Name: p.Name, Kind: p.Kind, State: Unknown, Since: now}
		t.targets[p.Name] = tg
		if tg.Kind == KindHost {
			t.hosts++
		}
	}
	if p.Interval > 0 {
		tg.Interval = p.Interval
	}
	if p.Labels != nil && !maps.Equal(tg.agentLabels, p.Labels) {
		tg.agentLabels = p.Labels
		t.applyLabels(tg)
	}
	return tg
}

// Goodbye records a clean stop announced by the host.
func (t *Tracker) Goodbye(ctx context.Context, name string, now time.Time) error {
	return t.apply(ctx, name, func() error {
		if tg := t.targets[name]; tg != nil {
			tg.saidGoodbye, tg.waitingSince = true, time.Time{}
			t.change(tg, Shutdown, now, "agent said goodbye")
			t.noteInfo(tg)
		}
		return nil
	})
}

// End ends the targets called names (checks and devices removed from
// the configuration): each is recorded SHUTDOWN with cause, then no longer
// tracked. A name not tracked is skipped; it returns those it ended.
func (t *Tracker) End(ctx context.Context, names []string, now time.Time, cause string) ([]string, error) {
	var ended []string
	err := t.apply(ctx, "", func() error {
		for _, name := range names {
			tg := t.targets[name]
			if tg == nil {
				continue
			}
			t.change(tg, Shutdown, now, cause)
			delete(t.targets, name)
			delete(t.unsaved, name)
			ended = append(ended, name)
		}
		t.countHosts()
		return nil
	})
	return ended, err
}

// Check marks DOWN every UP host that has sent nothing for DownAfter of
// its intervals (and never before the grace period after start ends),
// moves targets into and out of maintenance windows, and writes every
// change still unwritten, in one batch.
func (t *Tracker) Check(ctx context.Context, now time.Time) error {
	return t.apply(ctx, "", func() error { t.check(now); return nil })
}

func (t *Tracker) check(now time.Time) {
	// Maintenance windows: enter and leave.
	for _, tg := range t.targets {
		w := t.window(tg, now)
		switch {
		case w != nil && tg.State != Maintenance:
			// Recorded at the window's start (checks run every second or
			// so), so availability is exact to the window.
			at := w.From
			if tg.Since.After(at) {
				at = tg.Since
			}
			t.change(tg, Maintenance, at, "maintenance window "+w.Name)
		case w == nil && tg.State == Maintenance:
			at := t.endedWindow(tg, now)
			// Back from planned work: UP if it reported recently; SHUTDOWN
			// if its last word was a goodbye; otherwise UNKNOWN until it
			// reports (hosts: DOWN from the window's end once its deadline
			// passes, below) or is probed (devices, checks).
			next, cause := Unknown, "maintenance ended; waiting for data"
			switch {
			case tg.Kind == KindHost && tg.saidGoodbye:
				next, cause = Shutdown, "maintenance ended; the agent had said goodbye"
			case tg.Kind == KindHost && now.Sub(tg.LastSeen) <= time.Duration(t.opts.DownAfter)*tg.Interval:
				next, cause = Up, "maintenance ended; reporting"
			}
			tg.Failures = 0
			t.change(tg, next, at, cause)
			if next == Unknown && tg.Kind == KindHost {
				tg.waitingSince = tg.Since
			}
		}
	}
	if now.Before(t.startedAt.Add(t.opts.Grace)) {
		return
	}
	for _, tg := range t.targets {
		if tg.Kind != KindHost {
			continue
		}
		switch {
		case tg.State == Up:
			deadline := tg.LastSeen.Add(time.Duration(t.opts.DownAfter) * tg.Interval)
			if tg.LastSeen.Equal(t.startedAt) {
				deadline = deadline.Add(t.opts.Grace)
			}
			if now.After(deadline) {
				// The outage began when the first expected push did not
				// arrive; it is detected DownAfter intervals later.
				cause := fmt.Sprintf("no data for %d intervals of %s", t.opts.DownAfter, tg.Interval)
				t.change(tg, Down, tg.LastSeen.Add(tg.Interval), cause)
			}
		case tg.State == Unknown && !tg.waitingSince.IsZero():
			// Silent since a maintenance window ended: its deadline
			// counts from the window's end (or a later sign of life), and
			// the outage from the window's end.
			base := maxTime(tg.LastSeen, tg.waitingSince)
			deadline := base.Add(time.Duration(t.opts.DownAfter) * tg.Interval)
			if base.Equal(t.startedAt) {
				deadline = deadline.Add(t.opts.Grace)
			}
			if now.After(deadline) {
				cause := fmt.Sprintf("no data for %d intervals of %s after the maintenance window ended", t.opts.DownAfter, tg.Interval)
				t.change(tg, Down, maxTime(tg.waitingSince, tg.LastSeen.Add(tg.Interval)), cause)
				tg.waitingSince = time.Time{}
			}
		}
	}
}

// change moves tg to state to at `at` and queues the change for the
// store. It is a no-op when the state is unchanged. The caller holds mu.
func (t *Tracker) change(tg *Target, to State, at time.Time, cause string) {
	if tg.State == to {
		return
	}
	if at.Before(tg.Since) {
		// A change dated back (DOWN from the first missed push) never
		// reaches before the state it ends began: history only goes on.
		at = tg.Since
	}
	c := Change{Target: tg.Name, Kind: tg.Kind, From: tg.State, To: to, At: at, Cause: cause}
	tg.State, tg.Since, tg.Cause = to, at, cause
	t.unwritten = append(t.unwritten, c)
	t.bound()
	t.logger.Info("target state changed", "target", tg.Name, "kind", tg.Kind, "from", c.From, "to", to, "cause", cause)
}

// bound drops the oldest unwritten changes past maxUnwritten. The caller
// holds mu.
func (t *Tracker) bound() {
	if n := len(t.unwritten) - maxUnwritten; n > 0 {
		t.logger.Error("state changes dropped unwritten: the store has been failing", "dropped", n, "oldest_at", t.unwritten[0].At)
		t.unwritten = slices.Delete(t.unwritten, 0, n)
	}
}

// apply runs decide under mu, then, with mu released, writes the queued
// changes if any of them is about target (any target when target is "").
// A push that changes nothing thus returns without waiting for a write in
// flight.
func (t *Tracker) apply(ctx context.Context, target string, decide func() error) error {
	t.mu.Lock()
	err := decide()
	// Infos (labels, interval...) need not be durable before a push is
	// answered: a Check writes them within a second or so, or the next
	// state change's flush.
	write := slices.ContainsFunc(t.unwritten, func(c Change) bool { return target == "" || c.Target == target }) ||
		(target == "" && len(t.unsaved) > 0)
	t.mu.Unlock()
	if err != nil || !write {
		return err
	}
	return t.flush(ctx)
}

// Resync makes the stored history agree with the tracker: for each
// target whose newest stored change ends in another state than the
// tracker's, a change from the stored state to the tracker's is written
// (dated when the tracker's state began, never before the stored
// change). A collector that takes the lead of an HA pair calls it: as a
// follower it decided states without writing them (its store wrapper
// declined), and the previous leader may have died before writing its
// last ones. It returns how many changes it wrote.
func (t *Tracker) Resync(ctx context.Context) (int, error) {
	latest, err := t.store.LatestChanges(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the stored states: %w", err)
	}
	stored := make(map[string]Change, len(latest))
	for _, c := range latest {
		stored[c.Target] = c
	}
	t.mu.Lock()
	n := 0
	for _, tg := range t.targets {
		prev, ok := stored[tg.Name]
		from, at := Unknown, tg.Since
		if ok {
			if prev.To == tg.State {
				continue
			}
			from = prev.To
			if at.Before(prev.At) {
				at = prev.At
			}
		} else if tg.State == Unknown {
			continue
		}
		t.unwritten = append(t.unwritten, Change{Target: tg.Name, Kind: tg.Kind, From: from, To: tg.State, At: at, Cause: tg.Cause})
		n++
	}
	t.bound()
	t.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	return n, t.flush(ctx)
}

// Flush writes what is decided and not yet written (state changes and
// what is known of targets), as at a clean stop.
func (t *Tracker) Flush(ctx context.Context) error { return t.flush(ctx) }

// flush writes every queued change, oldest first, in one batch. On a
// store error the batch goes back to the head of the queue, so the next
// flush retries it before anything decided since.
func (t *Tracker) flush(ctx context.Context) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	batch, infos := t.unwritten, t.unsaved
	t.unwritten, t.unsaved = nil, map[string]Info{}
	t.mu.Unlock()
	var errs []error
	if len(batch) > 0 {
		if err := t.store.RecordChanges(ctx, batch); err != nil {
			t.mu.Lock()
			t.unwritten = append(batch, t.unwritten...)
			t.bound()
			t.mu.Unlock()
			errs = append(errs, fmt.Errorf("record %d state changes (%s first, kept to retry): %w", len(batch), batch[0].Target, err))
		}
	}
	retry := func(name string, in Info) {
		t.mu.Lock()
		if _, newer := t.unsaved[name]; !newer {
			t.unsaved[name] = in // kept to retry, unless superseded
		}
		t.mu.Unlock()
	}
	if ts, ok := t.store.(TargetsSaver); ok && len(infos) > 1 {
		list := slices.Collect(maps.Values(infos))
		slices.SortFunc(list, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
		if err := ts.SaveTargets(ctx, list); err != nil {
			for _, in := range list {
				retry(in.Name, in)
			}
			errs = append(errs, fmt.Errorf("record %d targets (%s first, kept to retry): %w", len(list), list[0].Name, err))
		}
		return errors.Join(errs...)
	}
	for name, in := range infos {
		if err := t.store.SaveTarget(ctx, in); err != nil {
			retry(name, in)
			errs = append(errs, fmt.Errorf("record target %s (kept to retry): %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Snapshot returns a copy of every target, sorted by name. Labels are
// the tracker's own maps, which it never changes (new labels are a new
// map): read them, never write them. The copy is made under the
// tracker's lock, the sort after it, so pushes do not wait for the sort
// (at 30,000 targets, cloning every label map took most of a Snapshot's
// 35 ms and 19 MB).
func (t *Tracker) Snapshot() []Target { return t.Select(nil) }

// Select is Snapshot of the targets keep accepts (all when keep is nil):
// a caller that wants a few of many (the API's ?state=down) copies only
// those. keep runs under the tracker's lock: it must only read the
// target, and not keep it.
func (t *Tracker) Select(keep func(*Target) bool) []Target {
	t.mu.Lock()
	var out []Target
	if keep == nil {
		out = make([]Target, 0, len(t.targets))
	}
	for _, tg := range t.targets {
		if keep != nil && !keep(tg) {
			continue
		}
		out = append(out, *tg)
		c := &out[len(out)-1]
		c.agentLabels, c.saved = nil, Info{}
	}
	t.mu.Unlock()
	// Sorted by moving indexes, then each Target once (about 300
	// bytes; sorting them in place took most of a Snapshot's time).
	order := make([]int, len(out))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(out[a].Name, out[b].Name) })
	// out[i] becomes out[order[i]], one cycle of the permutation at a
	// time; a position done is marked -1.
	for i := range order {
		if order[i] == i || order[i] < 0 {
			continue
		}
		first, j := out[i], i
		for {
			k := order[j]
			order[j] = -1
			if k == i {
				out[j] = first
				break
			}
			out[j], j = out[k], k
		}
	}
	return out
}

// StateView is what the collector publishes of a target as series.
// Labels is the tracker's own map, which the tracker never changes (a
// new label set is a new map): read it, never write it.
type StateView struct {
	Name   string
	Kind   Kind
	Labels map[string]string
	State  State
}

// States appends every target's StateView to dst[:0], in no order, and
// returns it: what Snapshot gives without copying labels, sorting or
// allocating (when dst has room), for a caller that reads every target
// every check interval.
func (t *Tracker) States(dst []StateView) []StateView {
	dst = dst[:0]
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tg := range t.targets {
		dst = append(dst, StateView{Name: tg.Name, Kind: tg.Kind, Labels: tg.Labels, State: tg.State})
	}
	return dst
}

// endedWindow is when the maintenance window tg is leaving ended: the
// latest end, by now and not before tg entered it, of the windows that
// cover it; now when none does (a window removed from the configuration).
func (t *Tracker) endedWindow(tg *Target, now time.Time) time.Time {
	var at time.Time
	for i := range t.windows {
		w := &t.windows[i]
		if w.To.After(now) || w.To.Before(tg.Since) || !w.Covers(tg.Name, tg.Labels) {
			continue
		}
		at = maxTime(at, w.To)
	}
	if at.IsZero() {
		return now
	}
	return at
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
