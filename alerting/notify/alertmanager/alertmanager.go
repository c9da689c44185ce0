// Package alertmanager speaks Prometheus Alertmanager's two languages:
// the webhook payload (version 4), which many tools already accept, and
// the v2 API (POST /api/v2/alerts), for teams that already route with an
// Alertmanager.
package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify"
)

// Mode selects the format.
type Mode string

// The modes.
const (
	// Webhook posts Alertmanager's webhook payload (version 4).
	Webhook Mode = "webhook"
	// API pushes alerts to an Alertmanager's /api/v2/alerts.
	API Mode = "api"
)

// Notifier sends incident events in Alertmanager's formats.
type Notifier struct {
	URL         string // webhook URL, or the Alertmanager's base URL
	Mode        Mode
	BearerToken string
	Client      *http.Client
	Timeout     time.Duration
	// ExternalURL links back to Nines (generatorURL, externalURL).
	ExternalURL string
}

var _ alerting.Notifier = (*Notifier)(nil)

// Alert is one alert in Alertmanager's shape.
type Alert struct {
	Status       string            `json:"status,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint,omitempty"`
}

// WebhookMessage is the version 4 webhook payload.
type WebhookMessage struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []Alert           `json:"alerts"`
}

// alertOf maps an incident to one alert: firing while active, resolved
// (with endsAt) once resolved or closed.
func (n *Notifier) alertOf(inc *alerting.Incident, at time.Time) Alert {
	lbls := map[string]string{}
	for k, v := range inc.Labels {
		lbls[k] = v
	}
	lbls["alertname"] = inc.Rule
	lbls["nines_incident"] = strconv.FormatInt(inc.ID, 10)
	lbls["priority"] = string(inc.Priority)
	a := Alert{Status: "firing", Labels: lbls, StartsAt: inc.OpenedAt, Fingerprint: inc.DedupKey,
		Annotations: map[string]string{"summary": inc.Title, "description": inc.Description}}
	if n.ExternalURL != "" {
		a.GeneratorURL = fmt.Sprintf("%s/incidents/%d", n.ExternalURL, inc.ID)
	}
	if !inc.Status.Active() {
		a.Status = "resolved"
		a.EndsAt = at
		if inc.ResolvedAt != nil {
			a.EndsAt = *inc.ResolvedAt
		}
	}
	return a
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	a := n.alertOf(inc, note.At)
	var body []byte
	var err error
	target := n.URL
	switch n.Mode {
	case API:
		a.Status = "" // the v2 API takes startsAt/endsAt, not a status
		body, err = json.Marshal([]Alert{a})
		target = n.URL + "/api/v2/alerts"
	default:
		body, err = json.Marshal(WebhookMessage{
			Version: "4", GroupKey: inc.DedupKey, Status: a.Status, Receiver: note.Receiver,
			GroupLabels: map[string]string{"alertname": inc.Rule}, CommonLabels: a.Labels, CommonAnnotations: a.Annotations,
			ExternalURL: n.ExternalURL, Alerts: []Alert{a},
		})
	}
	if err != nil {
		return false, err
	}
	var headers map[string]string
	if n.BearerToken != "" {
		headers = map[string]string{"Authorization": "Bearer " + n.BearerToken}
	}
	return notify.Post(ctx, n.Client, target, "alertmanager "+string(n.Mode), body, headers, n.Timeout)
}
