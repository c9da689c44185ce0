// Package pagerduty sends incident events to PagerDuty's Events API v2:
// trigger on opening and reopening, acknowledge, resolve on resolution and
// closing, with the incident's dedup key as PagerDuty's dedup_key, so
// retries and redeliveries after a crash update the same PagerDuty
// incident instead of opening another.
package pagerduty

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify"
)

// DefaultURL is PagerDuty's Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// Notifier sends to one PagerDuty service (its integration key).
type Notifier struct {
	URL        string // DefaultURL unless testing or proxying
	RoutingKey string
	Client     *http.Client
	Timeout    time.Duration
}

var _ alerting.Notifier = (*Notifier)(nil)

// Event is the Events API v2 request body.
type Event struct {
	RoutingKey  string   `json:"routing_key"`
	EventAction string   `json:"event_action"`
	DedupKey    string   `json:"dedup_key"`
	Payload     *Payload `json:"payload,omitempty"`
}

// Payload describes a triggered alert.
type Payload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"` // critical, error, warning, info
	Timestamp     time.Time         `json:"timestamp"`
	Component     string            `json:"component,omitempty"`
	Group         string            `json:"group,omitempty"`
	Class         string            `json:"class,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

// severity maps Nines's priority to PagerDuty's severities.
func severity(p alerting.Priority) string {
	switch p {
	case alerting.P1:
		return "critical"
	case alerting.P2:
		return "error"
	case alerting.P3:
		return "warning"
	default:
		return "info"
	}
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	ev := Event{RoutingKey: n.RoutingKey, DedupKey: "nines-" + inc.DedupKey}
	switch note.Action {
	case "opened", "reopened", "severity":
		ev.EventAction = "trigger"
		source := inc.Target
		if source == "" {
			source = "nines"
		}
		summary := inc.Title
		if len(summary) > 1024 {
			summary = summary[:1024]
		}
		ev.Payload = &Payload{Summary: summary, Source: source, Severity: severity(inc.Priority), Timestamp: note.At,
			Component: inc.Service, Group: inc.Group, Class: inc.Rule, CustomDetails: inc.Labels}
	case "acknowledged":
		ev.EventAction = "acknowledge"
	case "resolved", "closed":
		ev.EventAction = "resolve"
	default:
		return false, nil // comments and timers have no PagerDuty counterpart
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return false, err
	}
	url := n.URL
	if url == "" {
		url = DefaultURL
	}
	return notify.Post(ctx, n.Client, url, "PagerDuty", body, nil, n.Timeout)
}
