package alertmanager

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/internal/peertest"
)

func incident(active bool) *alerting.Incident {
	inc := &alerting.Incident{ID: 7, DedupKey: "abc", Rule: "HostDown", Title: "db1 is down", Priority: alerting.P3,
		Status: alerting.StatusOpen, Labels: map[string]string{"host": "db1", "severity": "critical"}, OpenedAt: time.Now().Add(-time.Minute).Truncate(time.Second)}
	if !active {
		now := time.Now().Truncate(time.Second)
		inc.Status, inc.ResolvedAt = alerting.StatusResolved, &now
	}
	return inc
}

func TestWebhookV4(t *testing.T) {
	var got WebhookMessage
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	n := &Notifier{URL: srv.URL, Mode: Webhook, ExternalURL: "http://nines:9990"}
	if _, err := n.Notify(context.Background(), alerting.Notification{Receiver: "am", Action: "resolved"}, incident(false)); err != nil {
		t.Fatal(err)
	}
	a := got.Alerts[0]
	if got.Version != "4" || got.Status != "resolved" || a.Labels["alertname"] != "HostDown" || a.Labels["host"] != "db1" ||
		a.Annotations["summary"] != "db1 is down" || a.EndsAt.IsZero() || a.GeneratorURL != "http://nines:9990/incidents/7" {
		t.Errorf("payload: %+v", got)
	}
}

// startAlertmanager starts a real Alertmanager (Debian's
// prometheus-alertmanager) on loopback and returns its base URL; it is
// stopped when the test ends.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := peertest.Find(t, "prometheus-alertmanager", "prometheus-alertmanager", "NINES_SKIP_ALERTMANAGER")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "am.yml"), []byte("global: {resolve_timeout: 1s}\nroute: {receiver: none}\nreceivers: [{name: none}]\n"), 0o600)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cl, _ := net.Listen("tcp", "127.0.0.1:0")
	clAddr := cl.Addr().String()
	cl.Close()
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "am.yml"), "--storage.path="+dir, "--web.listen-address="+addr,
		"--cluster.listen-address=", "--cluster.advertise-address="+clAddr)
	out, _ := os.Create(filepath.Join(dir, "am.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "am.log"))
			t.Fatalf("alertmanager not ready:\n%s", log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return base
}

// alertState reads the state of incident id's alert from a real
// Alertmanager: active, unprocessed, suppressed or "none".
func alertState(t *testing.T, base string, id int64) string {
	t.Helper()
	q := base + "/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=true&filter=nines_incident%3D%22" + strconv.FormatInt(id, 10) + "%22"
	resp, err := http.Get(q)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string      `json:"labels"`
		Status struct{ State string } `json:"status"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&alerts)
	if len(alerts) == 0 {
		return "none"
	}
	return alerts[0].Status.State
}

// TestAlertmanagerAPI pushes an incident to a real Alertmanager (Debian's
// prometheus-alertmanager) and reads it back through its v2 API, firing
// and then resolved.
func TestAlertmanagerAPI(t *testing.T) {
	base := startAlertmanager(t)
	n := &Notifier{URL: base, Mode: API}
	state := func(bool) string { return alertState(t, base, 7) }
	if _, err := n.Notify(context.Background(), alerting.Notification{Action: "opened"}, incident(true)); err != nil {
		t.Fatal(err)
	}
	if got := state(true); got != "active" && got != "unprocessed" {
		t.Errorf("after pushing the open incident: alert %s, want active", got)
	}
	if _, err := n.Notify(context.Background(), alerting.Notification{Action: "resolved"}, incident(false)); err != nil {
		t.Fatal(err)
	}
	if got := state(true); got != "none" {
		t.Errorf("after pushing the resolution: active alert %s, want none", got)
	}
}

// memStore is a RefreshStore holding one incident told to "am".
type memStore struct {
	mu  sync.Mutex
	inc alerting.Incident
}

func (m *memStore) Incidents(_ context.Context, f alerting.Filter) ([]alerting.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.Contains(f.Status, m.inc.Status) {
		return []alerting.Incident{m.inc}, nil
	}
	return nil, nil
}

func (m *memStore) Incident(context.Context, int64) (*alerting.Incident, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.inc
	return &c, nil
}

func (m *memStore) Told(context.Context, int64) ([]string, error) { return []string{"am"}, nil }

// TestAlertmanagerResend: an incident open longer than its alert's endsAt
// stays firing in a real Alertmanager while Nines re-sends it (issue:
// posted once, Alertmanager resolved it after resolve_timeout while the
// incident was still open); once Nines stops re-sending (collector gone)
// the Alertmanager resolves it by itself after endsAt. The Alertmanager
// runs with resolve_timeout 1s, so an alert posted once without endsAt
// would be resolved within the first loop.
func TestAlertmanagerResend(t *testing.T) {
	base := startAlertmanager(t)
	const every = 500 * time.Millisecond // endsAt = now + 2 s
	n := &Notifier{URL: base, Mode: API, ResendEvery: every}
	st := &memStore{inc: *incident(true)}
	if _, err := n.Notify(context.Background(), alerting.Notification{Action: "opened"}, &st.inc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	tick := time.NewTicker(every)
	defer tick.Stop()
	go func() {
		defer close(done)
		// As the collector's refresh task does, at every interval.
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				_, _ = alerting.RefreshOnce(ctx, st, "am", n, now) // a miss is retried next tick
			}
		}
	}()
	// Three times the alert's lifetime without a refresh: still firing.
	for end := time.Now().Add(12 * every); time.Now().Before(end); time.Sleep(every / 2) {
		if got := alertState(t, base, 7); got != "active" && got != "unprocessed" {
			cancel()
			<-done
			t.Fatalf("while re-sent: alert %s, want active", got)
		}
	}
	cancel()
	<-done
	// Not re-sent any more: the Alertmanager resolves it after endsAt.
	deadline := time.Now().Add(20 * every)
	for alertState(t, base, 7) != "none" {
		if time.Now().After(deadline) {
			t.Fatal("the alert is still firing long after its endsAt without re-sends")
		}
		time.Sleep(every / 2)
	}
}

// TestAPIEndsAt: a firing alert in API mode ends four resend intervals
// after it is sent; a resolved one at its resolution.
func TestAPIEndsAt(t *testing.T) {
	var got []Alert
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = nil
		_ = json.NewDecoder(r.Body).Decode(&got)
	}))
	defer srv.Close()
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	n := &Notifier{URL: srv.URL, Mode: API, Now: func() time.Time { return now }}
	if _, err := n.Notify(context.Background(), alerting.Notification{Action: "opened"}, incident(true)); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !got[0].EndsAt.Equal(now.Add(4*DefaultResendEvery)) || got[0].Status != "" {
		t.Errorf("firing: got %+v, want endsAt %s and no status", got, now.Add(4*DefaultResendEvery))
	}
	resolved := incident(false)
	if _, err := n.Refresh(context.Background(), "am", []alerting.Incident{*incident(true), *resolved}, now); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !got[1].EndsAt.Equal(*resolved.ResolvedAt) {
		t.Errorf("refresh: got %+v, want the resolved one ending at its resolution", got)
	}
	if (&Notifier{Mode: Webhook}).RefreshEvery() != 0 {
		t.Error("webhook mode needs no refresh")
	}
}
