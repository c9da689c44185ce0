package alerting

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// timer kinds, as they appear in events and metric labels.
const (
	timerRespond = "respond"
	timerResolve = "resolve"
)

// metrics are the incident figures exported for Prometheus.
type metrics struct {
	toAck, toResolve *prometheus.HistogramVec
	breaches         *prometheus.CounterVec
	suppressed       *prometheus.CounterVec
	// storeErrors counts incident changes the store refused, by
	// operation: each was logged once and is retried where it can be.
	storeErrors *prometheus.CounterVec
	// fenced counts incident changes refused because another collector
	// of the HA pair leads (ErrFenced), also counted in storeErrors.
	fenced prometheus.Counter
}

func newMetrics() *metrics {
	buckets := []float64{60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 24 * 3600, 72 * 3600, 5 * 24 * 3600}
	return &metrics{
		toAck: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nines_incident_time_to_acknowledge_seconds", Help: "Time from an incident's opening to its acknowledgement, by priority.", Buckets: buckets,
		}, []string{"priority"}),
		toResolve: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nines_incident_time_to_resolve_seconds", Help: "Time from an incident's opening to its resolution, by priority.", Buckets: buckets,
		}, []string{"priority"}),
		breaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_incident_target_breaches_total", Help: "Response and resolution targets breached (kind respond or resolve) and nearly breached (kind near_respond, near_resolve), by priority.",
		}, []string{"kind", "priority"}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_alerts_suppressed_total", Help: "Firing alerts that opened no incident, by reason (maintenance).",
		}, []string{"reason"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_incident_store_errors_total", Help: "Incident changes (with their notifications) that could not be recorded, by operation.",
		}, []string{"op"}),
		fenced: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_incident_writes_fenced_total", Help: "Incident changes refused because another collector of the HA pair leads now (a deposed leader's decisions).",
		}),
	}
}

// storeFailed logs an incident change that could not be recorded and
// counts it. The caller holds m.mu or owns the change.
func (m *Manager) storeFailed(op string, err error, attrs ...any) {
	m.metrics.storeErrors.WithLabelValues(op).Inc()
	if errors.Is(err, ErrFenced) {
		m.metrics.fenced.Inc()
		m.logger.Warn("incident change refused: another collector leads the pair now", append([]any{"op", op, "err", err}, attrs...)...)
		return
	}
	m.logger.Error("record incident change", append([]any{"op", op, "err", err}, attrs...)...)
}

// Register adds the incident metrics to reg.
func (m *Manager) Register(reg prometheus.Registerer) {
	reg.MustRegister(m.metrics.toAck, m.metrics.toResolve, m.metrics.breaches, m.metrics.suppressed, m.metrics.storeErrors, m.metrics.fenced)
}

// SetPolicy replaces the priority policy (after a reload).
func (m *Manager) SetPolicy(p Policy) {
	m.mu.Lock()
	m.policy = p
	m.mu.Unlock()
}

// CheckTimers compares every active incident with its priority's targets
// at now: the first time an incident passes NearBreach of a target, and
// the first time it passes the target itself, an event is recorded (the
// escalation point for notifications) and counted. An acknowledged
// incident has met its response target.
func (m *Manager) CheckTimers(ctx context.Context, now time.Time) {
	if m.following() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.remind(ctx, now)
	for _, inc := range m.active {
		tg, ok := m.policy.Targets[inc.Priority]
		if !ok {
			continue
		}
		elapsed := now.Sub(inc.OpenedAt)
		check := func(kind string, target time.Duration, met bool) {
			if met || target <= 0 {
				return
			}
			if elapsed >= target {
				m.flag(ctx, inc, kind, fmt.Sprintf("%s target of %s breached", kind, target), now)
			} else if elapsed >= time.Duration(float64(target)*m.policy.NearBreach) {
				m.flag(ctx, inc, "near_"+kind, fmt.Sprintf("%.0f%% of the %s target of %s used", m.policy.NearBreach*100, kind, target), now)
			}
		}
		check(timerRespond, tg.Respond, inc.AcknowledgedAt != nil)
		check(timerResolve, tg.Resolve, false)
	}
}

// flag records a timer event once per incident and kind, and tells the
// incident's receivers (the escalation: also while acknowledged).
func (m *Manager) flag(ctx context.Context, inc *Incident, kind, text string, now time.Time) {
	key := fmt.Sprintf("%d/%s", inc.ID, kind)
	if m.flagged[key] {
		return
	}
	notify, err := m.notifyFor(ctx, inc, now)
	if err == nil {
		err = m.store.AddEvent(ctx, Event{IncidentID: inc.ID, At: now, Actor: Automatic, Action: "target_" + kind, Text: text, Notify: notify})
	}
	if err != nil {
		m.storeFailed("timer", err, "incident_id", inc.ID, "kind", kind)
		return // not flagged: the next check tries again
	}
	m.flagged[key] = true
	m.metrics.breaches.WithLabelValues(kind, string(inc.Priority)).Inc()
	m.logger.Warn("incident timer", "incident_id", inc.ID, "priority", inc.Priority, "what", text)
}

// TargetsFor returns the response and resolution targets of a priority
// under the current policy.
func (m *Manager) TargetsFor(p Priority) (Targets, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.policy.Targets[p]
	return t, ok
}

// CloseResolved closes the incidents that have stayed resolved for the
// policy's CloseAfter (a reopen within it would have made them open
// again). Receivers are told, as for a close by hand.
func (m *Manager) CloseResolved(ctx context.Context, now time.Time) error {
	if m.following() {
		return nil
	}
	m.mu.Lock()
	after := m.policy.CloseAfter
	m.mu.Unlock()
	if after <= 0 {
		return nil
	}
	list, err := m.store.Incidents(ctx, Filter{Status: []Status{StatusResolved}})
	if err != nil {
		return err
	}
	for _, inc := range list {
		if inc.ResolvedAt == nil || now.Sub(*inc.ResolvedAt) < after {
			continue
		}
		err := m.act(ctx, inc.ID, []Status{StatusResolved}, StatusClosed, Event{At: now, Actor: Automatic, Action: "closed",
			Text: fmt.Sprintf("resolved for %s", after)})
		if err != nil && !errors.Is(err, ErrConflict) {
			return err
		}
	}
	return nil
}
