package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/config"
	"github.com/ninesmon/nines/internal/peertest"
)

// startAgent runs an agent in-process with the configuration (web
// listen address added) until the test ends, and returns its address.
func startAgent(t *testing.T, yml string) string {
	t.Helper()
	web, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	webAddr := web.Addr().String()
	web.Close()
	path := filepath.Join(t.TempDir(), "agent.yml")
	if err := os.WriteFile(path, []byte(yml+fmt.Sprintf("\nweb: {listen_address: %q}\n", webAddr)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return webAddr
}

// TestServiceAndProcessChecks runs an agent in-process with a TCP check of
// a local listener, a check of a closed port, and a process check that
// matches this test binary, and reads the results from /metrics.
func TestServiceAndProcessChecks(t *testing.T) {
	openPort := peertest.OpenPort(t)
	self := filepath.Base(os.Args[0])
	webAddr := startAgent(t, fmt.Sprintf(`
interval: 100ms
processes:
  - {name: self, comm: %q, min: 1}
  - {name: missing, comm: "no-such-program-here"}
checks:
  - {name: db-port, type: tcp, target: %q, interval: 100ms, timeout: 50ms, labels: {service: erp}}
  - {name: closed-port, type: tcp, target: "127.0.0.1:1", interval: 100ms, timeout: 50ms}
`, self, openPort))
	want := []string{
		`nines_check_success{check="db-port",service="erp",type="tcp"} 1`,
		`nines_check_success{check="closed-port",type="tcp"} 0`,
		`nines_process_up{process="self"} 1`,
		`nines_process_up{process="missing"} 0`,
		`nines_process_count{process="missing"} 0`,
	}
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + webAddr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			all := true
			for _, w := range want {
				all = all && strings.Contains(body, w)
			}
			if all {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

func TestMetricsBasicAuth(t *testing.T) {
	cfg, err := config.Load("a.yml", []byte("web: {basic_auth: {username: prom, password: s3cret}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := a.Handler()
	for _, tc := range []struct {
		user, pass string
		code       int
	}{{"", "", 401}, {"prom", "wrong", 401}, {"other", "s3cret", 401}, {"prom", "s3cret", 200}} {
		req := httptest.NewRequest("GET", "/metrics", nil)
		if tc.user != "" {
			req.SetBasicAuth(tc.user, tc.pass)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("%s/%s: got %d, want %d", tc.user, tc.pass, rec.Code, tc.code)
		}
	}
	// Health stays open: it returns no data.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/-/healthy", nil))
	if rec.Code != 200 {
		t.Errorf("/-/healthy: got %d", rec.Code)
	}
}

// TestSettled: Settled closes once the second collection is done, not
// before the agent runs.
func TestSettled(t *testing.T) {
	cfg, err := config.Load("agent.yml", []byte("interval: 100ms\nweb: {listen_address: \"127.0.0.1:0\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-a.Settled():
		t.Fatal("settled before running")
	default:
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-a.Settled():
	case <-time.After(10 * time.Second):
		t.Fatal("not settled after 10 s of 100 ms collections")
	}
	if n := a.cycles.Get(); n < 2 {
		t.Errorf("settled after %d collections, want 2", n)
	}
}
