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
	// ResendEvery is how often, in API mode, firing incidents are sent
	// again (default DefaultResendEvery); each firing alert carries an
	// endsAt four intervals ahead, as Prometheus sends them, so the
	// Alertmanager keeps it firing while Nines does, and resolves it by
	// itself a few minutes after Nines stops telling it.
	ResendEvery time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// DefaultResendEvery is Prometheus's --rules.alert.resend-delay.
const DefaultResendEvery = time.Minute

var (
	_ alerting.Notifier  = (*Notifier)(nil)
	_ alerting.Refresher = (*Notifier)(nil)
)

// RefreshEvery implements alerting.Refresher: the resend interval in API
// mode; 0 in webhook mode, where nothing expires.
func (n *Notifier) RefreshEvery() time.Duration {
	if n.Mode != API {
		return 0
	}
	if n.ResendEvery > 0 {
		return n.ResendEvery
	}
	return DefaultResendEvery
}

func (n *Notifier) now() time.Time {
	if n.Now != nil {
		return n.Now()
	}
	return time.Now()
}

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

// apiAlert is an alert as the v2 API takes it: startsAt and endsAt, no
// status; a firing one ends four resend intervals from now unless sent
// again.
func (n *Notifier) apiAlert(inc *alerting.Incident, at, now time.Time) Alert {
	a := n.alertOf(inc, at)
	if a.Status == "firing" {
		a.EndsAt = now.Add(4 * n.RefreshEvery())
	}
	a.Status = ""
	return a
}

// Refresh implements alerting.Refresher: in API mode, one post with
// every incident as it is now.
func (n *Notifier) Refresh(ctx context.Context, _ string, incidents []alerting.Incident, now time.Time) (bool, error) {
	if n.Mode != API || len(incidents) == 0 {
		return false, nil
	}
	alerts := make([]Alert, 0, len(incidents))
	for i := range incidents {
		alerts = append(alerts, n.apiAlert(&incidents[i], now, n.now()))
	}
	body, err := json.Marshal(alerts)
	if err != nil {
		return false, err
	}
	return n.post(ctx, n.URL+"/api/v2/alerts", body)
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	a := n.alertOf(inc, note.At)
	var body []byte
	var err error
	target := n.URL
	switch n.Mode {
	case API:
		body, err = json.Marshal([]Alert{n.apiAlert(inc, note.At, n.now())})
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
	return n.post(ctx, target, body)
}

func (n *Notifier) post(ctx context.Context, target string, body []byte) (bool, error) {
	var headers map[string]string
	if n.BearerToken != "" {
		headers = map[string]string{"Authorization": "Bearer " + n.BearerToken}
	}
	return notify.Post(ctx, n.Client, target, "alertmanager "+string(n.Mode), body, headers, n.Timeout)
}
