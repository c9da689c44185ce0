package pagerduty

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// TestEvents checks the exact requests against the Events API v2
// documentation: action per incident event, dedup_key, payload fields,
// and the retry rules (429 and 5xx retried, other 4xx not).
func TestEvents(t *testing.T) {
	var got []Event
	status := http.StatusAccepted
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var ev Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, ev)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	n := &Notifier{URL: srv.URL, RoutingKey: "R0UTING"}
	inc := &alerting.Incident{ID: 3, DedupKey: "k1", Rule: "HostDown", Title: "db1 is down", Target: "db1", Service: "erp",
		Priority: alerting.P1, Labels: map[string]string{"host": "db1"}}
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, action := range []string{"opened", "acknowledged", "commented", "resolved"} {
		if retry, err := n.Notify(context.Background(), alerting.Notification{Action: action, At: at}, inc); err != nil || retry {
			t.Fatalf("%s: retry %v err %v", action, retry, err)
		}
	}
	if len(got) != 3 {
		t.Fatalf("requests: got %d, want 3 (a comment sends nothing)", len(got))
	}
	tr := got[0]
	if tr.EventAction != "trigger" || tr.RoutingKey != "R0UTING" || tr.DedupKey != "nines-k1" || tr.Payload == nil ||
		tr.Payload.Summary != "db1 is down" || tr.Payload.Source != "db1" || tr.Payload.Severity != "critical" ||
		tr.Payload.Component != "erp" || !tr.Payload.Timestamp.Equal(at) {
		t.Errorf("trigger: %+v %+v", tr, tr.Payload)
	}
	if got[1].EventAction != "acknowledge" || got[2].EventAction != "resolve" || got[2].DedupKey != "nines-k1" || got[2].Payload != nil {
		t.Errorf("acknowledge/resolve: %+v %+v", got[1], got[2])
	}
	for _, tc := range []struct {
		code  int
		retry bool
	}{{500, true}, {503, true}, {429, true}, {400, false}, {403, false}} {
		status = tc.code
		retry, err := n.Notify(context.Background(), alerting.Notification{Action: "opened", At: at}, inc)
		if err == nil || retry != tc.retry {
			t.Errorf("HTTP %d: retry %v err %v; want retry %v", tc.code, retry, err, tc.retry)
		}
	}
}
