package forward

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// receiver is a local remote-write endpoint that decodes what it gets and
// answers with the queued status codes first.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	series   map[string][]int64
	requests int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if req.Header.Get("Content-Encoding") != "snappy" || req.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" {
		http.Error(w, "bad headers", http.StatusBadRequest)
		return
	}
	if len(r.statuses) > 0 {
		code := r.statuses[0]
		r.statuses = r.statuses[1:]
		http.Error(w, "scripted", code)
		return
	}
	compressed, _ := io.ReadAll(req.Body)
	raw, err := snappy.Decode(nil, compressed)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var wr prompb.WriteRequest
	if err := wr.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, ts := range wr.Timeseries {
		key := ""
		for _, l := range ts.Labels {
			key += l.Name + "=" + l.Value + ","
		}
		for _, s := range ts.Samples {
			r.series[key] = append(r.series[key], s.Timestamp)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) total() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.series {
		n += len(s)
	}
	return n
}

func TestForwardRetriesThenDelivers(t *testing.T) {
	rcv := &receiver{statuses: []int{503, 429}, series: map[string][]int64{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	reg := prometheus.NewRegistry()
	f := New(Options{URL: srv.URL, BatchSize: 3, FlushEvery: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Registerer: reg, ExternalTags: map[string]string{"collector": "dc1"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Run(ctx); close(done) }()
	for i := range 5 {
		_ = f.Append(labels.FromStrings("__name__", "m", "host", "a"), int64(i), float64(i))
	}
	deadline := time.Now().Add(5 * time.Second)
	// The receiver has the samples before the forwarder has its answer
	// and counts them sent: wait for both.
	for rcv.total() < 5 || testutil.ToFloat64(f.sent) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d of 5, counted %v sent", rcv.total(), testutil.ToFloat64(f.sent))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	got := rcv.series["__name__=m,collector=dc1,host=a,"]
	if len(got) != 5 || got[0] != 0 || got[4] != 4 {
		t.Errorf("samples of the series, in order: got %v", got)
	}
	if n := testutil.ToFloat64(f.retried); n != 2 {
		t.Errorf("retries: got %v, want 2 (503, 429)", n)
	}
	if n := testutil.ToFloat64(f.sent); n != 5 {
		t.Errorf("sent: got %v, want 5", n)
	}
}

func TestForwardDropsRefusedAndOverflow(t *testing.T) {
	rcv := &receiver{statuses: []int{400}, series: map[string][]int64{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	f := New(Options{URL: srv.URL, QueueSize: 2, BatchSize: 10, FlushEvery: 10 * time.Millisecond})
	for i := range 3 {
		_ = f.Append(labels.FromStrings("__name__", "m"), int64(i), 1)
	}
	if n := testutil.ToFloat64(f.dropped); n != 1 {
		t.Errorf("dropped on overflow: got %v, want 1", n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = f.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(f.dropped) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("dropped: %v, want 3 (1 overflow + 2 refused with 400)", testutil.ToFloat64(f.dropped))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if rcv.requests != 1 {
		t.Errorf("requests: got %d, want 1 (no retry after 400)", rcv.requests)
	}
}
