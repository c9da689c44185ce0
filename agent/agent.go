// Package agent wires the nines-agent daemon: it collects host facts every
// interval, serves them on /metrics, and pushes them to the collector. It
// holds no logic of its own beyond the schedule; see host, expose and push.
package agent

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	gohost "github.com/shirou/gopsutil/v3/host"

	"github.com/ninesmon/nines/agent/config"
	"github.com/ninesmon/nines/agent/expose"
	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/agent/power"
	"github.com/ninesmon/nines/agent/push"
	"github.com/ninesmon/nines/internal/buildinfo"
)

// ShutdownTimeout bounds the stop sequence: flush, goodbye, close.
const ShutdownTimeout = 5 * time.Second

// Agent is one running agent. Create it with New and start it with Run.
type Agent struct {
	logger   *slog.Logger
	ps       host.PS
	self     *metrics.Set
	handler  *expose.Handler
	sender   push.Pusher
	hostname string
	hostID   string

	checks *serviceChecks

	mu       sync.Mutex
	cfg      *config.Config
	registry *host.Registry
	reloaded chan struct{}
	settled  chan struct{} // closed after the second collection

	reloadOK      *metrics.Gauge
	reloadSuccess float64
	cycles        *metrics.Counter

	// Sleep and wake (see power): while asleep nothing is collected or
	// sent; cycleMu is held by a collection in progress.
	asleep      atomic.Bool
	cycleMu     sync.Mutex
	woke        chan struct{}
	sendMu      sync.Mutex
	stopSending func()
	sleeps      *metrics.Counter
}

// New builds an agent from a validated configuration. ps is the host seam;
// nil means the live system.
func New(cfg *config.Config, logger *slog.Logger, ps host.PS) (*Agent, error) {
	if ps == nil {
		ps = host.SystemPS{}
	}
	a := &Agent{logger: logger, ps: ps, self: metrics.NewSet(), reloaded: make(chan struct{}, 1), settled: make(chan struct{}), woke: make(chan struct{}, 1), reloadSuccess: 1}
	a.handler = expose.NewHandler(a.self)
	a.hostname = cfg.Hostname
	if a.hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("hostname: %w", err)
		}
		a.hostname = h
	}
	if id, err := gohost.HostIDWithContext(context.Background()); err == nil && id != "" {
		a.hostID = id
	} else {
		a.hostID = a.hostname
	}
	reg, err := host.NewRegistry(cfg.EnabledCollectors(), ps, cfg.HostOptions(), logger)
	if err != nil {
		return nil, err
	}
	a.cfg, a.registry = cfg, reg
	a.checks = newServiceChecks()
	a.checks.set(specs(cfg.Checks))
	newPusher := func(o push.Options) (push.Pusher, error) { return push.NewSender(o) }
	if cfg.Push.Mode == "all" && len(cfg.Push.URLs) > 0 {
		newPusher = func(o push.Options) (push.Pusher, error) { return push.NewGroup(o) }
	}
	a.sender, err = newPusher(push.Options{
		URLs: cfg.Push.URLs, Token: cfg.Push.Token, HostID: a.hostID, Hostname: a.hostname,
		Labels: cfg.Labels, Interval: cfg.Interval.D(), Timeout: cfg.Push.Timeout.D(),
		QueueSize: cfg.Push.QueueSize, Logger: logger.With("component", "push"), Metrics: a.self,
		MetricsAddress: cfg.Web.ListenAddress,
		SpoolDir:       spoolDir(cfg), SpoolMaxBytes: cfg.Push.SpoolMaxBytes,
	})
	if err != nil {
		return nil, err
	}
	a.cycles = a.self.NewCounter("nines_agent_collections_total")
	a.sleeps = a.self.NewCounter("nines_agent_sleeps_total")
	a.self.NewGauge(`nines_agent_build_info{version="`+buildinfo.Version+`"}`, func() float64 { return 1 })
	a.reloadOK = a.self.NewGauge("nines_agent_config_last_reload_successful", func() float64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.reloadSuccess
	})
	return a, nil
}

// spoolDir is the spool to use: none when the agent does not push.
func spoolDir(cfg *config.Config) string {
	if len(cfg.Push.URLs) == 0 {
		return ""
	}
	return cfg.Push.Spool()
}

// Reload swaps in a new configuration, already loaded and validated.
// The listen address is fixed at start; a change is reported and ignored.
func (a *Agent) Reload(cfg *config.Config) error {
	reg, err := host.NewRegistry(cfg.EnabledCollectors(), a.ps, cfg.HostOptions(), a.logger)
	if err != nil {
		a.ReloadFailed()
		return err
	}
	a.mu.Lock()
	if cfg.Web != a.cfg.Web {
		a.logger.Warn("web settings change needs a restart; keeping the current listener")
	}
	if cfg.Push.Mode != a.cfg.Push.Mode {
		a.logger.Warn("push.mode change needs a restart; keeping the current mode")
	}
	a.cfg, a.registry, a.reloadSuccess = cfg, reg, 1
	a.mu.Unlock()
	a.checks.set(specs(cfg.Checks))
	a.sender.Update(cfg.Push.URLs, cfg.Push.Token, cfg.Labels, cfg.Interval.D())
	select {
	case a.reloaded <- struct{}{}:
	default:
	}
	a.logger.Info("configuration reloaded")
	return nil
}

// ReloadFailed records a configuration that could not be loaded; the
// running one stays.
func (a *Agent) ReloadFailed() {
	a.mu.Lock()
	a.reloadSuccess = 0
	a.mu.Unlock()
}

func (a *Agent) current() (*config.Config, *host.Registry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg, a.registry
}

// Handler is the agent's HTTP handler (/metrics and health).
func (a *Agent) Handler() http.Handler {
	mux := http.NewServeMux()
	var metricsHandler http.Handler = a.handler
	if ba := a.cfg.Web.BasicAuth; ba != nil {
		metricsHandler = basicAuth(ba.Username, ba.Password.Reveal(), a.handler)
	}
	mux.Handle("GET /metrics", metricsHandler)
	mux.HandleFunc("GET /-/healthy", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "OK") })
	return mux
}

// Run collects, serves and pushes until ctx is done, then stops in order:
// no more collections, a last flush of the queue, a goodbye to the
// collector, listener closed. It returns within ShutdownTimeout of ctx
// ending.
func (a *Agent) Run(ctx context.Context) error {
	cfg, _ := a.current()
	ln, err := net.Listen("tcp", cfg.Web.ListenAddress)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Web.ListenAddress, err)
	}
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	a.logger.Info("nines-agent started", "version", buildinfo.Version, "listen_address", ln.Addr().String(),
		"hostname", a.hostname, "interval", cfg.Interval.String(), "collectors", cfg.EnabledCollectors())

	var wg sync.WaitGroup
	serveErr := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		if cfg.Web.TLSCertFile != "" {
			err = srv.ServeTLS(ln, cfg.Web.TLSCertFile, cfg.Web.TLSKeyFile)
		} else {
			err = srv.Serve(ln)
		}
		if !errors.Is(err, http.ErrServerClosed) {
			serveErr <- err
		}
	}()
	a.startSending()
	powerCtx, stopPower := context.WithCancel(ctx)
	powerDone := make(chan struct{})
	go func() {
		defer close(powerDone)
		err := power.Watch(powerCtx, a, power.Options{})
		switch {
		case errors.Is(err, power.ErrUnsupported):
			a.logger.Info("no notice before the machine sleeps; goodbye only on stop and shutdown", "reason", err)
		case err != nil:
			a.logger.Warn("sleep notices stopped", "err", err)
		}
	}()

	runErr := a.loop(ctx, serveErr)
	a.checks.wait()

	// Ordered stop.
	stopPower()
	<-powerDone
	a.pauseSending()
	deadline, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	if cfg, _ := a.current(); len(cfg.Push.URLs) > 0 {
		flushCtx, cancelFlush := context.WithTimeout(deadline, ShutdownTimeout*3/5)
		if left := a.sender.Flush(flushCtx); left > 0 {
			a.logger.Warn("stopping with undelivered batches", "batches", left)
		}
		cancelFlush()
		if err := a.sender.Goodbye(deadline); err != nil {
			a.logger.Warn("goodbye not delivered", "err", err)
		}
	}
	_ = srv.Shutdown(deadline)
	wg.Wait()
	a.logger.Info("nines-agent stopped")
	return runErr
}

// Settled is closed when the agent has finished starting: its second
// collection is done, so the first has been pushed (or its push has
// failed) an interval ago. What runs only at start-up has run by then.
func (a *Agent) Settled() <-chan struct{} { return a.settled }

func (a *Agent) loop(ctx context.Context, serveErr <-chan error) error {
	var enc push.Encoder
	var buf []byte
	for n := 1; ; n++ {
		cfg, _ := a.current()
		buf = a.cycle(ctx, &enc, buf)
		if n == 2 {
			close(a.settled)
		}
		t := time.NewTimer(cfg.Interval.D())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case err := <-serveErr:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		case <-a.reloaded:
			t.Stop()
		case <-a.woke:
			t.Stop()
		case <-t.C:
		}
	}
}

// cycle collects once, unless the machine is going to sleep, and queues
// the batch for the collector.
func (a *Agent) cycle(ctx context.Context, enc *push.Encoder, buf []byte) []byte {
	a.cycleMu.Lock()
	defer a.cycleMu.Unlock()
	if a.asleep.Load() {
		return buf
	}
	cfg, reg := a.current()
	now := time.Now()
	a.checks.start(ctx, now)
	batch := reg.Collect(ctx, now)
	a.checks.add(batch)
	a.cycles.Inc()
	a.handler.Set(exposed(batch))
	if len(cfg.Push.URLs) > 0 {
		var err error
		buf, err = enc.Append(buf[:0], batch, nil) // identity and labels travel in headers
		if err != nil {
			a.logger.Error("encode batch", "err", err)
		} else if err := a.sender.Enqueue(buf); err != nil {
			a.logger.Error("queue batch", "err", err)
		}
	}
	return buf
}

// startSending runs the sender until pauseSending (once at a time).
func (a *Agent) startSending() {
	a.sendMu.Lock()
	defer a.sendMu.Unlock()
	if a.stopSending != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.sender.Run(ctx)
	}()
	a.stopSending = func() { cancel(); <-done }
}

// pauseSending stops the sender and waits until it has.
func (a *Agent) pauseSending() {
	a.sendMu.Lock()
	stop := a.stopSending
	a.stopSending = nil
	a.sendMu.Unlock()
	if stop != nil {
		stop()
	}
}

// Sleep runs before the machine sleeps: collection stops, what is queued
// is sent, and the collector is told goodbye, so the time asleep is not
// an outage. What cannot be sent stays spooled for after the wake.
func (a *Agent) Sleep(ctx context.Context) {
	a.cycleMu.Lock() // a collection in progress has queued its batch
	a.asleep.Store(true)
	a.cycleMu.Unlock()
	a.pauseSending()
	a.sleeps.Inc()
	if cfg, _ := a.current(); len(cfg.Push.URLs) == 0 {
		a.logger.Info("machine going to sleep")
		return
	}
	left := a.sender.Flush(ctx)
	if err := a.sender.Goodbye(ctx); err != nil {
		a.logger.Warn("machine going to sleep; goodbye not delivered", "err", err, "batches_spooled", left)
		return
	}
	a.logger.Info("machine going to sleep; said goodbye to the collector", "batches_spooled", left)
}

// Wake runs once the machine is back: sending resumes and a collection
// runs at once.
func (a *Agent) Wake() {
	a.asleep.Store(false)
	a.startSending()
	a.logger.Info("machine woke up")
	select {
	case a.woke <- struct{}{}:
	default:
	}
}

// basicAuth lets through requests with the user and password, compared in
// constant time.
func basicAuth(user, password string, next http.Handler) http.Handler {
	wantUser, wantPass := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(password))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		gotUser, gotPass := sha256.Sum256([]byte(u)), sha256.Sum256([]byte(p))
		if !ok || subtle.ConstantTimeCompare(gotUser[:], wantUser[:])&subtle.ConstantTimeCompare(gotPass[:], wantPass[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="nines-agent"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}
