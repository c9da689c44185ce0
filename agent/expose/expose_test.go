package expose

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/internal/golden"
)

func batch() *host.Batch {
	b := &host.Batch{Time: time.Unix(1700000000, 0)}
	b.AddCounter("node_cpu", "seconds_total", 12.5, "cpu", "0", "mode", "idle")
	b.Add("node_filesystem", "avail_bytes", 4.25e10, "mountpoint", "/", "device", "/dev/sda1", "fstype", "ext4")
	b.Add("node_filesystem", "avail_bytes", 1024, "mountpoint", `/mnt/odd "name"\x`, "device", "x", "fstype", "ext4")
	b.Add("node", "load1", 0.5)
	b.Add("nines_check", "success", 1, "check", "db", "type", "tcp")
	return b
}

func TestExpositionGolden(t *testing.T) {
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	WriteBatch(w, batch())
	w.Flush()
	golden.Check(t, "testdata/batch.golden.prom", out.Bytes())
}

func TestHandlerGzipAndLatest(t *testing.T) {
	h := NewHandler(metrics.NewSet())
	h.Set(batch())
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatal("not gzip-encoded")
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), `node_load1 0.5`) || !strings.Contains(string(body), "process_resident_memory_bytes") {
		t.Errorf("body lacks the batch or the process metrics:\n%s", body)
	}
}

// TestValuesAsVictoriaMetrics: values render exactly as
// metrics.WriteGaugeFloat64 renders them, special values included.
func TestValuesAsVictoriaMetrics(t *testing.T) {
	b := &host.Batch{}
	var want bytes.Buffer
	for _, v := range []float64{0, math.Copysign(0, -1), 0.1, 1e21, 1e-7, 123456789, -2.5, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64} {
		b.Add("m", "v", v, "k", "x")
		metrics.WriteGaugeFloat64(&want, `m_v{k="x"}`, v)
	}
	var got bytes.Buffer
	w := bufio.NewWriter(&got)
	WriteBatch(w, b)
	w.Flush()
	if got.String() != want.String() {
		t.Errorf("got:\n%s\nwant:\n%s", got.String(), want.String())
	}
}
