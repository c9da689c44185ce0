package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/webhook"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/rules"
)

// receiver checks the signature and records payloads; it answers with the
// queued status codes first.
type receiver struct {
	mu       sync.Mutex
	secret   []byte
	statuses []int
	got      []webhook.Payload
	keys     []string
	badSig   int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	if req.Header.Get("X-Nines-Signature") != webhook.Sign(r.secret, req.Header.Get("X-Nines-Timestamp"), body) {
		r.badSig++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if len(r.statuses) > 0 {
		code := r.statuses[0]
		r.statuses = r.statuses[1:]
		http.Error(w, "scripted", code)
		return
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.got = append(r.got, p)
	r.keys = append(r.keys, req.Header.Get("Idempotency-Key"))
	w.WriteHeader(http.StatusNoContent)
}

// TestOutboxToWebhook: an incident's opening and resolution reach a signed
// webhook through the outbox, a 503 is retried with backoff, and a queued
// notification survives a restart of everything but the store.
func TestOutboxToWebhook(t *testing.T) {
	ctx := context.Background()
	rcv := &receiver{secret: []byte("s3cret"), statuses: []int{503}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "n.db")
	store, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetReceivers([]string{"ops"})
	t0 := time.Now().Truncate(time.Millisecond)
	firing := []rules.Alert{{Group: "g", Rule: "HostDown", State: rules.StateFiring, FiredAt: t0, Labels: labels.FromStrings("alertname", "HostDown", "host", "db1")}}
	m.Alerts(ctx, t0, "g", firing)
	// "Crash": the manager and store go away before any delivery.
	store.Close()

	store, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := t0
	d := alerting.NewDispatcher(store, map[string]alerting.Notifier{"ops": &webhook.Notifier{URL: srv.URL, Secret: []byte("s3cret")}},
		slog.New(slog.DiscardHandler), nil)
	d.Now = func() time.Time { return now }
	d.DeliverDue(ctx) // 503: retried later
	if len(rcv.got) != 0 {
		t.Fatalf("delivered despite the 503: %+v", rcv.got)
	}
	d.DeliverDue(ctx) // not due yet: backoff
	now = now.Add(2 * time.Second)
	d.DeliverDue(ctx)
	m2, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m2.SetReceivers([]string{"ops"})
	m2.Alerts(ctx, now, "g", nil) // the alert clears
	d.DeliverDue(ctx)
	d.DeliverDue(ctx) // nothing left: nothing sent twice

	if rcv.badSig != 0 {
		t.Errorf("bad signatures: %d", rcv.badSig)
	}
	if len(rcv.got) != 2 || rcv.got[0].Event.Action != "opened" || rcv.got[1].Event.Action != "resolved" {
		t.Fatalf("delivered: got %+v, want opened then resolved", rcv.got)
	}
	if rcv.got[0].Version != "1" || rcv.got[0].Incident.Target != "db1" || rcv.keys[0] == rcv.keys[1] {
		t.Errorf("payload or keys: %+v %v", rcv.got[0], rcv.keys)
	}
}

func TestNoRetryOn4xx(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "nope", http.StatusBadRequest) }))
	defer srv.Close()
	n := &webhook.Notifier{URL: srv.URL, Secret: []byte("x")}
	retry, err := n.Notify(context.Background(), alerting.Notification{ID: 1, Action: "opened", At: time.Now()}, &alerting.Incident{ID: 1})
	if err == nil || retry {
		t.Errorf("400: got retry %v, err %v; want no retry and an error", retry, err)
	}
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "busy", http.StatusTooManyRequests) }))
	defer srv2.Close()
	n.URL = srv2.URL
	if retry, err := n.Notify(context.Background(), alerting.Notification{ID: 2}, &alerting.Incident{ID: 1}); err == nil || !retry {
		t.Errorf("429: got retry %v, err %v; want a retry", retry, err)
	}
}

// TestTemplatedBody: a template makes the body (here a chat message), the
// signature covers it, and a template error is permanent.
func TestTemplatedBody(t *testing.T) {
	var got []byte
	var sig, ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.ReadAll(r.Body)
		sig, ctype = r.Header.Get("X-Nines-Signature"), r.Header.Get("Content-Type")
	}))
	defer srv.Close()
	tmpl, err := webhook.ParseTemplate("chat", `{"text": {{json (printf "[%s] %s: %s" .Incident.Priority .Event.Action .Incident.Title)}}}`)
	if err != nil {
		t.Fatal(err)
	}
	n := &webhook.Notifier{URL: srv.URL, Secret: []byte("k"), Template: tmpl}
	inc := &alerting.Incident{ID: 1, Priority: alerting.P1, Title: `Core "switch" down`}
	if _, err := n.Notify(context.Background(), alerting.Notification{ID: 3, Action: "opened", At: time.Now()}, inc); err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"text": "[P1] opened: Core \"switch\" down"}` || ctype != "application/json" {
		t.Errorf("body %s, type %s", got, ctype)
	}
	if !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("signature %q", sig)
	}
	bad, _ := webhook.ParseTemplate("bad", `{{.Incident.Nope}}`)
	n.Template = bad
	if retry, err := n.Notify(context.Background(), alerting.Notification{ID: 4, Action: "opened"}, inc); err == nil || retry {
		t.Errorf("template error: retry %v err %v", retry, err)
	}
	if _, err := webhook.ParseTemplate("broken", `{{`); err == nil {
		t.Error("a broken template parsed")
	}
}
