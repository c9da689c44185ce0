package snmp

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/internal/schedule"
	"github.com/ninesmon/nines/collector/state"
)

// Device is one device to poll.
type Device struct {
	Name     string
	Target   Target
	Interval time.Duration
	Labels   map[string]string
	Modules  []string
	// Interfaces selects and monitors interfaces (if_mib).
	Interfaces Interfaces
}

// Writer receives samples and poll outcomes (collector.Writer satisfies it).
type Writer interface {
	Append(lset labels.Labels, t int64, v float64) error
	ProbeResult(ctx context.Context, p state.Probe, now time.Time) error
}

// Poller polls every device on its interval with a bounded number of polls
// at once. A poll that is still running when the next is due makes that
// one skipped and counted, never stacked; a panic in decoding a device's
// answer is recovered at the poll, counted and logged.
type Poller struct {
	logger  *slog.Logger
	workers chan struct{}
	dial    func(Target) (Conn, error)

	mu      sync.Mutex
	devices []Device
	custom  map[string]Module
	// monitored maps "<device>\x00<ifIndex>" to a monitored interface's
	// target, as the last poll saw it (for linkDown/linkUp traps).
	monitored map[string]string
	changed   chan struct{}
	// owns says whether this collector polls a device (sharding); nil:
	// every device.
	owns func(device string) bool
	// polled counts the polls of each device by this collector.
	polled map[string]int64
	// wake tells the device loops that the owners changed.
	wake schedule.Waker

	Polls, Failures, Skipped, Panics atomic.Int64
	// Durations is how long polls took, answered or not (for /metrics).
	Durations prometheus.Histogram
}

// NewPoller returns a poller running at most workers polls at once.
func NewPoller(devices []Device, workers int, logger *slog.Logger) *Poller {
	if workers <= 0 {
		workers = 64
	}
	return &Poller{logger: logger, workers: make(chan struct{}, workers), dial: Dial, devices: devices, changed: make(chan struct{}, 1),
		Durations: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "nines_snmp_poll_latency_seconds",
			Help:    "How long SNMP polls took (every module of one device), answered or not.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		})}
}

// SetModules replaces the custom modules (by name; they may not shadow a
// built-in one).
func (p *Poller) SetModules(m map[string]Module) {
	p.mu.Lock()
	p.custom = m
	p.mu.Unlock()
}

// SetOwner makes the poller poll only the devices owns says are this
// collector's, asked at each poll (collectors sharing a store split the
// devices between them: collector/shard). nil polls every device.
func (p *Poller) SetOwner(owns func(device string) bool) {
	p.mu.Lock()
	p.owns = owns
	p.mu.Unlock()
}

// OwnersChanged tells the poller that the owner of some devices may
// have changed: a device that became this collector's is polled at
// once, not at its next slot (see schedule.Handover).
func (p *Poller) OwnersChanged() { p.wake.Wake() }

// Polled returns how many times this collector polled each device.
func (p *Poller) Polled() map[string]int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.polled)
}

func (p *Poller) mine(device string) bool {
	p.mu.Lock()
	owns := p.owns
	p.mu.Unlock()
	return owns == nil || owns(device)
}

// Update replaces the devices (after a reload).
func (p *Poller) Update(devices []Device) {
	p.mu.Lock()
	p.devices = devices
	for name := range p.polled {
		if !slices.ContainsFunc(devices, func(d Device) bool { return d.Name == name }) {
			delete(p.polled, name)
		}
	}
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// Run polls until ctx is done.
func (p *Poller) Run(ctx context.Context, w Writer) error {
	schedule.Group(ctx, p.changed, func() []Device {
		p.mu.Lock()
		defer p.mu.Unlock()
		return append([]Device(nil), p.devices...)
	}, func(ctx context.Context, d *Device) { p.loop(ctx, d, w) })
	return nil
}

func (p *Poller) loop(ctx context.Context, d *Device, w Writer) {
	var h schedule.Handover
	schedule.EveryOr(ctx, d.Interval, p.wake.C, func(ctx context.Context, woken bool) {
		if !h.Probe(p.mine(d.Name), woken) {
			return // another collector's
		}
		select {
		case p.workers <- struct{}{}:
			p.poll(ctx, d, w)
			<-p.workers
		case <-ctx.Done():
		}
	}, func(n int64) {
		p.Skipped.Add(n)
		p.logger.Warn("poll overran its interval; polls skipped", "device", d.Name, "skipped", n)
	})
}

// poll reads every module of one device within a deadline shorter than
// its interval, and records the samples and the outcome.
func (p *Poller) poll(ctx context.Context, d *Device, w Writer) {
	ctx, cancel := context.WithTimeout(ctx, d.Interval*4/5)
	defer cancel()
	start := time.Now()
	samples, err := p.read(ctx, d)
	if ctx.Err() != nil && err == nil {
		err = ctx.Err()
	}
	took := time.Since(start)
	p.Polls.Add(1)
	p.mu.Lock()
	if p.polled == nil {
		p.polled = map[string]int64{}
	}
	p.polled[d.Name]++
	p.mu.Unlock()
	p.Durations.Observe(took.Seconds())
	outcome := state.Probe{Name: d.Name, Kind: state.KindDevice, Labels: d.Labels, Interval: d.Interval, OK: err == nil}
	if err != nil {
		p.Failures.Add(1)
		outcome.Cause = "SNMP: " + err.Error()
		p.logger.Info("poll failed", "device", d.Name, "err", err)
	}
	ts := start.UnixMilli()
	rows := interfaceRows(samples)
	var (
		b       labels.ScratchBuilder
		base    map[string]string // the device's and the sample's labels
		baseFor *string           // which sample labels base was made for
	)
	for _, s := range samples {
		if r := rowOf(rows, s); r != nil {
			ifType, known := r.values["ifType"]
			if !d.Interfaces.selected(r.labels, ifType, known) {
				continue
			}
		}
		// Samples of one row share their label slice: the labels are
		// merged once per row, not once per sample.
		var key *string
		if len(s.Labels) > 0 {
			key = &s.Labels[0]
		}
		if base == nil || key == nil || key != baseFor {
			base = make(map[string]string, len(d.Labels)+len(s.Labels)/2+1)
			for k, v := range d.Labels {
				base[k] = v
			}
			for i := 0; i+1 < len(s.Labels); i += 2 {
				base[s.Labels[i]] = s.Labels[i+1]
			}
			base["device"] = d.Name
			delete(base, model.MetricNameLabel)
			baseFor = key
		}
		b.Reset()
		for k, v := range base {
			b.Add(k, v)
		}
		b.Add(model.MetricNameLabel, s.Name)
		b.Sort()
		_ = w.Append(b.Labels(), ts, s.Value)
	}
	up := 0.0
	if err == nil {
		up = 1
	}
	_ = w.Append(labels.FromStrings(model.MetricNameLabel, "nines_snmp_poll_success", "device", d.Name), ts, up)
	_ = w.Append(labels.FromStrings(model.MetricNameLabel, "nines_snmp_poll_duration_seconds", "device", d.Name), ts, took.Seconds())
	if perr := w.ProbeResult(context.WithoutCancel(ctx), outcome, start); perr != nil {
		p.logger.Error("record poll outcome", "device", d.Name, "err", perr)
	}
	if err == nil && len(d.Interfaces.Monitor) > 0 {
		p.interfaceStates(context.WithoutCancel(ctx), d, rows, w, start)
	}
	if err != nil {
		p.interfacesUnknown(context.WithoutCancel(ctx), d, err, w, start)
	}
}

// interfacesUnknown: while a device does not answer, nothing is known of
// its monitored interfaces. They become UNKNOWN (after as many failed
// polls as make the device DOWN), not left UP as last seen, until the
// device answers again.
func (p *Poller) interfacesUnknown(ctx context.Context, d *Device, cause error, w Writer, at time.Time) {
	p.mu.Lock()
	var names []string
	for key, name := range p.monitored {
		if dev, _, _ := strings.Cut(key, "\x00"); dev == d.Name && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	p.mu.Unlock()
	sort.Strings(names)
	l := make(map[string]string, len(d.Labels)+1)
	for k, v := range d.Labels {
		l[k] = v
	}
	l["device"] = d.Name
	for _, name := range names {
		pr := state.Probe{Name: name, Kind: state.KindInterface, Labels: l, Interval: d.Interval, Unknown: true,
			Cause: "device " + d.Name + " not answering: SNMP: " + cause.Error()}
		if err := w.ProbeResult(ctx, pr, at); err != nil {
			p.logger.Error("record interface state", "interface", name, "err", err)
		}
	}
}

// restoredKey marks a monitored interface known from before a restart
// (its ifIndex unknown until the device answers).
const restoredKey = "\x00restored\x00"

// Restore tells the poller the monitored interfaces the collector knew
// before it started (targets of kind interface, restored from the store,
// each with its device label): while their device does not answer they
// become UNKNOWN too, instead of keeping their last state until it does.
// Call it before Run.
func (p *Poller) Restore(targets []state.Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, t := range targets {
		if dev := t.Labels["device"]; t.Kind == state.KindInterface && dev != "" {
			if p.monitored == nil {
				p.monitored = map[string]string{}
			}
			p.monitored[dev+restoredKey+t.Name] = t.Name
		}
	}
}

// rowOf is the interface a sample belongs to, or nil.
func rowOf(rows map[string]*ifRow, s Sample) *ifRow {
	if index, ok := labelValue(s.Labels, "ifIndex"); ok {
		return rows[index]
	}
	return nil
}

// MonitoredInterface names the target of a device's monitored interface
// by ifIndex, as the last poll saw it.
func (p *Poller) MonitoredInterface(device, ifIndex string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	name, ok := p.monitored[device+"\x00"+ifIndex]
	return name, ok
}

// interfaceStates records the state of each monitored interface: up
// (ifOperStatus 1), down, or shut down by an administrator (ifAdminStatus
// 2: not an outage).
func (p *Poller) interfaceStates(ctx context.Context, d *Device, rows map[string]*ifRow, w Writer, at time.Time) {
	p.mu.Lock()
	for key := range p.monitored { // the device answered: its interfaces are known now
		if strings.HasPrefix(key, d.Name+restoredKey) {
			delete(p.monitored, key)
		}
	}
	p.mu.Unlock()
	for _, r := range rows {
		if !d.Interfaces.monitored(r.labels) {
			continue
		}
		p.mu.Lock()
		if p.monitored == nil {
			p.monitored = map[string]string{}
		}
		p.monitored[d.Name+"\x00"+r.labels["ifIndex"]] = r.name(d.Name)
		p.mu.Unlock()
		oper, ok := r.values["ifOperStatus"]
		if !ok {
			continue
		}
		l := make(map[string]string, len(d.Labels)+2)
		for k, v := range d.Labels {
			l[k] = v
		}
		l["device"], l["ifName"] = d.Name, r.labels["ifName"]
		pr := state.Probe{Name: r.name(d.Name), Kind: state.KindInterface, Labels: l, Interval: d.Interval, OK: oper == 1}
		switch {
		case r.values["ifAdminStatus"] == 2:
			pr.AdminDown, pr.Cause = true, "administratively down"
		case oper != 1:
			pr.Cause = fmt.Sprintf("ifOperStatus %v (not up)", oper)
		}
		if err := w.ProbeResult(ctx, pr, at); err != nil {
			p.logger.Error("record interface state", "interface", pr.Name, "err", err)
		}
	}
}

// read runs the modules; the system module first decides whether the
// device answers at all.
func (p *Poller) read(ctx context.Context, d *Device) (out []Sample, err error) {
	defer func() {
		if r := recover(); r != nil {
			p.Panics.Add(1)
			p.logger.Error("panic while polling; recovered", "device", d.Name, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("panic while decoding the answer: %v", r)
		}
	}()
	c, err := p.dial(d.Target)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	p.mu.Lock()
	custom := p.custom
	p.mu.Unlock()
	for _, name := range d.Modules {
		m := Modules[name]
		if m == nil {
			m = custom[name]
		}
		if m == nil {
			return out, fmt.Errorf("unknown module %q", name)
		}
		s, err := m(ctx, c)
		if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		out = append(out, s...)
	}
	return out, nil
}
