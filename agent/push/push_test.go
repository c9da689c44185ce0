package push

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/internal/golden"
	"github.com/ninesmon/nines/internal/wire"
)

func TestEncoderGolden(t *testing.T) {
	b := &host.Batch{Time: time.UnixMilli(1700000000123)}
	b.AddCounter("node_cpu", "seconds_total", 12.5, "cpu", "0", "mode", "idle")
	b.AddCounter("node_cpu", "seconds_total", 1.25, "cpu", "0", "mode", "user")
	b.Add("node_filesystem", "size_bytes", 1e9, "mountpoint", "/", "fstype", "ext4", "device", "/dev/sda1")
	b.Add("node_filesystem", "avail_bytes", 4e8, "mountpoint", "/", "fstype", "ext4", "device", "/dev/sda1")
	b.Add("node", "load1", 0.5)
	b.Add("node", "load5", math.NaN()) // not representable: skipped and counted
	b.Add("node_filesystem", "size_bytes", 2e9, "mountpoint", "/a b,c=d", "fstype", "ext4", "device", "")
	var e Encoder
	got, err := e.Append(nil, b, []host.Label{{Name: "site", Value: "hq"}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Skipped() != 1 {
		t.Errorf("skipped: got %d, want 1", e.Skipped())
	}
	golden.Check(t, "testdata/batch.golden.lp", got)
}

// collectorStub is a local HTTP server that fails while down is set and
// records every accepted batch's sequence number and body.
type collectorStub struct {
	mu       sync.Mutex
	down     bool
	status   int
	seqs     []uint64
	bodies   []string
	goodbyes int
	auth     string
}

func (c *collectorStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.auth = r.Header.Get("Authorization")
	if c.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if c.status != 0 {
		http.Error(w, "nope", c.status)
		return
	}
	if r.Header.Get(wire.HeaderGoodbye) != "" {
		c.goodbyes++
		w.WriteHeader(http.StatusNoContent)
		return
	}
	seq, _ := strconv.ParseUint(r.Header.Get(wire.HeaderSequence), 10, 64)
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(zr)
	c.seqs = append(c.seqs, seq)
	c.bodies = append(c.bodies, string(body))
	w.WriteHeader(http.StatusNoContent)
}

func (c *collectorStub) set(f func(c *collectorStub)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *collectorStub) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.bodies...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSenderOutageKeepsOrder: batches queued while the collector is down
// are delivered once, in order, when it returns.
func TestSenderOutageKeepsOrder(t *testing.T) {
	stub := &collectorStub{down: true}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	s := newSender(t, Options{URLs: []string{srv.URL}, Token: "tok", Hostname: "h", Interval: 20 * time.Millisecond, QueueSize: 100})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	for i := range 5 {
		if err := s.Enqueue([]byte("m v=" + strconv.Itoa(i) + " 1\n")); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(stub.received()); got != 0 {
		t.Fatalf("delivered while down: %d", got)
	}
	stub.set(func(c *collectorStub) { c.down = false })
	waitFor(t, "5 batches", func() bool { return len(stub.received()) == 5 })
	cancel()
	<-done
	for i, b := range stub.received() {
		if want := "m v=" + strconv.Itoa(i) + " 1\n"; b != want {
			t.Errorf("batch %d: got %q, want %q", i, b, want)
		}
	}
	stub.set(func(c *collectorStub) {
		for i := 1; i < len(c.seqs); i++ {
			if c.seqs[i] != c.seqs[i-1]+1 {
				t.Errorf("sequence numbers not consecutive: %v", c.seqs)
			}
		}
		if c.auth != "Bearer tok" {
			t.Errorf("authorization: got %q", c.auth)
		}
	})
}

// TestSenderQueueFull: when the queue overflows, the oldest batches are
// dropped and counted; the newest are kept.
func TestSenderQueueFull(t *testing.T) {
	stub := &collectorStub{}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	s := newSender(t, Options{URLs: []string{srv.URL}, Hostname: "h", QueueSize: 3})
	for i := range 5 {
		_ = s.Enqueue([]byte(strconv.Itoa(i)))
	}
	if got := s.dropped.Get(); got != 2 {
		t.Errorf("dropped: got %d, want 2", got)
	}
	if left := s.Flush(context.Background()); left != 0 {
		t.Fatalf("flush left %d", left)
	}
	got := stub.received()
	if len(got) != 3 || got[0] != "2" || got[2] != "4" {
		t.Errorf("delivered: got %q, want [2 3 4]", got)
	}
}

func TestSenderRejectAndFailover(t *testing.T) {
	bad := &collectorStub{status: http.StatusBadRequest}
	badSrv := httptest.NewServer(bad)
	defer badSrv.Close()
	s := newSender(t, Options{URLs: []string{badSrv.URL}, Hostname: "h"})
	_ = s.Enqueue([]byte("x"))
	if left := s.Flush(context.Background()); left != 0 {
		t.Errorf("a 400-rejected batch is still queued (%d left)", left)
	}
	if got := s.rejected.Get(); got != 1 {
		t.Errorf("rejected: got %d, want 1", got)
	}

	down := &collectorStub{down: true}
	downSrv := httptest.NewServer(down)
	defer downSrv.Close()
	up := &collectorStub{}
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	s = newSender(t, Options{URLs: []string{downSrv.URL, upSrv.URL}, Hostname: "h"})
	_ = s.Enqueue([]byte("y"))
	if left := s.Flush(context.Background()); left != 0 {
		t.Fatalf("fail-over: %d left", left)
	}
	if got := up.received(); len(got) != 1 || got[0] != "y" {
		t.Errorf("second collector got %q", got)
	}
	if err := s.Goodbye(context.Background()); err != nil || up.goodbyes != 1 {
		t.Errorf("goodbye: %v, %d", err, up.goodbyes)
	}
}

func TestSenderTokenErrorsAreRetried(t *testing.T) {
	stub := &collectorStub{status: http.StatusUnauthorized}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	s := newSender(t, Options{URLs: []string{srv.URL}, Hostname: "h"})
	_ = s.Enqueue([]byte("z"))
	b, _ := s.head()
	err := s.deliver(context.Background(), b, false)
	if err == nil || errors.Is(err, ErrRejected) {
		t.Fatalf("401: got %v, want a retryable error", err)
	}
	if s.Pending() != 1 {
		t.Error("batch lost after 401")
	}
}

func TestFirstBackoff(t *testing.T) {
	for _, tc := range []struct{ interval, want time.Duration }{
		{10 * time.Second, time.Second},
		{time.Second, 500 * time.Millisecond},
		{0, time.Second},
	} {
		if got := firstBackoff(tc.interval); got != tc.want {
			t.Errorf("firstBackoff(%v): got %v, want %v", tc.interval, got, tc.want)
		}
	}
}

func newSender(t *testing.T, o Options) *Sender {
	t.Helper()
	s, err := NewSender(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSpoolSurvivesRestart: batches spooled while the collector is down
// are delivered by the next sender on the same spool (an agent restart or
// kill -9), exactly once and in order, and new batches come after them.
func TestSpoolSurvivesRestart(t *testing.T) {
	stub := &collectorStub{down: true}
	srv := httptest.NewServer(stub)
	defer srv.Close()
	dir := t.TempDir()
	s1 := newSender(t, Options{URLs: []string{srv.URL}, Hostname: "h", SpoolDir: dir, SpoolMaxBytes: 1 << 20})
	for i := range 4 {
		_ = s1.Enqueue([]byte("old-" + strconv.Itoa(i)))
	}
	if left := s1.Flush(context.Background()); left != 4 {
		t.Fatalf("collector down: %d pending, want 4", left)
	}
	// s1 is gone without a word, as after kill -9.
	stub.set(func(c *collectorStub) { c.down = false })
	s2 := newSender(t, Options{URLs: []string{srv.URL}, Hostname: "h", SpoolDir: dir, SpoolMaxBytes: 1 << 20})
	_ = s2.Enqueue([]byte("new"))
	if left := s2.Flush(context.Background()); left != 0 {
		t.Fatalf("after restart: %d left", left)
	}
	got := stub.received()
	want := []string{"old-0", "old-1", "old-2", "old-3", "new"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("delivered: got %v, want %v", got, want)
	}
	stub.set(func(c *collectorStub) {
		for i := 1; i < len(c.seqs); i++ {
			if c.seqs[i] <= c.seqs[i-1] {
				t.Errorf("sequence numbers not increasing across the restart: %v", c.seqs)
			}
		}
	})
}
