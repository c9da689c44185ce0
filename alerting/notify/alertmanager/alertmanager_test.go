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
	"strconv"
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

// TestAlertmanagerAPI pushes an incident to a real Alertmanager (Debian's
// prometheus-alertmanager) and reads it back through its v2 API, firing
// and then resolved.
func TestAlertmanagerAPI(t *testing.T) {
	bin := peertest.Find(t, "prometheus-alertmanager", "prometheus-alertmanager", "NINES_SKIP_ALERTMANAGER")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "am.yml"), []byte("route: {receiver: none}\nreceivers: [{name: none}]\n"), 0o600)
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
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
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
	n := &Notifier{URL: base, Mode: API}
	state := func(active bool) string {
		t.Helper()
		q := base + "/api/v2/alerts?active=" + strconv.FormatBool(active) + "&silenced=false&inhibited=false&unprocessed=true&filter=nines_incident%3D%227%22"
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
