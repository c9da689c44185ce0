// Package webhook delivers incident events as JSON to an HTTP endpoint,
// signed with HMAC-SHA256, in a documented, versioned schema.
//
// The request: POST, Content-Type application/json, headers
// X-Nines-Timestamp (Unix seconds), X-Nines-Signature
// ("sha256=" + hex HMAC-SHA256 of timestamp + "." + body, with the shared
// secret), Idempotency-Key (stable per notification, so a redelivery after
// a crash can be recognised). 2xx is success; 429 and 5xx are retried;
// other 4xx are not.
//
// With a Template the body is the template's output instead of the JSON
// payload (for a chat system or a ticket gateway that wants its own
// shape); it is executed with the Payload, and json (a JSON string) is
// available to quote values. The signature then covers that body.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"text/template"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify"
)

// Version of the payload schema.
const Version = "1"

// Payload is what the receiver gets.
type Payload struct {
	Version  string             `json:"version"`
	Event    Event              `json:"event"`
	Incident *alerting.Incident `json:"incident"`
}

// Event is the change the notification is about.
type Event struct {
	Action string    `json:"action"`
	Text   string    `json:"text,omitempty"`
	At     time.Time `json:"at"`
}

// Notifier posts to one URL.
type Notifier struct {
	URL     string
	Secret  []byte
	Client  *http.Client
	Timeout time.Duration
	// Template, when set, makes the body (see the package comment), and
	// ContentType is its type (default application/json).
	Template    *template.Template
	ContentType string
}

// ParseTemplate parses a body template (with the json function).
func ParseTemplate(name, text string) (*template.Template, error) {
	return template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"json": func(v any) (string, error) {
			b, err := json.Marshal(v)
			return string(b), err
		},
	}).Parse(text)
}

var _ alerting.Notifier = (*Notifier)(nil)

// Sign returns the signature header value for a timestamp and body.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	p := Payload{Version: Version, Event: Event{Action: note.Action, Text: note.Text, At: note.At}, Incident: inc}
	var body []byte
	var err error
	if n.Template != nil {
		var b bytes.Buffer
		if err := n.Template.Execute(&b, p); err != nil {
			return false, fmt.Errorf("webhook template: %w", err)
		}
		body = b.Bytes()
	} else if body, err = json.Marshal(p); err != nil {
		return false, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	headers := map[string]string{
		"X-Nines-Timestamp": ts,
		"X-Nines-Signature": Sign(n.Secret, ts, body),
		"Idempotency-Key":   fmt.Sprintf("nines-notification-%d", note.ID),
	}
	if n.ContentType != "" {
		headers["Content-Type"] = n.ContentType
	}
	return notify.Post(ctx, n.Client, n.URL, "webhook", body, headers, n.Timeout)
}
