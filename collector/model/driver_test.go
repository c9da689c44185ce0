package model

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/rules"
)

// The simulated installation: agents push every interval; a host is DOWN
// after downAfter silent intervals; the collector checks deadlines and
// evaluates the availability rules every tick and records a heartbeat
// every heartbeat.
const (
	interval  = 10 * time.Second
	tick      = 5 * time.Second
	downAfter = 3
	grace     = 2 * interval         // availability.startup_grace's default
	heartbeat = store.HeartbeatEvery // as the collector beats
	settle    = 10 * time.Minute     // quiet time at the end of every script
	receiver  = "tickets"
)

var t0 = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

// hostLabels are the agents' own labels as the example agent config sets
// them; pc1 sends none.
var hostLabels = map[string]map[string]string{
	"web1": {"site": "lab"},
	"db1":  {"site": "lab", "role": "db"},
	"pc1":  nil,
}

var hostNames = []string{"db1", "pc1", "web1"}

type kind string

// The events of a script.
const (
	die         kind = "die"           // the host stops pushing
	revive      kind = "revive"        // it pushes again
	goodbye     kind = "goodbye"       // it says goodbye and stops
	relabel     kind = "relabel"       // its agent's labels change
	stop        kind = "stop"          // the collector stops cleanly
	kill        kind = "kill"          // the collector is killed (kill -9)
	start       kind = "start"         // the collector starts again
	recvFail    kind = "receiver-down" // the ticketing system fails
	recvOK      kind = "receiver-up"   // and works again
	closeTicket kind = "close-ticket"  // an operator closes the host's ticket
)

type event struct {
	At   time.Duration
	Kind kind
	Host string
}

func (e event) String() string {
	s := fmt.Sprintf("%6s %s", e.At, e.Kind)
	if e.Host != "" {
		s += " " + e.Host
	}
	return s
}

// maintenance is a configured window [From, To) for one host.
type maintenance struct {
	Host     string
	From, To time.Duration
}

type script struct {
	Windows []maintenance
	Events  []event
	End     time.Duration
}

func (s script) String() string {
	var b strings.Builder
	for _, w := range s.Windows {
		fmt.Fprintf(&b, "  maintenance %s from %s to %s\n", w.Host, w.From, w.To)
	}
	for _, e := range s.Events {
		fmt.Fprintf(&b, "  %s\n", e)
	}
	fmt.Fprintf(&b, "  %6s end", s.End)
	return b.String()
}

// generate makes a random script: a few minutes to three quarters of an
// hour of events, then settle minutes of quiet.
func generate(rng *rand.Rand) script {
	s := script{End: time.Duration(20+rng.IntN(30))*time.Minute + settle}
	last := s.End - settle
	slot := func(from time.Duration) time.Duration {
		if from >= last {
			return last
		}
		return from + time.Duration(rng.IntN(int((last-from)/tick)+1))*tick
	}
	later := func(at, most time.Duration) time.Duration {
		return min(last, at+time.Duration(1+rng.IntN(int(most/tick)))*tick)
	}
	host := func() string { return hostNames[rng.IntN(len(hostNames))] }
	for range 1 + rng.IntN(10) {
		at := slot(tick)
		switch r := rng.IntN(100); {
		case r < 30:
			h := host()
			s.Events = append(s.Events, event{at, die, h})
			if rng.IntN(10) < 6 {
				s.Events = append(s.Events, event{later(at, 15*time.Minute), revive, h})
			}
		case r < 38:
			h := host()
			s.Events = append(s.Events, event{at, goodbye, h})
			if rng.IntN(2) == 0 {
				s.Events = append(s.Events, event{later(at, 15*time.Minute), revive, h})
			}
		case r < 45:
			s.Events = append(s.Events, event{at, relabel, host()})
		case r < 65:
			k := stop
			if rng.IntN(2) == 0 {
				k = kill
			}
			s.Events = append(s.Events, event{at, k, ""}, event{later(at, 10*time.Minute), start, ""})
		case r < 73:
			s.Events = append(s.Events, event{at, recvFail, ""}, event{later(at, 20*time.Minute), recvOK, ""})
		case r < 85:
			s.Events = append(s.Events, event{at, closeTicket, host()})
		default:
			s.Windows = append(s.Windows, maintenance{Host: host(), From: at, To: later(at, 15*time.Minute) + tick})
		}
	}
	sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].At < s.Events[j].At })
	return s
}

// tickets is the ticketing system: it keeps what it was told per
// incident, and fails while down.
type tickets struct {
	down  bool
	log   map[int64][]string // actions delivered, in order
	wrong []string           // deliveries whose incident contradicts the action
}

func (k *tickets) Notify(_ context.Context, n alerting.Notification, inc *alerting.Incident) (bool, error) {
	if k.down {
		return true, errors.New("ticketing system unavailable")
	}
	k.log[inc.ID] = append(k.log[inc.ID], n.Action)
	// The incident comes as the event left it: a resolution resolved, an
	// opening or reopening active.
	switch active := inc.Status.Active(); {
	case (n.Action == "opened" || n.Action == "reopened") && !active,
		n.Action == "resolved" && active:
		k.wrong = append(k.wrong, fmt.Sprintf("incident %d: %q delivered with status %s", inc.ID, n.Action, inc.Status))
	}
	return false, nil
}

// process is one collector process over the store.
type process struct {
	store      *sqlite.Store
	runID      int64
	tracker    *state.Tracker
	window     *samples.Store
	states     collector.StatePublisher // the tracker's states into window
	rules      *rules.Manager
	incidents  *alerting.Manager
	dispatcher *alerting.Dispatcher
	startedAt  time.Time
	lastAlive  time.Time
}

// run is one script being played.
type run struct {
	script    script
	dir       string
	ruleFiles []*rules.File
	logger    *slog.Logger

	now    time.Time
	proc   *process
	recv   *tickets
	alive  map[string]bool
	labels map[string]map[string]string // each agent's labels now

	facts facts // what happened, for the oracle
}

// facts are what the oracle is given: what reached the collector, and
// when the collector ran.
type facts struct {
	pushes     map[string][]time.Time // arrivals of pushes per host
	goodbyes   map[string][]time.Time
	labels     map[string]map[string]string   // the labels of each host's last push that arrived
	pushLabels map[string][]map[string]string // the labels of each arrival in pushes
	runs       []collectorRun                 // collector runs
	resolved   map[string][]time.Time         // hand resolutions per host (of an active incident)
	violation  []string                       // invariants broken while running
}

// collectorRun is one collector run: from its start to its stop, observing until
// its stop (clean) or its last heartbeat (killed).
type collectorRun struct {
	From, Stop, Observed time.Time
}

func (r *run) clock() time.Time { return r.now }

func (r *run) at(d time.Duration) time.Time { return t0.Add(d) }

func (r *run) windows() []state.Window {
	var out []state.Window
	for i, w := range r.script.Windows {
		out = append(out, state.Window{Name: fmt.Sprintf("w%d", i), Targets: []string{w.Host}, From: r.at(w.From), To: r.at(w.To), Source: "config"})
	}
	return out
}

func (r *run) start(ctx context.Context) error {
	st, err := sqlite.Open(ctx, filepath.Join(r.dir, "nines.db"))
	if err != nil {
		return err
	}
	p := &process{store: st, startedAt: r.now, lastAlive: r.now}
	var prevAlive time.Time
	if p.runID, prevAlive, err = st.StartRun(ctx, r.now); err != nil {
		return err
	}
	if p.tracker, err = state.New(ctx, st, state.Options{DownAfter: downAfter, Grace: grace, DefaultInterval: interval, CheckFailures: 2}, r.now, r.logger); err != nil {
		return err
	}
	p.tracker.SetMaintenance(r.windows())
	p.window = samples.New(time.Hour, 0, 0)
	if p.incidents, err = alerting.NewManager(ctx, st, r.logger); err != nil {
		return err
	}
	p.incidents.SetReceivers([]string{receiver})
	p.incidents.SetMaintenance(p.tracker.InMaintenance)
	p.dispatcher = alerting.NewDispatcher(st, map[string]alerting.Notifier{receiver: r.recv}, r.logger, nil)
	p.dispatcher.Now = r.clock
	p.rules = rules.NewManager(rules.Options{Queryable: p.window, Appender: p.window, Sink: p.incidents, DefaultInterval: 15 * time.Second,
		Logger: r.logger, StateStore: st, HoldUntil: r.now.Add(grace), Now: r.clock})
	p.rules.Update(r.ruleFiles)
	away := time.Duration(0)
	if !prevAlive.IsZero() {
		away = r.now.Sub(prevAlive)
	}
	if _, err := p.rules.Restore(ctx, away, time.Hour); err != nil {
		return err
	}
	r.proc = p
	r.facts.runs = append(r.facts.runs, collectorRun{From: r.now})
	// What the collector knows of its targets survives the restart.
	for _, tg := range p.tracker.Snapshot() {
		if want := r.facts.labels[tg.Name]; tg.Kind == state.KindHost && !maps.Equal(tg.Labels, want) {
			r.violate("after the restart at %s, %s has labels %v; its agent's last push had %v", r.now.Sub(t0), tg.Name, tg.Labels, want)
		}
	}
	p.states.PublishTracker(p.window, p.tracker, r.now)
	return nil
}

func (r *run) stop(ctx context.Context, clean bool) error {
	p := r.proc
	end := p.lastAlive
	if clean {
		if err := p.store.Alive(ctx, p.runID, r.now); err != nil {
			return err
		}
		end = r.now
	}
	r.facts.runs[len(r.facts.runs)-1].Stop = r.now
	r.facts.runs[len(r.facts.runs)-1].Observed = end
	r.proc = nil
	return p.store.Close()
}

func (r *run) violate(format string, args ...any) {
	r.facts.violation = append(r.facts.violation, fmt.Sprintf(format, args...))
}

// tick plays one step of the collector: deadlines, the published state
// series, the heartbeat, rule evaluation, incident timers and delivery.
func (r *run) tick(ctx context.Context) error {
	p := r.proc
	if err := p.tracker.Check(ctx, r.now); err != nil {
		return err
	}
	p.states.PublishTracker(p.window, p.tracker, r.now)
	if r.now.Sub(p.lastAlive) >= heartbeat {
		if err := p.store.Alive(ctx, p.runID, r.now); err != nil {
			return err
		}
		p.lastAlive = r.now
	}
	p.rules.EvalDue(ctx, r.now)
	p.incidents.CheckTimers(ctx, r.now)
	p.dispatcher.DeliverDue(ctx)
	return nil
}

// play runs the script over a fresh store in dir.
func play(ctx context.Context, s script, dir string, ruleFiles []*rules.File) (*run, error) {
	r := &run{script: s, dir: dir, ruleFiles: ruleFiles, logger: slog.New(slog.DiscardHandler), now: t0,
		recv: &tickets{log: map[int64][]string{}}, alive: map[string]bool{}, labels: map[string]map[string]string{},
		facts: facts{pushes: map[string][]time.Time{}, pushLabels: map[string][]map[string]string{}, goodbyes: map[string][]time.Time{}, labels: map[string]map[string]string{},
			resolved: map[string][]time.Time{}}}
	for _, h := range hostNames {
		r.alive[h], r.labels[h] = true, hostLabels[h]
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	next := 0
	for d := time.Duration(0); d <= s.End; d += tick {
		r.now = r.at(d)
		for ; next < len(s.Events) && s.Events[next].At <= d; next++ {
			if err := r.apply(ctx, s.Events[next]); err != nil {
				return nil, fmt.Errorf("%s: %w", s.Events[next], err)
			}
		}
		if d == s.End-settle && r.proc == nil {
			if err := r.start(ctx); err != nil {
				return nil, err
			}
		}
		for i, h := range hostNames {
			offset := time.Duration(i%2) * tick // pushes of some hosts fall between others'
			if !r.alive[h] || (d-offset)%interval != 0 || r.proc == nil {
				continue
			}
			obs := state.Observation{Name: h, ID: "machine-" + h, Labels: r.labels[h], Interval: interval}
			if err := r.proc.tracker.Observe(ctx, obs, r.now); err != nil {
				return nil, fmt.Errorf("push of %s: %w", h, err)
			}
			r.facts.pushes[h] = append(r.facts.pushes[h], r.now)
			r.facts.pushLabels[h] = append(r.facts.pushLabels[h], r.labels[h])
			if r.labels[h] != nil {
				r.facts.labels[h] = r.labels[h]
			}
		}
		if r.proc != nil {
			if err := r.tick(ctx); err != nil {
				return nil, fmt.Errorf("at %s: %w", d, err)
			}
		}
	}
	return r, nil
}

func (r *run) apply(ctx context.Context, e event) error {
	switch e.Kind {
	case die:
		r.alive[e.Host] = false
	case revive:
		r.alive[e.Host] = true
	case goodbye:
		if !r.alive[e.Host] {
			return nil
		}
		r.alive[e.Host] = false
		if r.proc != nil {
			if err := r.proc.tracker.Goodbye(ctx, e.Host, r.now); err != nil {
				return err
			}
			r.facts.goodbyes[e.Host] = append(r.facts.goodbyes[e.Host], r.now)
		}
	case relabel:
		l := maps.Clone(r.labels[e.Host])
		if l == nil {
			l = map[string]string{}
		}
		l["rack"] = fmt.Sprintf("r%d", len(l))
		r.labels[e.Host] = l
	case stop, kill:
		if r.proc != nil {
			return r.stop(ctx, e.Kind == stop)
		}
	case start:
		if r.proc == nil {
			return r.start(ctx)
		}
	case recvFail:
		r.recv.down = true
	case recvOK:
		r.recv.down = false
	case closeTicket:
		if r.proc == nil {
			return nil
		}
		active, err := r.proc.store.Incidents(ctx, alerting.Filter{Status: []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}})
		if err != nil {
			return err
		}
		for _, inc := range active {
			if inc.Target == e.Host {
				if err := r.proc.incidents.Resolve(ctx, inc.ID, "ticket:"+receiver, "ticket closed by hand", r.now); err != nil {
					return err
				}
				r.facts.resolved[e.Host] = append(r.facts.resolved[e.Host], r.now)
			}
		}
	}
	return nil
}

// hostIncidents are the incidents about each host, oldest first.
func hostIncidents(ctx context.Context, st *sqlite.Store) (map[string][]alerting.Incident, error) {
	all, err := st.Incidents(ctx, alerting.Filter{})
	if err != nil {
		return nil, err
	}
	out := map[string][]alerting.Incident{}
	for _, inc := range all {
		out[inc.Target] = append(out[inc.Target], inc)
	}
	for _, list := range out {
		slices.SortFunc(list, func(a, b alerting.Incident) int { return int(a.ID - b.ID) })
	}
	return out, nil
}
