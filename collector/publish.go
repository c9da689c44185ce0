package collector

import (
	"errors"
	"hash/maphash"
	"log/slog"
	"maps"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// ownSeries appends the collector's own series (target states, SLO and
// SLA figures) into the window, outside its series limits, and counts
// and logs what the window still refuses: once per reason, not once per
// sample, since it repeats every check interval. Safe for concurrent use.
type ownSeries struct {
	window   *samples.Store
	logger   *slog.Logger
	failures *prometheus.CounterVec // by reason

	mu     sync.Mutex
	logged map[string]bool // reasons already logged
}

func newOwnSeries(window *samples.Store, logger *slog.Logger) *ownSeries {
	return &ownSeries{window: window, logger: logger, logged: map[string]bool{},
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_own_series_append_failures_total",
			Help: "Samples of the collector's own series (target states, SLO and SLA figures) the recent window refused, by reason; rules over them see stale data."},
			[]string{"reason"})}
}

// Append implements servicelevel.Appender: it never fails, it counts.
func (o *ownSeries) Append(lset labels.Labels, t int64, v float64) error {
	err := o.window.AppendOwn(lset, t, v)
	if err == nil {
		return nil
	}
	reason := "other"
	switch {
	case errors.Is(err, samples.ErrOutOfOrder):
		reason = "out_of_order"
	case errors.Is(err, samples.ErrTooMany):
		reason = "series_limit"
	case errors.Is(err, samples.ErrTooManyForTarget):
		reason = "target_series_limit"
	}
	o.failures.WithLabelValues(reason).Inc()
	o.mu.Lock()
	first := !o.logged[reason]
	o.logged[reason] = true
	o.mu.Unlock()
	if first {
		o.logger.Warn("the window refused one of the collector's own series; counting further refusals in nines_own_series_append_failures_total",
			"reason", reason, "series", lset.String(), "err", err)
	}
	return nil
}

// StateRefresh is how often a target's state series get a sample when
// its state and labels stay the same: well within PromQL's lookback
// (5 minutes), so an instant query (every rule) sees the state exactly as
// if it were written at every check, and within the shortest window
// (storage.samples_retention, at least 1 minute), so pruning never
// empties a live target's series.
const StateRefresh = 30 * time.Second

// StatePublisher writes nines_target_up and nines_target_state of every
// target into the recent window, so rules (host down, check failed) are
// plain PromQL. A target's series get a sample at the check that sees its
// state, kind or labels change (so a host found DOWN is visible to the
// next rule evaluation, as before), at its first check, and otherwise
// every StateRefresh, the targets spread over it. Writing all six series
// of every target every check (1 s) cost more CPU and window memory than
// a 30,000-agent fleet's own samples (bench/RESULTS.md). Safe for
// concurrent use; the zero value is ready.
type StatePublisher struct {
	mu     sync.Mutex
	seed   maphash.Seed
	pub    map[string]*published
	tick   uint64
	lastTS int64             // the last Publish's time (Unix ms)
	buf    []state.StateView // PublishTracker's
	sb     labels.ScratchBuilder
	lset   labels.Labels // appendState's, rewritten for each series
}

// published is what was last written of a target.
type published struct {
	kind    state.Kind
	labels  map[string]string // the tracker's (never changed in place)
	state   state.State
	next    int64  // when the next refresh is due (Unix ms)
	written int64  // when its series were last written (Unix ms)
	tick    uint64 // the last Publish that saw the target
}

// Publish writes the series of targets due at now (see StatePublisher)
// into w. Errors are w's to count (the collector's ownSeries counts and
// logs them). Targets no longer in targets are forgotten: their series
// go stale after the lookback, as before.
func (p *StatePublisher) Publish(w rules.Appender, targets []state.StateView, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publish(w, targets, now)
}

// PublishTracker is Publish of every target tr tracks, read into a
// buffer kept between calls.
func (p *StatePublisher) PublishTracker(w rules.Appender, tr *state.Tracker, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = tr.States(p.buf)
	p.publish(w, p.buf, now)
	clear(p.buf) // holds no labels of targets since removed
}

func (p *StatePublisher) publish(w rules.Appender, targets []state.StateView, now time.Time) {
	ts := now.UnixMilli()
	refresh := StateRefresh.Milliseconds()
	if p.pub == nil {
		p.pub, p.seed = map[string]*published{}, maphash.MakeSeed()
	}
	p.tick++
	for _, t := range targets {
		last := p.pub[t.Name]
		if last == nil {
			last = &published{}
			p.pub[t.Name] = last
			// The first refresh comes sooner by up to StateRefresh, spread
			// by name, so a fleet restored at start is not refreshed all at
			// once.
			last.next = ts + refresh - int64(maphash.String(p.seed, t.Name)%uint64(refresh))
		} else {
			moved := last.kind != t.Kind || !sameMap(last.labels, t.Labels)
			if !moved && last.state == t.State && ts < last.next {
				last.tick = p.tick
				continue
			}
			if moved && last.written < p.lastTS {
				// The series of its old labels end at the last Publish,
				// as when every check wrote them.
				p.appendState(w, state.StateView{Name: t.Name, Kind: last.kind, Labels: last.labels, State: last.state}, p.lastTS)
			}
			if ts >= last.next {
				// The next refresh keeps the target's place in the
				// period; a change between refreshes leaves it as it is.
				last.next += refresh * ((ts-last.next)/refresh + 1)
			}
		}
		last.kind, last.labels, last.state, last.tick, last.written = t.Kind, t.Labels, t.State, p.tick, ts
		p.appendState(w, t, ts)
	}
	if len(p.pub) > len(targets) {
		for name, last := range p.pub {
			if last.tick == p.tick {
				continue
			}
			// Gone since the last Publish: its series end at that one, as
			// when every check wrote them, and go stale after the lookback.
			if last.written < p.lastTS {
				p.appendState(w, state.StateView{Name: name, Kind: last.kind, Labels: last.labels, State: last.state}, p.lastTS)
			}
			delete(p.pub, name)
		}
	}
	p.lastTS = ts
}

// sameMap reports whether a and b hold the same labels, at once when they
// are the same map (the tracker's maps are never changed in place).
func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() {
		return true
	}
	return maps.Equal(a, b)
}

// appendState writes t's six series at ts into w, their label sets
// built in one buffer (w copies what it keeps, as the window does).
func (p *StatePublisher) appendState(w rules.Appender, t state.StateView, ts int64) {
	host := t.Kind == state.KindHost
	put := func(name, st string, v float64) {
		p.sb.Reset()
		for k, v := range t.Labels {
			switch {
			case k == "target" || k == "kind" || k == model.MetricNameLabel || (k == "host" && host) || (k == "state" && st != ""):
			default:
				p.sb.Add(k, v)
			}
		}
		p.sb.Add(model.MetricNameLabel, name)
		p.sb.Add("target", t.Name)
		p.sb.Add("kind", string(t.Kind))
		if host {
			p.sb.Add("host", t.Name)
		}
		if st != "" {
			p.sb.Add("state", st)
		}
		p.sb.Sort()
		p.sb.Overwrite(&p.lset)
		_ = w.Append(p.lset, ts, v) // w counts its errors
	}
	up := 0.0
	if t.State == state.Up {
		up = 1
	}
	put("nines_target_up", "", up)
	for _, s := range state.AllStates {
		v := 0.0
		if s == t.State {
			v = 1
		}
		put("nines_target_state", string(s), v)
	}
}

// incidentSeries writes nines_incidents_open{priority,service} into the
// recent window, as /metrics has it, so dashboards reading the query API
// see the open incidents. A series whose last incident ended gets a
// staleness marker, as Prometheus writes when a scraped series goes away,
// so queries stop showing its last count at once rather than for the
// lookback delta. Safe for concurrent use.
type incidentSeries struct {
	mu   sync.Mutex
	last map[[2]string]bool // (priority, service) published with a count
}

// publish writes open (incidents by priority and service, as
// OpenByService counts them; service "" for none, which gets no service
// label) into w; every priority has a series even when none is open.
func (s *incidentSeries) publish(w rules.Appender, open map[[2]string]int, now time.Time) {
	ts := now.UnixMilli()
	put := func(k [2]string, v float64) {
		l := []string{model.MetricNameLabel, "nines_incidents_open", "priority", k[0]}
		if k[1] != "" {
			l = append(l, "service", k[1])
		}
		_ = w.Append(labels.FromStrings(l...), ts, v) // w counts its errors
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range alerting.Priorities {
		if _, ok := open[[2]string{string(p), ""}]; !ok {
			put([2]string{string(p), ""}, 0)
		}
	}
	for k := range s.last {
		if _, ok := open[k]; !ok {
			if k[1] != "" {
				put(k, math.Float64frombits(value.StaleNaN))
			}
			delete(s.last, k)
		}
	}
	if s.last == nil {
		s.last = map[[2]string]bool{}
	}
	for k, n := range open {
		put(k, float64(n))
		s.last[k] = true
	}
}
