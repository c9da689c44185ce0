package check

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/peertest"
)

func spec(typ, target string) *Spec {
	return &Spec{Name: typ + "-check", Type: typ, Target: target, Interval: time.Second, Timeout: 2 * time.Second}
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if r := Run(context.Background(), spec("tcp", addr)); !r.Success {
		t.Errorf("open port: got %+v", r)
	}
	ln.Close()
	r := Run(context.Background(), spec("tcp", addr))
	if r.Success || r.Cause != "connection refused" {
		t.Errorf("closed port: got %+v, want failure 'connection refused'", r)
	}
}

func TestHTTP(t *testing.T) {
	var status = 200
	var mu sync.Mutex
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.WriteHeader(status)
		io.WriteString(w, "database: OK\n")
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted-certificate case logs a handshake error
	srv.StartTLS()
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeCert(t, srv, caFile)

	s := spec("http", srv.URL+"/health")
	s.HTTP.CAFile = caFile
	s.HTTP.BodyRegexp = regexp.MustCompile(`database: OK`)
	r := Run(context.Background(), s)
	if !r.Success || r.HTTPStatus != 200 {
		t.Fatalf("healthy: got %+v", r)
	}
	if want := srv.Certificate().NotAfter; !r.CertExpiry.Equal(want) {
		t.Errorf("certificate expiry: got %s, want %s", r.CertExpiry, want)
	}

	s.HTTP.BodyRegexp = regexp.MustCompile(`database: DOWN`)
	if r := Run(context.Background(), s); r.Success || !strings.Contains(r.Cause, "body does not match") {
		t.Errorf("body mismatch: got %+v", r)
	}
	s.HTTP.BodyRegexp = nil
	mu.Lock()
	status = 503
	mu.Unlock()
	if r := Run(context.Background(), s); r.Success || r.Cause != "HTTP 503 Service Unavailable" {
		t.Errorf("503: got %+v", r)
	}
	s.HTTP.ExpectedStatus = []int{503}
	if r := Run(context.Background(), s); !r.Success {
		t.Errorf("503 expected: got %+v", r)
	}

	// Without the CA, the self-signed certificate is refused.
	s.HTTP.CAFile = ""
	if r := Run(context.Background(), s); r.Success || !strings.Contains(r.Cause, "TLS certificate") {
		t.Errorf("untrusted certificate: got %+v", r)
	}
}

func writeCert(t *testing.T, srv *httptest.Server, path string) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(2 * time.Second)
			c.Close()
		}
	}()
	s := spec("http", "http://"+ln.Addr().String()+"/")
	s.Timeout = 200 * time.Millisecond
	r := Run(context.Background(), s)
	if r.Success || r.Cause != "check timeout of 200ms" {
		t.Errorf("got %+v, want the timeout named", r)
	}
	if r.Duration > time.Second {
		t.Errorf("a 200ms timeout took %s", r.Duration)
	}
}

// TestDNS resolves against a real dnsmasq started on a loopback port.
func TestDNS(t *testing.T) {
	bin := peertest.Find(t, "dnsmasq", "dnsmasq-base", "NINES_SKIP_DNSMASQ")
	port := peertest.FreePort(t)
	p := peertest.Start(t, bin, "--no-daemon", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--listen-address=127.0.0.1", "--bind-interfaces", "--port="+strconv.Itoa(port),
		"--local=/nines.test/", "--address=/erp.nines.test/192.0.2.10", "--mx-host=nines.test,mail.nines.test,10", "--txt-record=nines.test,v=spf1 -all",
		"--user=root", "--pid-file=")
	peertest.WaitTCP(t, p, fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second)

	server := fmt.Sprintf("127.0.0.1:%d", port)
	tests := []struct {
		name, target, rtype string
		expect              []string
		ok                  bool
		cause               string
	}{
		{"A record", "erp.nines.test", "A", nil, true, ""},
		{"A with expected address", "erp.nines.test", "A", []string{"192.0.2.10"}, true, ""},
		{"A with the wrong address", "erp.nines.test", "A", []string{"192.0.2.99"}, false, "answer [192.0.2.10] has none of [192.0.2.99]"},
		{"MX", "nines.test", "MX", []string{"mail.nines.test"}, true, ""},
		{"TXT", "nines.test", "TXT", []string{"v=spf1 -all"}, true, ""},
		{"unknown name", "nope.nines.test", "A", nil, false, "name not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := spec("dns", tc.target)
			s.DNS = DNSSpec{Server: server, RecordType: tc.rtype, Expect: tc.expect}
			r := Run(context.Background(), s)
			if r.Success != tc.ok || (tc.cause != "" && !strings.Contains(r.Cause, tc.cause)) {
				t.Errorf("got %+v, want success=%v cause %q", r, tc.ok, tc.cause)
			}
		})
	}
}

func TestICMP(t *testing.T) {
	r := Run(context.Background(), spec("icmp", "127.0.0.1"))
	if !r.Success {
		if strings.Contains(r.Cause, "no ICMP socket") {
			peertest.Missing(t, "ping 127.0.0.1: "+r.Cause, "allow it as Debian does by default (sysctl net.ipv4.ping_group_range=\"0 2147483647\")", "NINES_SKIP_ICMP")
		}
		t.Fatalf("ping 127.0.0.1: got %+v", r)
	}
}

type fakeWriter struct {
	mu      sync.Mutex
	samples []string
	results []bool
	causes  []string
}

func (f *fakeWriter) Append(l labels.Labels, _ int64, v float64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples = append(f.samples, l.Get("__name__")+"="+strconv.FormatFloat(v, 'g', -1, 64))
	return nil
}

func (f *fakeWriter) ProbeResult(_ context.Context, p state.Probe, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.results = append(f.results, p.OK)
	f.causes = append(f.causes, p.Cause)
	return nil
}

func (f *fakeWriter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.results)
}

func TestRunnerReportsAndReloads(t *testing.T) {
	openPort := peertest.OpenPort(t)
	w := &fakeWriter{}
	r := NewRunner([]Spec{{Name: "port", Type: "tcp", Target: openPort, Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond}},
		slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, w) }()
	for w.count() < 3 {
		time.Sleep(5 * time.Millisecond)
	}
	r.Update([]Spec{{Name: "closed", Type: "tcp", Target: "127.0.0.1:1", Interval: 20 * time.Millisecond, Timeout: 10 * time.Millisecond}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := r.Results()
		if _, ok := res["closed"]; ok {
			if _, stale := res["port"]; stale {
				t.Error("results of a removed check are still reported")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the new check never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.results[0] || w.results[len(w.results)-1] {
		t.Errorf("results: got %v, want first ok (open port) and last failed (closed port)", w.results)
	}
	if got := strings.Join(w.samples[:2], " "); !strings.HasPrefix(got, "nines_check_success=1 nines_check_duration_seconds=") {
		t.Errorf("samples: got %s", got)
	}
}

// TestRunnerRunsOnlyOwned: with an owner, only the checks it says are
// this collector's run, asked at every run; a check that moves away
// stops and leaves Results.
func TestRunnerRunsOnlyOwned(t *testing.T) {
	openPort := peertest.OpenPort(t)
	spec := func(name string) Spec {
		return Spec{Name: name, Type: "tcp", Target: openPort, Interval: 20 * time.Millisecond, Timeout: time.Second}
	}
	r := NewRunner([]Spec{spec("a"), spec("b")}, slog.New(slog.DiscardHandler))
	var mine atomic.Value
	mine.Store("a")
	r.SetOwner(func(c string) bool { return c == mine.Load().(string) })
	w := &fakeWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx, w) }()
	wait := func(what string, cond func(map[string]int64) bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond(r.Runs()) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: runs %v", what, r.Runs())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	wait("a runs", func(n map[string]int64) bool { return n["a"] >= 3 })
	if n := r.Runs()["b"]; n != 0 {
		t.Errorf("b, another collector's, ran %d times", n)
	}
	mine.Store("b")
	wait("b runs and a has left the results", func(n map[string]int64) bool {
		_, a := r.Results()["a"]
		return n["b"] >= 3 && !a
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
