// Package collector wires the nines-collector server: ingest, the
// availability tracker, the recent-sample window, rule evaluation,
// incidents, the REST API and /metrics. It holds the schedule and the
// reload logic, not the domain logic of its parts.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/email"
	"github.com/ninesmon/nines/alerting/ticketsync"
	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/check"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/forward"
	"github.com/ninesmon/nines/collector/ingest"
	"github.com/ninesmon/nines/collector/leader"
	"github.com/ninesmon/nines/collector/promapi"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/shard"
	"github.com/ninesmon/nines/collector/snmp"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/web"
	"github.com/ninesmon/nines/internal/buildinfo"
	"github.com/ninesmon/nines/internal/wire"
	"github.com/ninesmon/nines/rules"
)

// ShutdownTimeout bounds the stop sequence.
const ShutdownTimeout = 5 * time.Second

// Collector is one running collector. Create it with New, start it with
// Run; Reload may be called while it runs.
type Collector struct {
	logger     *slog.Logger
	store      store.Store
	samples    *samples.Store
	tracker    *state.Tracker
	incidents  *alerting.Manager
	rules      *rules.Manager
	auth       *auth.Authenticator
	registry   *prometheus.Registry
	runID      int64
	reloadFn   func() (*config.Config, error)
	sources    []Source
	checks     *check.Runner
	poller     *snmp.Poller
	traps      *snmp.TrapReceiver
	forwarder  *forward.Forwarder
	slos       *servicelevel.SLO
	dispatcher *alerting.Dispatcher
	sla        *servicelevel.SLA
	levels     servicelevel.Sources
	monthly    *servicelevel.Monthly
	prom       *promapi.API    // Prometheus's query API over the window
	appender   ingest.Appender // the window, and the forwarder when one is configured
	own        *ownSeries      // the collector's own series into the window
	openSeries incidentSeries  // the open incidents into the window
	states     StatePublisher  // the target states into the window
	// storeHealth follows the writes the collector's duties make.
	storeHealth *storeHealth
	ui          *web.UI
	board       web.Data // what the UI shows
	// syncersChanged tells the goroutine that owns the ticket syncers
	// that a reload replaced them.
	syncersChanged chan struct{}

	listening chan struct{} // closed once Run listens

	// reloadMu makes reloads (SIGHUP, POST /-/reload) one at a time.
	reloadMu sync.Mutex

	mu        sync.Mutex
	cfg       *config.Config
	notifiers map[string]alerting.Notifier
	syncers   []*ticketsync.Syncer // follow the tickets of two-way receivers

	reloadOK   prometheus.Gauge
	reloadTime prometheus.Gauge

	// lease says whether this collector leads its HA pair (always, on
	// SQLite); statesSkipped counts the state changes it left to the
	// leader as follower (see ha.go).
	lease         *leader.Lease
	statesSkipped atomic.Int64

	// heartbeat is how often the run records it is alive. members and
	// feed split and share the probing among the collectors sharing a
	// PostgreSQL (nil on SQLite: see sharding.go).
	heartbeat time.Duration
	members   *shard.Membership
	feed      *shard.Feed
}

// New opens the store and builds every part from cfg. reload, when not
// nil, is how POST /-/reload gets a fresh configuration.
func New(ctx context.Context, cfg *config.Config, logger *slog.Logger, reload func() (*config.Config, error)) (*Collector, error) {
	now := time.Now()
	st, err := OpenStore(ctx, cfg.Storage, logger)
	if err != nil {
		return nil, err
	}
	c := &Collector{logger: logger, store: st, cfg: cfg, reloadFn: reload, registry: prometheus.NewRegistry(), listening: make(chan struct{})}
	fail := func(err error) (*Collector, error) {
		st.Close()
		return nil, err
	}
	runID, prevAlive, err := st.StartRun(ctx, now)
	if err != nil {
		return fail(fmt.Errorf("record collector start: %w", err))
	}
	c.runID = runID
	c.heartbeat = cfg.Storage.HeartbeatInterval.D()
	if c.heartbeat <= 0 {
		c.heartbeat = store.HeartbeatEvery
	}
	if !prevAlive.IsZero() {
		logger.Info("collector was not observing; the gap is not target downtime",
			"from", prevAlive.Format(time.RFC3339), "to", now.Format(time.RFC3339), "gap", now.Sub(prevAlive).Round(time.Second))
	}
	c.samples = samples.New(cfg.Storage.SamplesRetention.D(), cfg.Storage.MaxSeries, cfg.Ingest.MaxSeriesPerTarget)
	c.appender = c.samples
	c.own = newOwnSeries(c.samples, logger.With("component", "window"))
	c.storeHealth = newStoreHealth()
	if rw := cfg.Forward.RemoteWrite; rw != nil {
		c.forwarder = forward.New(forward.Options{
			URL: rw.URL, BearerToken: rw.BearerToken.Reveal(), QueueSize: rw.QueueSize, BatchSize: rw.BatchSize,
			FlushEvery: rw.FlushInterval.D(), Timeout: rw.Timeout.D(), ExternalTags: rw.ExternalLabels,
			Logger: logger.With("component", "forward"), Registerer: c.registry,
		})
		c.appender = tee{c.samples, c.forwarder}
	}
	if err := c.newLease(cfg, st); err != nil {
		return fail(err)
	}
	c.tracker, err = state.New(ctx, leaderStates{Store: st, lease: c.lease, skipped: &c.statesSkipped}, trackerOptions(cfg), now, logger.With("component", "state"))
	if err != nil {
		return fail(err)
	}
	c.tracker.SetInventory(inventory(cfg), now)
	if err := (maintenanceBook{c}).apply(ctx, now); err != nil {
		return fail(fmt.Errorf("read maintenance windows: %w", err))
	}
	c.incidents, err = alerting.NewManager(ctx, st, logger.With("component", "alerting"))
	if err != nil {
		return fail(err)
	}
	c.incidents.SetLeader(c.lease.IsLeader)
	c.incidents.SetPolicy(IncidentPolicy(cfg))
	c.incidents.SetDependencies(cfg.Dependencies)
	c.incidents.SetMaintenance(c.tracker.InMaintenance)
	rs, err := buildReceivers(cfg, st, c.incidents, logger)
	if err != nil {
		return fail(err)
	}
	c.incidents.SetReceivers(rs.names)
	c.incidents.SetSchedules(schedules(cfg))
	c.incidents.SetRoutes(routes(cfg))
	c.dispatcher = alerting.NewDispatcher(st, rs.notifiers, logger.With("component", "notify"), c.registry)
	c.dispatcher.Leads = c.lease.IsLeader
	c.notifiers, c.syncers = rs.notifiers, rs.syncers
	c.syncersChanged = make(chan struct{}, 1)
	c.rules = rules.NewManager(rules.Options{
		Queryable:       c.samples,
		Appender:        c.samples,
		Sink:            c.incidents,
		DefaultInterval: cfg.Rules.EvaluationInterval.D(),
		Logger:          logger.With("component", "rules"),
		StateStore:      leaderAlerts{StateStore: st, lease: c.lease},
		HoldUntil:       now.Add(cfg.Availability.StartupGrace.D()),
	})
	c.rules.Update(cfg.RuleFiles)
	away := time.Duration(0)
	if !prevAlive.IsZero() {
		away = now.Sub(prevAlive)
	}
	if n, err := c.rules.Restore(ctx, away, cfg.Rules.OutageTolerance.D()); err != nil {
		logger.Error("restore alert state", "err", err)
	} else if n > 0 {
		logger.Info("alert state restored", "alerts", n, "away", away.Round(time.Second))
	}
	c.auth = auth.New(cfg.Auth.Tokens)
	// Wrong bearer tokens and failed web logins share one allowance per
	// client address: a guesser gains nothing by using both.
	logins := auth.NewLimiter(auth.DefaultLimitOptions())
	c.auth.LimitFailures(auth.Failures{Limiter: logins, Audit: st, Logger: logger.With("component", "auth")})
	c.levels = servicelevel.Sources{History: st, Window: c.own, Config: c.config, Targets: c.tracker.Snapshot, Workers: st.ReadParallelism()}
	c.slos = servicelevel.NewSLO(c.levels)
	c.sla = servicelevel.NewSLA(c.levels)
	c.monthly = &servicelevel.Monthly{Sources: c.levels, Mailer: c.mailer, Logger: logger.With("component", "reports")}
	c.board = web.NewData(web.Sources{Config: c.config, Targets: c.tracker.Snapshot, SLA: c.sla, Reports: c.levels, Store: st,
		Policy: c.incidents, Charts: c.rules, Logger: logger.With("component", "web")})
	key, err := st.Secret(ctx, "web_session_key", 32)
	if err != nil {
		return fail(fmt.Errorf("web session key: %w", err))
	}
	c.ui, err = web.New(web.Options{
		Auth: c.auth, Incidents: st, Actions: c.incidents, Maintenance: maintenanceBook{c}, Audit: st, Logins: logins,
		Data:       c.board,
		SessionKey: key, SessionTTL: func() time.Duration { return c.config().Web.Wall.SessionTTL.D() },
		Location: func() *time.Location { return c.config().Web.Location() },
		Logger:   logger.With("component", "web"),
	})
	if err != nil {
		return fail(err)
	}
	c.prom = promapi.New(promapi.Options{
		Queryable: c.samples, Timeout: cfg.Query.Timeout.D(), MaxSamples: cfg.Query.MaxSamples,
		MaxConcurrency: cfg.Query.MaxConcurrency, LookbackDelta: cfg.Query.LookbackDelta.D(),
		Registerer: c.registry, Logger: logger.With("component", "promapi"),
	})
	c.checks = check.NewRunner(checkSpecs(cfg), logger.With("component", "check"))
	c.AddSource(SourceFunc(func(ctx context.Context, w Writer) error { return c.checks.Run(ctx, probeWriter{w, c.feed}) }))
	c.poller = snmp.NewPoller(snmpDevices(cfg), cfg.SNMP.MaxConcurrentPolls, logger.With("component", "snmp"))
	c.poller.SetModules(snmpModules(cfg))
	// Monitored interfaces known before this start follow their device
	// (UNKNOWN while it does not answer) before it answers once.
	c.poller.Restore(c.tracker.Snapshot())
	c.newShard(ctx, cfg, st, now)
	c.AddSource(SourceFunc(func(ctx context.Context, w Writer) error { return c.poller.Run(ctx, probeWriter{w, c.feed}) }))
	if tr := cfg.SNMP.Traps; tr != nil {
		to := trapOptions(cfg, logger.With("component", "traps"))
		to.Interface = c.poller.MonitoredInterface
		c.traps = snmp.NewTrapReceiver(to)
		// What a trap says (an interface down at once) reaches the other
		// collectors sharing the store, the leader among them, as polls do.
		c.AddSource(SourceFunc(func(ctx context.Context, w Writer) error { return c.traps.Run(ctx, probeWriter{w, c.feed}) }))
		// Refusals by reason, trap series refused by the per-device cap.
		c.registry.MustRegister(c.traps.Collectors()...)
	}

	c.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "nines_config_last_reload_successful", Help: "Whether the last configuration reload succeeded (1) or failed (0)."})
	c.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "nines_config_last_reload_success_timestamp_seconds", Help: "When the configuration was last loaded successfully (Unix time)."})
	c.reloadOK.Set(1)
	c.reloadTime.Set(float64(now.Unix()))
	c.incidents.Register(c.registry)
	c.registry.MustRegister(c.leaderMetrics()...)
	c.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		c.reloadOK, c.reloadTime, c.poller.Durations, c.own.failures, c.storeHealth.errors,
		&stateCollector{tracker: c.tracker, incidents: c.incidents, checks: c.checks, poller: c.poller, traps: c.traps},
		shardCollector{c},
		c.slos, c.sla, c.rules,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nines_samples_series", Help: "Series held in the in-memory recent window."},
			func() float64 { return float64(c.samples.NumSeries()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nines_build_info", Help: "Build information.", ConstLabels: prometheus.Labels{"version": buildinfo.Version, "revision": buildinfo.Revision}},
			func() float64 { return 1 }),
	)
	// Checks and devices removed while the collector was stopped end now.
	c.endRemoved(ctx, cfg, now)
	return c, nil
}

func trackerOptions(cfg *config.Config) state.Options {
	return state.Options{
		DownAfter:       cfg.Availability.DownAfterIntervals,
		Grace:           cfg.Availability.StartupGrace.D(),
		DefaultInterval: cfg.Availability.DefaultPushInterval.D(),
		CheckFailures:   cfg.Availability.CheckFailures,
	}
}

// tee stores a sample in the window and, once the window accepted it (so
// it is in order), forwards it.
type tee struct {
	window    *samples.Store
	forwarder *forward.Forwarder
}

func (t tee) Append(lset labels.Labels, ts int64, v float64) error {
	if err := t.window.Append(lset, ts, v); err != nil {
		return err
	}
	return t.forwarder.Append(lset, ts, v)
}

func sameForward(a, b config.Forward) bool {
	if a.RemoteWrite == nil || b.RemoteWrite == nil {
		return a.RemoteWrite == b.RemoteWrite
	}
	return a.RemoteWrite.URL == b.RemoteWrite.URL && a.RemoteWrite.BearerToken == b.RemoteWrite.BearerToken
}

func snmpDevices(cfg *config.Config) []snmp.Device {
	out := make([]snmp.Device, 0, len(cfg.Devices))
	for _, d := range cfg.Devices {
		ifs := snmp.Interfaces{Include: config.Regexps(d.Interfaces.Include), Exclude: config.Regexps(d.Interfaces.Exclude),
			Monitor: config.Regexps(d.Interfaces.Monitor)}
		for _, t := range d.Interfaces.Types {
			ifs.Types = append(ifs.Types, float64(t))
		}
		out = append(out, snmp.Device{
			Name: d.Name, Interval: d.Interval.D(), Labels: d.Labels, Modules: d.Modules, Interfaces: ifs,
			Target: snmp.Target{
				Address: d.Address, Version: d.Version, Community: d.Community.Reveal(),
				Timeout: d.Timeout.D(), Retries: d.Retries, MaxRepetitions: d.MaxRepetitions,
				V3: snmp.V3{Username: d.V3.Username, SecurityLevel: d.V3.SecurityLevel,
					AuthProtocol: d.V3.AuthProtocol, AuthPassphrase: d.V3.AuthPassphrase.Reveal(),
					PrivProtocol: d.V3.PrivProtocol, PrivPassphrase: d.V3.PrivPassphrase.Reveal()},
			},
		})
	}
	return out
}

// trapOptions are the trap receiver's settings; device addresses map
// trap sources to device names. (They change on restart only.)
func trapOptions(cfg *config.Config, logger *slog.Logger) snmp.TrapOptions {
	tr := cfg.SNMP.Traps
	o := snmp.TrapOptions{Address: tr.ListenAddress, AllowUnknown: tr.AllowUnknownSources, Devices: map[string]string{}, Logger: logger}
	for _, c := range tr.Communities {
		o.Communities = append(o.Communities, c.Reveal())
	}
	if v := tr.V3; v != nil {
		o.V3 = &snmp.V3{Username: v.Username, SecurityLevel: v.SecurityLevel, AuthProtocol: v.AuthProtocol,
			AuthPassphrase: v.AuthPassphrase.Reveal(), PrivProtocol: v.PrivProtocol, PrivPassphrase: v.PrivPassphrase.Reveal()}
	}
	for _, d := range cfg.Devices {
		host := d.Address
		if h, _, err := net.SplitHostPort(d.Address); err == nil {
			host = h
		}
		o.Devices[host] = d.Name
	}
	return o
}

func checkSpecs(cfg *config.Config) []check.Spec {
	out := make([]check.Spec, 0, len(cfg.Checks))
	for i := range cfg.Checks {
		out = append(out, cfg.Checks[i].Spec())
	}
	return out
}

// IncidentPolicy is the priority policy the configuration sets.
func IncidentPolicy(cfg *config.Config) alerting.Policy { return servicelevel.IncidentPolicy(cfg) }

// maintenance lays out the configured windows (see layout).
func maintenance(cfg *config.Config, now time.Time, targets []state.Target) []state.Window {
	out := make([]state.Window, 0, len(cfg.Maintenance))
	for i := range cfg.Maintenance {
		m := &cfg.Maintenance[i]
		w := state.Window{Name: m.Name, Targets: m.Targets, Selector: m.Selector, Services: m.Services, Schedule: m.Schedule, Source: "config"}
		if m.Schedule == "" {
			w.From, w.To = m.Times()
		}
		out = append(out, layout(cfg, w, now, targets)...)
	}
	return out
}

// layout turns a window as asked for into what the tracker applies: its
// services' targets added to Targets, and a recurring window (Schedule)
// as its occurrences from a day before now to a week after, within its
// From and To when set (refreshed as time goes).
func layout(cfg *config.Config, w state.Window, now time.Time, targets []state.Target) []state.Window {
	if len(w.Services) > 0 {
		names := slices.Clone(w.Targets)
		seen := map[string]bool{}
		for _, sv := range w.Services {
			names = append(names, servicelevel.TargetsOf(cfg, targets, sv, seen)...)
		}
		w.Targets = names
	}
	if w.Schedule == "" {
		return []state.Window{w}
	}
	cal := cfg.Calendar(w.Schedule)
	if cal == nil {
		return nil // its calendar was removed from the configuration
	}
	from, to := now.Add(-24*time.Hour), now.Add(8*24*time.Hour)
	if !w.From.IsZero() && w.From.After(from) {
		from = w.From
	}
	if !w.To.IsZero() && w.To.Before(to) {
		to = w.To
	}
	var out []state.Window
	if !to.After(from) {
		return nil
	}
	for _, sp := range cal.Spans(from, to) {
		occ := w
		occ.From, occ.To = sp.From, sp.To
		out = append(out, occ)
	}
	return out
}

func inventory(cfg *config.Config) state.Inventory {
	inv := state.Inventory{AutoRegister: cfg.Inventory.AutoRegister, Allow: cfg.Inventory.AllowRegexps(),
		MaxTargets: cfg.Inventory.MaxTargets, MaxNewPerMinute: cfg.Inventory.MaxNewTargetsPerMinute}
	for _, h := range cfg.Inventory.Hosts {
		inv.Declared = append(inv.Declared, state.Declared{Name: h.Name, Kind: state.KindHost, Labels: h.Labels})
	}
	return inv
}

// AddSource registers a source to run with the collector. Call it before
// Run.
func (c *Collector) AddSource(s Source) { c.sources = append(c.sources, s) }

// Reload applies a configuration that was already loaded and validated:
// tokens, rules, availability thresholds, receivers and routes. It builds
// what it needs first; when that fails it returns why and the running
// configuration stays. Listener and storage settings need a restart; a
// change to them is reported and ignored. Reloads run one at a time.
func (c *Collector) Reload(cfg *config.Config) error {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	if _, err := c.apply(cfg); err != nil {
		c.ReloadFailed(err)
		return err
	}
	return nil
}

// ReloadConfig loads a configuration with load and applies it, one reload
// at a time (so that of two racing reloads the later load wins), and
// records the outcome in the metrics and the audit log under principal.
func (c *Collector) ReloadConfig(load func() (*config.Config, error), principal, detail string) error {
	_, err := c.reloadConfig(load, principal, detail)
	return err
}

// reloadConfig is ReloadConfig that also returns the changes kept for
// the next restart (see restartOnly).
func (c *Collector) reloadConfig(load func() (*config.Config, error), principal, detail string) ([]string, error) {
	c.reloadMu.Lock()
	defer c.reloadMu.Unlock()
	cfg, err := load()
	var warnings []string
	if err == nil {
		warnings, err = c.apply(cfg)
	}
	if err != nil {
		c.ReloadFailed(err)
		c.Audit(principal, "config.reload_failed", err.Error())
		return nil, err
	}
	if len(warnings) > 0 {
		detail = strings.TrimPrefix(detail+"; "+strings.Join(warnings, "; "), "; ")
	}
	c.Audit(principal, "config.reload", detail)
	return warnings, nil
}

// restartOnly says which settings changed from old to cfg that only a
// restart applies; a reload keeps the running ones.
func restartOnly(old, cfg *config.Config) []string {
	var w []string
	if o, n := old.Web.ListenAddress, cfg.Web.ListenAddress; o != n {
		w = append(w, fmt.Sprintf("web.listen_address changed from %s to %s: it takes effect on restart; still listening on %s", o, n, o))
	}
	oldWeb, newWeb := old.Web, cfg.Web
	oldWeb.ListenAddress, newWeb.ListenAddress = "", ""
	for _, s := range []struct {
		name    string
		changed bool
	}{
		{"web", oldWeb != newWeb}, {"storage", old.Storage != cfg.Storage}, {"ingest", old.Ingest != cfg.Ingest},
		{"forward", !sameForward(old.Forward, cfg.Forward)},
	} {
		if s.changed {
			w = append(w, fmt.Sprintf("%s settings changed: they take effect on restart; the running ones are kept", s.name))
		}
	}
	return w
}

// apply swaps cfg in and returns the changes kept for the next restart;
// the caller holds reloadMu.
func (c *Collector) apply(cfg *config.Config) ([]string, error) {
	rs, err := buildReceivers(cfg, c.store, c.incidents, c.logger)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	c.mu.Lock()
	old := c.cfg
	c.cfg, c.notifiers, c.syncers = cfg, rs.notifiers, rs.syncers
	c.mu.Unlock()
	warnings := restartOnly(old, cfg)
	for _, w := range warnings {
		c.logger.Warn("reload: " + w)
	}
	c.auth.Set(cfg.Auth.Tokens)
	c.tracker.SetOptions(trackerOptions(cfg))
	c.tracker.SetInventory(inventory(cfg), now)
	if err := (maintenanceBook{c}).apply(context.Background(), now); err != nil {
		c.logger.Error("read maintenance windows", "err", err)
	}
	c.rules.Update(cfg.RuleFiles)
	c.checks.Update(checkSpecs(cfg))
	c.poller.SetModules(snmpModules(cfg))
	c.poller.Update(snmpDevices(cfg))
	c.endRemoved(context.Background(), cfg, now)
	// Notifiers before routes: a route to a new receiver then finds it.
	c.dispatcher.SetNotifiers(rs.notifiers)
	select {
	case c.syncersChanged <- struct{}{}:
	default: // already signalled; the owner reads the latest set
	}
	c.incidents.SetReceivers(rs.names)
	c.incidents.SetPolicy(IncidentPolicy(cfg))
	c.incidents.SetDependencies(cfg.Dependencies)
	c.incidents.SetSchedules(schedules(cfg))
	c.incidents.SetRoutes(routes(cfg))
	c.reloadOK.Set(1)
	c.reloadTime.Set(float64(now.Unix()))
	c.logger.Info("configuration reloaded", "rule_files", len(cfg.RuleFiles), "tokens", len(cfg.Auth.Tokens), "receivers", len(rs.names))
	return warnings, nil
}

// endRemoved ends the targets of checks and devices no longer in cfg and
// resolves their active incidents: a removed check is no longer
// monitored, so it is neither DOWN nor anyone's incident.
func (c *Collector) endRemoved(ctx context.Context, cfg *config.Config, now time.Time) {
	configured := map[string]bool{}
	for _, s := range checkSpecs(cfg) {
		configured[s.Name] = true
	}
	for _, d := range cfg.Devices {
		configured[d.Name] = true
	}
	var gone []string
	for _, t := range c.tracker.Snapshot() {
		if (t.Kind == state.KindCheck || t.Kind == state.KindDevice) && !configured[t.Name] {
			gone = append(gone, t.Name)
		}
	}
	if len(gone) == 0 {
		return
	}
	const cause = "removed from the configuration"
	ended, err := c.tracker.End(ctx, gone, now, cause)
	if err != nil {
		c.logger.Error("record the end of removed targets", "targets", gone, "err", err)
	}
	if len(ended) == 0 {
		return
	}
	c.logger.Info("targets removed from the configuration ended", "targets", ended)
	active, err := c.store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}, Targets: ended})
	if err != nil {
		c.logger.Error("read the incidents of removed targets", "targets", ended, "err", err)
		return
	}
	for _, inc := range active {
		if err := c.incidents.Resolve(ctx, inc.ID, "nines", "its target "+inc.Target+" was "+cause, now); err != nil && !errors.Is(err, alerting.ErrConflict) {
			c.logger.Error("resolve the incident of a removed target", "incident_id", inc.ID, "target", inc.Target, "err", err)
		}
	}
}

// mailer is the email receiver of that name, for the monthly reports.
func (c *Collector) mailer(name string) (servicelevel.Mailer, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.notifiers[name].(*email.Notifier); ok {
		return n, true
	}
	return nil, false
}

// runTicketSyncs runs the ticket syncers until ctx is done, restarting
// them when a reload replaced them.
func (c *Collector) runTicketSyncs(ctx context.Context) {
	var wg sync.WaitGroup
	stop := func() {}
	defer func() {
		stop()
		wg.Wait()
	}()
	for {
		c.mu.Lock()
		syncers := c.syncers
		c.mu.Unlock()
		sctx, cancel := context.WithCancel(ctx)
		stop = cancel
		for _, s := range syncers {
			s.Leads = c.lease.IsLeader // only the leader follows tickets
			wg.Go(func() { s.Run(sctx) })
		}
		select {
		case <-ctx.Done():
			return
		case <-c.syncersChanged:
			cancel()
			wg.Wait()
		}
	}
}

// ReloadFailed records a configuration that could not be loaded; the
// running one stays.
func (c *Collector) ReloadFailed(err error) {
	c.reloadOK.Set(0)
	c.logger.Error("reload failed; keeping the running configuration", "err", err)
}

func (c *Collector) config() *config.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfg
}

// Handler returns the collector's HTTP handler.
func (c *Collector) Handler() http.Handler {
	cfg := c.config()
	mux := http.NewServeMux()
	maxAge := cfg.Storage.SamplesRetention.D()
	if c.forwarder != nil {
		maxAge = -1 // long-term storage takes what spools replay after an outage longer than the window
	}
	in := ingest.NewHandler(ingest.Options{
		Appender:      c.appender,
		Observer:      c.tracker,
		MaxBodyBytes:  cfg.Ingest.MaxBodyBytes,
		MaxLineBytes:  cfg.Ingest.MaxLineBytes,
		MaxConcurrent: cfg.Ingest.MaxConcurrentRequests,
		MaxAge:        maxAge,
		Limits:        ingest.LimitsFromConfig(cfg.Ingest),
		Logger:        c.logger.With("component", "ingest"),
		Registerer:    c.registry,
	})
	mux.Handle("POST "+wire.PushPath, c.auth.Require(config.RoleAgent, in.Push()))
	mux.Handle("POST /write", ingest.V1Credentials(c.auth.Require(config.RoleAgent, in.WriteV1())))
	mux.Handle("POST /api/v2/write", c.auth.Require(config.RoleAgent, in.WriteV2()))
	// What InfluxDB clients (Telegraf) expect of a write target.
	ingest.RegisterInfluxAPI(mux, c.auth)
	(&api.API{Incidents: c.store, Actions: c.incidents, Targets: c.tracker, Alerts: c.rules, Maintenance: maintenanceBook{c}, Audit: c.store, Notifications: c.store, Auth: c.auth, Logger: c.logger}).Register(mux)

	// One bad series (a label that is not UTF-8) is logged and left out;
	// it never fails the whole page.
	metrics := promhttp.HandlerFor(c.registry, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(c.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError})
	if cfg.Web.MetricsPublic {
		mux.Handle("GET /metrics", metrics)
	} else {
		mux.Handle("GET /metrics", c.auth.Require(config.RoleViewer, metrics))
	}
	c.ui.Register(mux)
	c.prom.Register(mux, func(h http.Handler) http.Handler { return c.auth.Require(config.RoleViewer, h) })
	levels := &servicelevel.API{Sources: c.levels, SLA: c.sla, Logger: c.logger}
	mux.Handle("GET /api/v1/reports/sla", c.auth.Require(config.RoleViewer, levels.Report()))
	mux.Handle("GET /api/v1/services", c.auth.Require(config.RoleViewer, levels.Services()))
	mux.Handle("GET /api/v1/services/{name}", c.auth.Require(config.RoleViewer, levels.Services()))
	mux.Handle("POST /-/reload", c.auth.Require(config.RoleAdmin, http.HandlerFunc(c.serveReload)))
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	// 200 on the leader of an HA pair (and on a collector alone), 503 on
	// the follower: for a load balancer that sends people to the leader.
	mux.HandleFunc("GET /-/leader", func(w http.ResponseWriter, r *http.Request) {
		if !c.lease.IsLeader() {
			http.Error(w, "Not the leader ("+c.role()+")", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "Leader (%s)\n", c.role())
	})
	mux.HandleFunc("GET /-/ready", func(w http.ResponseWriter, r *http.Request) {
		if err := c.storeHealth.ready(); err != nil {
			http.Error(w, "Not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "Ready (%s)\n", c.role())
	})
	return mux
}

func (c *Collector) serveReload(w http.ResponseWriter, r *http.Request) {
	if c.reloadFn == nil {
		api.WriteError(w, http.StatusNotImplemented, "this collector was started without a configuration file")
		return
	}
	p, _ := auth.FromContext(r.Context())
	warnings, err := c.reloadConfig(c.reloadFn, p.Name, "")
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, "configuration not reloaded: "+err.Error())
		return
	}
	// Changes that wait for a restart are told to whoever reloaded, not
	// only to the log.
	api.WriteJSON(w, http.StatusOK, struct {
		Status   string   `json:"status"`
		Warnings []string `json:"warnings,omitempty"`
	}{"reloaded", warnings})
}

// Listening is closed once Run listens on the web address.
func (c *Collector) Listening() <-chan struct{} { return c.listening }

// Run serves and evaluates until ctx is done, then stops in order.
func (c *Collector) Run(ctx context.Context) error {
	defer c.store.Close()
	cfg := c.config()
	ln, err := net.Listen("tcp", cfg.Web.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Web.ListenAddress, err)
	}
	srv := &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
	}
	close(c.listening)
	c.logger.Info("nines-collector started", "version", buildinfo.Version, "listen_address", ln.Addr().String(),
		"store", cfg.Storage.Describe(), "rule_files", len(cfg.RuleFiles))

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 2+len(c.sources))
	wg.Add(3)
	go func() {
		defer wg.Done()
		var err error
		if cfg.Web.TLSCertFile != "" {
			err = srv.ServeTLS(ln, cfg.Web.TLSCertFile, cfg.Web.TLSKeyFile)
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serve: %w", err)
			cancel()
		}
	}()
	// The state series go into the window before the first evaluation, so
	// rules over them (host down) see the restored states at once.
	c.publishStates(time.Now())
	go func() {
		defer wg.Done()
		_ = c.rules.Run(runCtx)
	}()
	go func() {
		defer wg.Done()
		runTasks(runCtx, c.tasks(), realClock, c.logger)
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = c.dispatcher.Run(runCtx, time.Second)
	}()
	go func() {
		defer wg.Done()
		c.ui.Run(runCtx)
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		c.runTicketSyncs(runCtx)
	}()
	go func() {
		defer wg.Done()
		if err := c.lease.Run(runCtx); err != nil {
			c.logger.Warn("release the leader lock", "err", err)
		}
	}()
	if c.forwarder != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.forwarder.Run(runCtx)
		}()
	}
	for _, src := range c.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := src.Run(runCtx, writer{c}); err != nil {
				c.logger.Error("source stopped", "err", err)
				errc <- fmt.Errorf("source: %w", err)
				cancel()
			}
		}()
	}

	<-runCtx.Done()
	shutCtx, cancelShut := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancelShut()
	_ = srv.Shutdown(shutCtx)
	cancel()
	wg.Wait()
	// State changes decided last (the tracker writes after deciding) are
	// written before the run is recorded as ended.
	if err := c.tracker.Flush(shutCtx); err != nil {
		c.logger.Error("write the last state changes", "err", err)
	}
	// The run ends: the others sharing the store take over its devices
	// and checks at their next sync, not three heartbeats later.
	if err := c.store.EndRun(shutCtx, c.runID, time.Now()); err != nil {
		c.logger.Warn("record collector stop", "err", err)
	}
	c.logger.Info("nines-collector stopped")
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// publishStates writes the target states and the open incidents into
// the window.
func (c *Collector) publishStates(now time.Time) {
	c.states.PublishTracker(c.own, c.tracker, now)
	c.openSeries.publish(c.own, c.incidents.OpenByService(), now)
}

// Audit records a change made outside the API's own handlers (a reload by
// signal) in the audit log.
func (c *Collector) Audit(principal, action, detail string) {
	api.Record(context.Background(), c.store, c.logger, audit.Entry{At: time.Now(), Principal: principal, Action: action, Object: "config", Detail: detail})
}

// snmpModules are the configuration's custom SNMP modules.
func snmpModules(cfg *config.Config) map[string]snmp.Module {
	out := map[string]snmp.Module{}
	for _, m := range cfg.SNMP.Modules {
		d := snmp.Definition{Name: m.Name}
		for _, o := range m.Scalars {
			d.Scalars = append(d.Scalars, snmp.Object{OID: o.OID, Name: o.Metric})
		}
		for _, t := range m.Tables {
			tb := snmp.Table{Entry: t.Entry, Indexes: t.Indexes}
			for _, o := range t.Columns {
				tb.Columns = append(tb.Columns, snmp.Object{OID: o.OID, Name: o.Metric})
			}
			for _, l := range t.Labels {
				tb.Labels = append(tb.Labels, snmp.Object{OID: l.OID, Name: l.Label})
			}
			d.Tables = append(d.Tables, tb)
		}
		out[m.Name] = d.Module()
	}
	return out
}
