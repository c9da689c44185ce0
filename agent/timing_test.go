package agent

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/config"
	"github.com/ninesmon/nines/agent/expose"
	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/agent/push"
)

func liveRegistry(b *testing.B) *host.Registry {
	cfg := config.Default()
	reg, err := host.NewRegistry(cfg.EnabledCollectors(), host.SystemPS{}, cfg.HostOptions(), slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	return reg
}

// BenchmarkCollectionCycle is one collection of every default collector on
// this machine.
func BenchmarkCollectionCycle(b *testing.B) {
	reg := liveRegistry(b)
	b.ReportAllocs()
	for b.Loop() {
		reg.Collect(context.Background(), time.Now())
	}
}

// BenchmarkScrape renders /metrics from a collected batch, gzip included.
func BenchmarkScrape(b *testing.B) {
	reg := liveRegistry(b)
	cfg := config.Default()
	a, err := New(cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		b.Fatal(err)
	}
	a.handler.Set(reg.Collect(context.Background(), time.Now()))
	h := a.Handler()
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}

// BenchmarkExposition renders a batch as text, without HTTP or gzip.
func BenchmarkExposition(b *testing.B) {
	batch := liveRegistry(b).Collect(context.Background(), time.Now())
	w := bufio.NewWriter(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		expose.WriteBatch(w, batch)
		w.Flush()
	}
}

// BenchmarkPushEncode is the cost of one push payload: line protocol and
// gzip, as Enqueue does before the batch is queued.
func BenchmarkPushEncode(b *testing.B) {
	batch := liveRegistry(b).Collect(context.Background(), time.Now())
	s, err := push.NewSender(push.Options{Hostname: "h", QueueSize: 1})
	if err != nil {
		b.Fatal(err)
	}
	var enc push.Encoder
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, err = enc.Append(buf[:0], batch, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Enqueue(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPushCycle is one whole cycle of an agent that pushes, as
// installed: collect every default collector, encode the batch as line
// protocol, gzip and spool it, and deliver it over HTTP (keep-alive) to a
// receiver that reads the body and answers 204. allocs/op includes the
// receiving test server's share; the real collector is measured in
// bench/agent.sh.
func BenchmarkPushCycle(b *testing.B) {
	reg := liveRegistry(b)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := push.NewSender(push.Options{URLs: []string{srv.URL}, HostID: "id", Hostname: "h", Interval: time.Second, SpoolDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	var enc push.Encoder
	var buf []byte
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		batch := reg.Collect(ctx, time.Now())
		buf, err = enc.Append(buf[:0], batch, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Enqueue(buf); err != nil {
			b.Fatal(err)
		}
		if left := s.Flush(ctx); left != 0 {
			b.Fatalf("%d batches not delivered", left)
		}
	}
}
