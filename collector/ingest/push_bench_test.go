package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/wire"
)

type discardAppender struct{}

func (discardAppender) Append(labels.Labels, int64, float64) error { return nil }

type quietObserver struct{}

func (quietObserver) Admit(string) bool                                           { return true }
func (quietObserver) AgentID(string) (string, bool)                               { return "", false }
func (quietObserver) Observe(context.Context, state.Observation, time.Time) error { return nil }
func (quietObserver) Goodbye(context.Context, string, time.Time) error            { return nil }

// BenchmarkPushGzip is one agent push of 60 series (6 lines, gzip) through
// the push handler, the window and the tracker left out: what a push
// costs the collector's HTTP side (bench/fleet.sh runs 2,000 a second).
func BenchmarkPushGzip(b *testing.B) {
	var lp []byte
	now := time.Now()
	for l := range 6 {
		lp = append(lp, "node_sim,group=g"...)
		lp = strconv.AppendInt(lp, int64(l), 10)
		for f := range 10 {
			lp = append(lp, " ,"[min(f, 1)])
			lp = append(lp, 'f')
			lp = strconv.AppendInt(lp, int64(l*10+f), 10)
			lp = append(lp, "=12.34"...)
		}
		lp = append(lp, ' ')
		lp = strconv.AppendInt(lp, now.UnixMilli(), 10)
		lp = append(lp, '\n')
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(lp)
	_ = zw.Close()
	h := NewHandler(Options{Appender: discardAppender{}, Observer: quietObserver{}, MaxBodyBytes: 32 << 20,
		Now: func() time.Time { return now }})
	push := h.Push()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		req := httptest.NewRequest(http.MethodPost, wire.PushPath, bytes.NewReader(gz.Bytes()))
		req.Header.Set(wire.HeaderHostname, "sim-1")
		req.Header.Set("Content-Encoding", "gzip")
		rec := httptest.NewRecorder()
		push.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
