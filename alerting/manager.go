package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/rules"
)

// Errors of incident actions.
var (
	// ErrNotFound: no incident has that id.
	ErrNotFound = errors.New("incident not found")
	// ErrConflict: the action does not apply to the incident's status
	// (acknowledging a resolved incident, closing an open one...).
	ErrConflict = errors.New("not possible in the incident's status")
	// ErrFenced: the store refused a write because this collector does
	// not lead its HA pair (or no longer does): incidents, their
	// notifications and tickets are the leader's to write.
	ErrFenced = errors.New("refused: not the leader of the HA pair")
)

// ReopenWindow: an alert that fires again within this time of its
// incident's resolution reopens that incident instead of opening another.
const ReopenWindow = time.Hour

// Manager opens and resolves incidents from rule evaluations. It is a
// rules.Sink. Its methods are safe for concurrent use.
type Manager struct {
	store  Store
	logger *slog.Logger

	metrics *metrics

	mu      sync.Mutex
	policy  Policy
	active  map[string]*Incident // by dedup key: open or acknowledged
	flagged map[string]bool      // timer events already recorded: "<id>/<kind>"
	flaps   map[string]*flapHistory
	parents map[string][]string // target -> the targets it depends on
	// receivers are told of every incident's opening, acknowledgement,
	// severity change, resolution, reopening and closing.
	receivers []string
	// routes pick receivers per incident; none: all receivers.
	routes []Route
	// reminded is when each incident was last repeated to a receiver
	// ("<id>/<receiver>").
	reminded map[string]time.Time
	// cleared marks incidents of resolve: manual rules whose alert
	// cleared, waiting for an operator's resolution (by dedup key).
	cleared map[string]bool
	// schedules are the calendars rules and routes name.
	schedules map[string]Schedule
	// inMaintenance names the maintenance window covering a target (with
	// an alert's labels), or ""; nil: none.
	inMaintenance func(target string, labels map[string]string, at time.Time) string
	// attached are child problems folded into a parent's incident: dedup
	// key -> the parent incident's id.
	attached map[string]attachment
	// held are alerts whose incident was resolved by hand (in Nines or
	// by closing its ticket) while they fired: dedup key -> the alert's
	// FiredAt. The hand resolution wins until the alert clears.
	held map[string]time.Time
	// leads says whether this collector leads its HA pair (nil: it is
	// alone, and always does). A follower decides nothing: no incident
	// opens, resolves or reopens, no timer fires.
	leads func() bool
	// loads counts loads from the store, so that a Follow that read
	// before a Reload does not replace the Reload's view.
	loads int
}

type attachment struct {
	parent int64 // the parent incident's id
	group  string
	label  string // rule and target, for the timeline
}

// ResolveLabel set to ResolveManual on a rule makes its incidents resolve
// pending confirmation: when the alert clears, the incident stays open
// (a "cleared" event) until an operator resolves it.
const (
	ResolveLabel  = "resolve"
	ResolveManual = "manual"
)

// AttachWindow: a child that goes down within this time of its parent's
// incident opening is taken as caused by it.
const AttachWindow = 5 * time.Minute

// SetReceivers names the receivers told of incident changes.
func (m *Manager) SetReceivers(names []string) {
	m.mu.Lock()
	m.receivers = append([]string(nil), names...)
	m.mu.Unlock()
}

// SetMaintenance sets how to tell whether a target is in a maintenance
// window (its alerts then open no incident).
func (m *Manager) SetMaintenance(in func(target string, labels map[string]string, at time.Time) string) {
	m.mu.Lock()
	m.inMaintenance = in
	m.mu.Unlock()
}

// SetDependencies replaces the target dependencies: target -> parents (a
// switch in front of servers, a site router).
func (m *Manager) SetDependencies(parents map[string][]string) {
	m.mu.Lock()
	m.parents = parents
	m.mu.Unlock()
}

// depth is how many levels of parents target has (cycles cut).
func (m *Manager) depth(target string) int {
	d, seen := 0, map[string]bool{target: true}
	level := m.parents[target]
	for len(level) > 0 {
		d++
		var next []string
		for _, p := range level {
			if !seen[p] {
				seen[p] = true
				next = append(next, m.parents[p]...)
			}
		}
		level = next
	}
	return d
}

// parentIncident finds an active incident of one of target's parents
// (transitively) opened within AttachWindow of at.
func (m *Manager) parentIncident(target string, at time.Time) *Incident {
	seen := map[string]bool{}
	queue := append([]string(nil), m.parents[target]...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		for _, inc := range m.active {
			if inc.Target == p {
				d := at.Sub(inc.OpenedAt)
				if d < 0 {
					d = -d
				}
				if d <= AttachWindow {
					return inc
				}
			}
		}
		queue = append(queue, m.parents[p]...)
	}
	return nil
}

var _ rules.Sink = (*Manager)(nil)

// NewManager loads the active incidents from the store.
func NewManager(ctx context.Context, store Store, logger *slog.Logger) (*Manager, error) {
	m := &Manager{store: store, logger: logger, metrics: newMetrics(), policy: DefaultPolicy()}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Reload forgets what the manager decided in memory and loads the active
// incidents and their recorded timer events from the store again: a
// collector that takes the lead of its HA pair continues the incidents
// the other one opened. On error the manager is unchanged.
func (m *Manager) Reload(ctx context.Context) error { return m.load(ctx, true) }

// Follow loads the active incidents from the store without their
// timelines: what a follower of an HA pair reports (nines_incidents_open)
// is the leader's, read again periodically. Reload before deciding.
func (m *Manager) Follow(ctx context.Context) error { return m.load(ctx, false) }

func (m *Manager) load(ctx context.Context, timers bool) error {
	m.mu.Lock()
	gen := m.loads
	m.mu.Unlock()
	active, flagged := map[string]*Incident{}, map[string]bool{}
	list, err := m.store.Incidents(ctx, Filter{Status: []Status{StatusOpen, StatusAcknowledged}})
	if err != nil {
		return fmt.Errorf("load active incidents: %w", err)
	}
	for i := range list {
		inc := list[i]
		active[inc.DedupKey] = &inc
		if !timers {
			continue
		}
		// Timer events already recorded are not recorded again.
		evs, err := m.store.Events(ctx, inc.ID)
		if err != nil {
			return fmt.Errorf("load incident timeline: %w", err)
		}
		for _, ev := range evs {
			if kind, ok := strings.CutPrefix(ev.Action, "target_"); ok {
				flagged[fmt.Sprintf("%d/%s", inc.ID, kind)] = true
			}
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !timers && m.loads != gen {
		return nil // a Reload (a takeover) ran meanwhile: its view stands
	}
	m.loads++
	m.active, m.flagged = active, flagged
	m.flaps, m.attached = map[string]*flapHistory{}, map[string]attachment{}
	m.reminded, m.cleared, m.held = map[string]time.Time{}, map[string]bool{}, map[string]time.Time{}
	return nil
}

// SetLeader sets how the manager tells whether its collector leads the
// HA pair (see the leads field); call it before the manager is used.
func (m *Manager) SetLeader(leads func() bool) { m.leads = leads }

// following reports whether another collector leads: this one then
// decides nothing.
func (m *Manager) following() bool { return m.leads != nil && !m.leads() }

// Alerts implements rules.Sink: a firing alert opens an incident unless
// one is active for its key; an active incident of the evaluated group
// whose alert is neither firing nor pending any more is resolved. This
// also resolves incidents whose alert cleared while the collector was
// stopped.
func (m *Manager) Alerts(ctx context.Context, now time.Time, group string, alerts []rules.Alert) {
	if m.following() {
		return // the leader decides; its incidents are in the store
	}
	stillActive := make(map[string]bool, len(alerts))
	m.mu.Lock()
	defer m.mu.Unlock()
	// Parents before their children, so a child that goes down with its
	// parent attaches to the parent's incident opened in this same pass.
	order := make([]int, len(alerts))
	depth := make([]int, len(alerts))
	for i := range alerts {
		order[i] = i
		depth[i] = m.depth(firstOf(alerts[i].Labels.Map(), "target", "host", "instance", "device"))
	}
	sort.SliceStable(order, func(x, y int) bool { return depth[order[x]] < depth[order[y]] })
	for _, i := range order {
		a := &alerts[i]
		lm := a.Labels.Map()
		key := DedupKey(a.Group, a.Rule, lm)
		if a.State == rules.StatePending || a.State == rules.StateFiring {
			stillActive[key] = true
		}
		if a.State != rules.StateFiring {
			continue
		}
		if inc := m.active[key]; inc != nil {
			if m.cleared[key] { // pending confirmation, and back
				err := m.addEvent(ctx, inc, Event{IncidentID: inc.ID, At: now, Actor: Automatic, Action: "fired_again",
					Text: "the alert fired again before the resolution was confirmed"})
				if err != nil {
					// Still pending confirmation: the next evaluation tries again.
					m.storeFailed("fired_again", err, "incident_id", inc.ID)
				} else {
					delete(m.cleared, key)
				}
			}
			m.updateSeverity(ctx, inc, lm, now)
			continue
		}
		if _, ok := m.attached[key]; ok {
			continue
		}
		firedAt := a.FiredAt
		if firedAt.IsZero() {
			firedAt = now
		}
		if at, ok := m.held[key]; ok && at.Equal(firedAt) {
			continue // resolved by hand while firing: not until it clears
		}
		if m.outsideSchedule(lm, now) {
			continue // the rule's calendar says not now; it opens when it is
		}
		target := firstOf(lm, "target", "host", "instance", "device")
		if m.inMaintenance != nil {
			if w := m.inMaintenance(target, lm, now); w != "" {
				// Planned work: no incident; the alert itself stays
				// visible (GET /api/v1/alerts) and is counted.
				m.metrics.suppressed.WithLabelValues("maintenance").Inc()
				m.logger.Debug("alert in a maintenance window: no incident", "rule", a.Rule, "target", target, "window", w)
				continue
			}
		}
		opened := a.FiredAt
		if opened.IsZero() {
			opened = now
		}
		if parent := m.parentIncident(target, opened); parent != nil {
			if err := m.store.AddEvent(ctx, Event{IncidentID: parent.ID, At: now, Actor: Automatic, Action: "child_attached",
				Text: fmt.Sprintf("%s on %s (depends on %s)", a.Rule, target, parent.Target)}); err != nil {
				// Not attached: the next evaluation tries again.
				m.storeFailed("child_attached", err, "incident_id", parent.ID, "rule", a.Rule, "target", target)
				continue
			}
			m.attached[key] = attachment{parent: parent.ID, group: a.Group, label: a.Rule + " on " + target}
			m.logger.Info("problem attached to its parent's incident", "rule", a.Rule, "target", target, "incident_id", parent.ID)
			continue
		}
		if m.reopen(ctx, key, firedAt, now) {
			continue
		}
		inc := &Incident{
			DedupKey:    key,
			Group:       a.Group,
			Rule:        a.Rule,
			Title:       titleFor(a),
			Description: a.Annotations["description"],
			Target:      firstOf(lm, "target", "host", "instance", "device"),
			Service:     lm["service"],
			Severity:    lm["severity"],
			Priority:    m.policy.Priority(lm),
			Status:      StatusOpen,
			Labels:      lm,
			Value:       a.Value,
			OpenedAt:    a.FiredAt,
		}
		if inc.OpenedAt.IsZero() {
			inc.OpenedAt = now
		}
		notify, err := m.notifyFor(ctx, inc, now)
		if err == nil {
			inc.Notify = notify
			err = m.store.InsertIncident(ctx, inc)
		}
		if err != nil {
			// Not recorded as active: the next evaluation tries again.
			m.storeFailed("open", err, "rule", a.Rule, "target", inc.Target)
			continue
		}
		m.active[key] = inc
		m.logger.Info("incident opened", "incident_id", inc.ID, "rule", a.Rule, "priority", inc.Priority, "target", inc.Target)
	}
	m.trackFlapping(ctx, now, group, alerts)
	for key := range m.held {
		if !stillActive[key] {
			delete(m.held, key) // cleared: the next firing is a new fault
		}
	}
	for key, inc := range m.active {
		if inc.Group != group || stillActive[key] {
			continue
		}
		if h := m.flaps[key]; h != nil && h.flapping {
			continue // flapping: one incident, no open/close storm, until it settles
		}
		if inc.Labels[ResolveLabel] == ResolveManual {
			// Resolve pending confirmation: the incident stays until an
			// operator resolves it.
			if !m.cleared[key] {
				err := m.addEvent(ctx, inc, Event{IncidentID: inc.ID, At: now, Actor: Automatic, Action: "cleared",
					Text: "the alert cleared; resolve to confirm (resolve: manual)"})
				if err != nil {
					// Not marked cleared: the next evaluation tries again.
					m.storeFailed("cleared", err, "incident_id", inc.ID)
					continue
				}
				m.cleared[key] = true
			}
			continue
		}
		notify, err := m.notifyFor(ctx, inc, now)
		if err == nil {
			ev := Event{At: now, Actor: Automatic, Action: "resolved", Text: "the alert cleared", Notify: notify}
			err = m.store.Transition(ctx, inc.ID, []Status{StatusOpen, StatusAcknowledged}, StatusResolved, ev)
		}
		if err != nil && !errors.Is(err, ErrConflict) {
			// Still active: the next evaluation tries again.
			m.storeFailed("resolve", err, "incident_id", inc.ID)
			continue
		}
		delete(m.active, key)
		m.metrics.toResolve.WithLabelValues(string(inc.Priority)).Observe(now.Sub(inc.OpenedAt).Seconds())
		m.logger.Info("incident resolved", "incident_id", inc.ID, "rule", inc.Rule, "target", inc.Target)
	}
	// Attached child problems that cleared, or whose parent incident is no
	// longer active, are let go (a child still down then gets its own).
	for key, at := range m.attached {
		parentActive := false
		for _, inc := range m.active {
			parentActive = parentActive || inc.ID == at.parent
		}
		cleared := at.group == group && !stillActive[key]
		if cleared || !parentActive {
			if parentActive {
				if err := m.store.AddEvent(ctx, Event{IncidentID: at.parent, At: now, Actor: Automatic, Action: "child_cleared", Text: at.label}); err != nil {
					// Still attached: the next evaluation tries again.
					m.storeFailed("child_cleared", err, "incident_id", at.parent)
					continue
				}
			}
			delete(m.attached, key)
		}
	}
}

// trackFlapping records, for every problem of the group (alerts seen now
// and incidents open), whether it fires at this evaluation, and marks it
// flapping or settled on the incident's timeline.
func (m *Manager) trackFlapping(ctx context.Context, now time.Time, group string, alerts []rules.Alert) {
	firing := map[string]bool{}
	for i := range alerts {
		a := &alerts[i]
		key := DedupKey(a.Group, a.Rule, a.Labels.Map())
		firing[key] = firing[key] || a.State == rules.StateFiring
		if m.flaps[key] == nil {
			m.flaps[key] = &flapHistory{}
		}
	}
	for key, inc := range m.active {
		if inc.Group == group && m.flaps[key] == nil {
			m.flaps[key] = &flapHistory{}
		}
	}
	for key, h := range m.flaps {
		inGroup := false
		if inc := m.active[key]; inc != nil && inc.Group == group {
			inGroup = true
		}
		if _, seen := firing[key]; seen {
			inGroup = true
		}
		if !inGroup {
			continue
		}
		pct := h.observe(firing[key])
		inc := m.active[key]
		switch {
		case !h.flapping && pct >= FlapHigh:
			h.flapping = true
			if inc != nil {
				// The timeline entry only: flapping holds the incident
				// whether or not it could be recorded.
				if err := m.store.AddEvent(ctx, Event{IncidentID: inc.ID, At: now, Actor: Automatic, Action: "flapping",
					Text: fmt.Sprintf("state changed %.0f%% of the last %d evaluations", pct, flapWindow)}); err != nil {
					m.storeFailed("flapping", err, "incident_id", inc.ID)
				}
			}
		case h.flapping && pct < FlapLow:
			h.flapping = false
			if inc != nil {
				if err := m.store.AddEvent(ctx, Event{IncidentID: inc.ID, At: now, Actor: Automatic, Action: "settled",
					Text: fmt.Sprintf("state changed %.0f%% of the last %d evaluations", pct, flapWindow)}); err != nil {
					m.storeFailed("settled", err, "incident_id", inc.ID)
				}
			}
		case !h.flapping && len(h.states) == flapWindow && !firing[key] && inc == nil:
			delete(m.flaps, key) // quiet and closed: forget it
		}
	}
}

// Flapping reports whether the problem of this dedup key is flapping.
func (m *Manager) Flapping(key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.flaps[key]
	return h != nil && h.flapping
}

// reopen reopens the incident of key resolved within ReopenWindow, if
// any, and reports whether it did, or holds the alert: when the alert
// has fired since before that resolution (firedAt not after it), the
// incident was resolved by hand (in Nines, or its ticket closed) while
// the fault went on, and the operator's word stands until the alert
// clears; it then reports true too, so no other incident opens. This
// survives restarts: rule state, FiredAt included, is restored.
func (m *Manager) reopen(ctx context.Context, key string, firedAt, now time.Time) bool {
	prev, err := m.store.LastResolved(ctx, key, now.Add(-ReopenWindow))
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			m.storeFailed("reopen", fmt.Errorf("look up a recent incident: %w", err))
		}
		return false
	}
	if prev.ResolvedAt != nil && !firedAt.After(*prev.ResolvedAt) {
		if _, ok := m.held[key]; !ok {
			m.logger.Info("incident resolved by hand while its alert fires: not reopened until the alert clears",
				"incident_id", prev.ID, "rule", prev.Rule, "target", prev.Target)
		}
		m.held[key] = firedAt
		return true
	}
	notify, err := m.notifyFor(ctx, prev, now)
	if err == nil {
		ev := Event{At: now, Actor: Automatic, Action: "reopened", Text: "the alert fired again", Notify: notify}
		err = m.store.Transition(ctx, prev.ID, []Status{StatusResolved, StatusClosed}, StatusOpen, ev)
	}
	if err != nil {
		m.storeFailed("reopen", err, "incident_id", prev.ID)
		return false
	}
	prev.Status, prev.ResolvedAt, prev.ClosedAt, prev.AcknowledgedAt, prev.AcknowledgedBy = StatusOpen, nil, nil, nil, ""
	m.active[key] = prev
	m.logger.Info("incident reopened", "incident_id", prev.ID, "rule", prev.Rule, "target", prev.Target)
	return true
}

// Acknowledge records that actor has taken an open incident on.
func (m *Manager) Acknowledge(ctx context.Context, id int64, actor, text string, now time.Time) error {
	return m.act(ctx, id, []Status{StatusOpen}, StatusAcknowledged, Event{At: now, Actor: actor, Action: "acknowledged", Text: text})
}

// Resolve marks an open or acknowledged incident resolved by hand. The
// hand resolution wins while its alert goes on firing (no reopening, no
// new incident); once the alert clears, a new firing reopens it (within
// ReopenWindow) or opens a new one.
func (m *Manager) Resolve(ctx context.Context, id int64, actor, text string, now time.Time) error {
	return m.act(ctx, id, []Status{StatusOpen, StatusAcknowledged}, StatusResolved, Event{At: now, Actor: actor, Action: "resolved", Text: text})
}

// Close closes a resolved incident.
func (m *Manager) Close(ctx context.Context, id int64, actor, text string, now time.Time) error {
	return m.act(ctx, id, []Status{StatusResolved}, StatusClosed, Event{At: now, Actor: actor, Action: "closed", Text: text})
}

// Reopen reopens a resolved or closed incident by hand (unacknowledged).
func (m *Manager) Reopen(ctx context.Context, id int64, actor, text string, now time.Time) error {
	return m.act(ctx, id, []Status{StatusResolved, StatusClosed}, StatusOpen, Event{At: now, Actor: actor, Action: "reopened", Text: text})
}

// Comment adds a note to an incident's timeline; receivers get it (a
// ticket's note).
func (m *Manager) Comment(ctx context.Context, id int64, actor, text string, now time.Time) error {
	if text == "" {
		return fmt.Errorf("%w: a comment needs text", ErrConflict)
	}
	inc, err := m.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.addEvent(ctx, inc, Event{IncidentID: id, At: now, Actor: actor, Action: "commented", Text: text})
}

// Assign assigns an active incident to a person or team.
func (m *Manager) Assign(ctx context.Context, id int64, actor, assignee string, now time.Time) error {
	if assignee == "" {
		return fmt.Errorf("%w: assign to whom?", ErrConflict)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, err := m.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	notify, err := m.notifyFor(ctx, inc, now)
	if err != nil {
		return err
	}
	if err := m.store.Assign(ctx, id, assignee, Event{At: now, Actor: actor, Action: "assigned", Text: "to " + assignee, Notify: notify}); err != nil {
		return err
	}
	for _, inc := range m.active {
		if inc.ID == id {
			inc.Assignee = assignee
		}
	}
	m.logger.Info("incident assigned", "incident_id", id, "actor", actor, "assignee", assignee)
	return nil
}

// act runs a manual transition and keeps the active set in step.
func (m *Manager) act(ctx context.Context, id int64, from []Status, to Status, ev Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	before, err := m.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	if ev.Notify, err = m.notifyFor(ctx, before, ev.At); err != nil {
		return err
	}
	if err := m.store.Transition(ctx, id, from, to, ev); err != nil {
		return err
	}
	inc, err := m.store.Incident(ctx, id)
	if err != nil {
		return err
	}
	if to.Active() {
		m.active[inc.DedupKey] = inc
	} else {
		delete(m.active, inc.DedupKey)
		delete(m.cleared, inc.DedupKey)
	}
	switch to {
	case StatusAcknowledged:
		m.metrics.toAck.WithLabelValues(string(inc.Priority)).Observe(ev.At.Sub(inc.OpenedAt).Seconds())
	case StatusResolved:
		m.metrics.toResolve.WithLabelValues(string(inc.Priority)).Observe(ev.At.Sub(inc.OpenedAt).Seconds())
	}
	m.logger.Info("incident "+ev.Action, "incident_id", id, "actor", ev.Actor)
	return nil
}

// addEvent records ev on inc's timeline with the receivers notifyFor
// names at ev.At, in one store transaction. The caller holds m.mu.
func (m *Manager) addEvent(ctx context.Context, inc *Incident, ev Event) error {
	notify, err := m.notifyFor(ctx, inc, ev.At)
	if err != nil {
		return err
	}
	ev.Notify = notify
	return m.store.AddEvent(ctx, ev)
}

// updateSeverity follows a multi-severity rule: the incident's severity
// and priority change with the alert's, as evaluated at now. The change,
// its event and its notifications commit together; on error nothing
// changed and the next evaluation tries again.
func (m *Manager) updateSeverity(ctx context.Context, inc *Incident, lm map[string]string, now time.Time) {
	sev, prio := lm["severity"], m.policy.Priority(lm)
	if sev == inc.Severity && prio == inc.Priority {
		return
	}
	changed := *inc
	changed.Severity, changed.Priority = sev, prio
	notify, err := m.notifyFor(ctx, &changed, now)
	if err == nil {
		err = m.store.SetSeverity(ctx, inc.ID, sev, prio, Event{At: now, Actor: Automatic, Action: "severity",
			Text: fmt.Sprintf("%s/%s -> %s/%s", inc.Severity, inc.Priority, sev, prio), Notify: notify})
	}
	if err != nil {
		m.storeFailed("severity", err, "incident_id", inc.ID)
		return
	}
	m.logger.Info("incident severity changed", "incident_id", inc.ID, "from", inc.Severity, "to", sev, "priority", prio)
	inc.Severity, inc.Priority = sev, prio
}

// OpenByPriority counts active incidents per priority (every priority is
// present, zero included).
func (m *Manager) OpenByPriority() map[Priority]int {
	out := make(map[Priority]int, len(Priorities))
	for _, p := range Priorities {
		out[p] = 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, inc := range m.active {
		out[inc.Priority]++
	}
	return out
}

// OpenByService counts active incidents per priority and service ("" for
// none).
func (m *Manager) OpenByService() map[[2]string]int {
	out := map[[2]string]int{}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, inc := range m.active {
		out[[2]string{string(inc.Priority), inc.Service}]++
	}
	return out
}

func titleFor(a *rules.Alert) string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	if s := a.Annotations["title"]; s != "" {
		return s
	}
	var b []byte
	b = append(b, a.Rule...)
	a.Labels.Range(func(l labels.Label) {
		if l.Name == labels.AlertName {
			return
		}
		if l.Name == "host" || l.Name == "target" || l.Name == "instance" {
			b = append(b, " on "...)
			b = append(b, l.Value...)
		}
	})
	return string(b)
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}
