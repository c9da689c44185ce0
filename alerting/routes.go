package alerting

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Route sends incidents that match to a receiver: every Match label equal
// (the incident's labels, and its service, target, severity and
// priority), and its priority one of Priorities (any when empty).
type Route struct {
	Receiver   string
	Match      map[string]string
	Priorities []Priority
	// Repeat, when set, reminds the receiver of an incident still open
	// and unacknowledged every Repeat.
	Repeat time.Duration
	// Schedule, when set, limits the route to the times it contains
	// (business hours to the service desk, the rest to on-call).
	Schedule Schedule
}

// Schedule is a calendar: whether a time is inside it.
type Schedule interface {
	Contains(t time.Time) bool
}

func (r Route) matchesAt(inc *Incident, at time.Time) bool {
	if r.Schedule != nil && !r.Schedule.Contains(at) {
		return false
	}
	return r.matches(inc)
}

func (r Route) matches(inc *Incident) bool {
	if len(r.Priorities) > 0 && !slices.Contains(r.Priorities, inc.Priority) {
		return false
	}
	for k, v := range r.Match {
		var have string
		switch k {
		case "service":
			have = inc.Service
		case "target":
			have = inc.Target
		case "severity":
			have = inc.Severity
		case "priority":
			have = string(inc.Priority)
		default:
			have = inc.Labels[k]
		}
		if have != v {
			return false
		}
	}
	return true
}

// SetRoutes replaces the routes. With none, every receiver is told of
// every incident.
func (m *Manager) SetRoutes(routes []Route) {
	m.mu.Lock()
	m.routes = slices.Clone(routes)
	m.mu.Unlock()
}

// notifyFor names the receivers told of a change to inc at a time: those
// its routes pick then, and every receiver told of it before (a receiver that heard
// of an incident hears of its end, whatever changed in between). The
// caller holds m.mu. An error reading who was told fails the change: a
// partial list would leave a receiver without the incident's end.
func (m *Manager) notifyFor(ctx context.Context, inc *Incident, at time.Time) ([]string, error) {
	var out []string
	if len(m.routes) == 0 {
		out = slices.Clone(m.receivers)
	} else {
		for _, r := range m.routes {
			if r.matchesAt(inc, at) && !slices.Contains(out, r.Receiver) {
				out = append(out, r.Receiver)
			}
		}
	}
	if inc.ID != 0 {
		told, err := m.store.Told(ctx, inc.ID)
		if err != nil {
			return nil, fmt.Errorf("read the receivers told of incident %d: %w", inc.ID, err)
		}
		for _, r := range told {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// remind sends the reminders that are due: an open, unacknowledged
// incident is repeated to each route's receiver every Repeat, counted from
// its opening or its last reminder to that receiver (read back from the
// timeline after a restart). The caller holds m.mu.
func (m *Manager) remind(ctx context.Context, now time.Time) {
	if len(m.reminded) > 0 {
		live := map[string]bool{}
		for _, inc := range m.active {
			for _, r := range m.routes {
				live[fmt.Sprintf("%d/%s", inc.ID, r.Receiver)] = true
			}
		}
		for k := range m.reminded {
			if !live[k] {
				delete(m.reminded, k)
			}
		}
	}
	for _, inc := range m.active {
		if inc.Status != StatusOpen {
			continue
		}
		for _, r := range m.routes {
			if r.Repeat <= 0 || !r.matchesAt(inc, now) {
				continue
			}
			key := fmt.Sprintf("%d/%s", inc.ID, r.Receiver)
			last, ok := m.reminded[key]
			if !ok {
				last = inc.OpenedAt
				evs, err := m.store.Events(ctx, inc.ID)
				if err != nil {
					m.logger.Error("read the timeline for reminders", "incident_id", inc.ID, "err", err)
					continue
				}
				for _, e := range evs {
					if (e.Action == "reminder" && strings.HasPrefix(e.Text, "to "+r.Receiver+":")) || e.Action == "reopened" {
						if e.At.After(last) {
							last = e.At
						}
					}
				}
				m.reminded[key] = last
			}
			if now.Sub(last) < r.Repeat {
				continue
			}
			m.reminded[key] = now
			ev := Event{IncidentID: inc.ID, At: now, Actor: Automatic, Action: "reminder",
				Text: fmt.Sprintf("to %s: still open and unacknowledged after %s", r.Receiver, now.Sub(inc.OpenedAt).Round(time.Second)), Notify: []string{r.Receiver}}
			if err := m.store.AddEvent(ctx, ev); err != nil {
				m.storeFailed("reminder", err, "incident_id", inc.ID, "receiver", r.Receiver)
				delete(m.reminded, key) // the next check tries again
			}
		}
	}
}

// ScheduleLabel on a rule names a calendar: its alerts open incidents
// only inside it (a desktop rule that matters in business hours only).
// An incident already open is not affected.
const ScheduleLabel = "schedule"

// SetSchedules names the calendars rules and routes can use.
func (m *Manager) SetSchedules(s map[string]Schedule) {
	m.mu.Lock()
	m.schedules = s
	m.mu.Unlock()
}

// outsideSchedule reports whether an alert's rule has a schedule that
// does not contain at. The caller holds m.mu.
func (m *Manager) outsideSchedule(lm map[string]string, at time.Time) bool {
	name := lm[ScheduleLabel]
	if name == "" {
		return false
	}
	sch := m.schedules[name]
	return sch != nil && !sch.Contains(at)
}
