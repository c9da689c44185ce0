package alerting

import (
	"context"
	"slices"
)

// Route sends incidents that match to a receiver: every Match label equal
// (the incident's labels, and its service, target, severity and
// priority), and its priority one of Priorities (any when empty).
type Route struct {
	Receiver   string
	Match      map[string]string
	Priorities []Priority
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

// notifyFor names the receivers told of a change to inc: those its routes
// pick now, and every receiver told of it before (a receiver that heard
// of an incident hears of its end, whatever changed in between). The
// caller holds m.mu.
func (m *Manager) notifyFor(ctx context.Context, inc *Incident) []string {
	var out []string
	if len(m.routes) == 0 {
		out = slices.Clone(m.receivers)
	} else {
		for _, r := range m.routes {
			if r.matches(inc) && !slices.Contains(out, r.Receiver) {
				out = append(out, r.Receiver)
			}
		}
	}
	if inc.ID != 0 {
		told, err := m.store.Told(ctx, inc.ID)
		if err != nil {
			m.logger.Error("read the receivers told of an incident", "incident_id", inc.ID, "err", err)
		}
		for _, r := range told {
			if !slices.Contains(out, r) {
				out = append(out, r)
			}
		}
	}
	return out
}
