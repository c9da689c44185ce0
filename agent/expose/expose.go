// Package expose serves the agent's /metrics in the Prometheus text format
// with VictoriaMetrics/metrics. A scrape renders the latest collection; it
// never triggers one, so scrapes are cheap and cannot load the host.
package expose

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/internal/gzpool"
)

var bufPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 32<<10) }}

// Handler serves the latest batch plus the agent's own metrics. Set may be
// called from any goroutine.
type Handler struct {
	latest atomic.Pointer[host.Batch]
	self   *metrics.Set
}

// NewHandler returns a handler exposing self (the agent's metrics) next to
// the host samples.
func NewHandler(self *metrics.Set) *Handler { return &Handler{self: self} }

// Set replaces the batch served to scrapes.
func (h *Handler) Set(b *host.Batch) { h.latest.Store(b) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	var dst io.Writer = w
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzpool.Get(w)
		defer func() {
			zw.Close()
			gzpool.Put(zw)
		}()
		dst = zw
	}
	out := bufPool.Get().(*bufio.Writer)
	out.Reset(dst)
	defer func() {
		out.Flush()
		out.Reset(nil)
		bufPool.Put(out)
	}()
	if b := h.latest.Load(); b != nil {
		WriteBatch(out, b)
	}
	h.self.WritePrometheus(out)
	metrics.WriteProcessMetrics(out)
}

// WriteBatch renders a batch in the Prometheus text format, as
// metrics.WriteGaugeFloat64 does (the value as %g; no HELP or TYPE lines,
// metadata being off), a line at a time into one reused buffer: going
// through fmt allocated three times per sample.
func WriteBatch(w *bufio.Writer, b *host.Batch) {
	line := make([]byte, 0, 256)
	for i := range b.Samples {
		s := &b.Samples[i]
		line = appendName(line[:0], s)
		line = append(line, ' ')
		line = strconv.AppendFloat(line, s.Value, 'g', -1, 64)
		line = append(line, '\n')
		_, _ = w.Write(line)
	}
}

func appendName(dst []byte, s *host.Sample) []byte {
	dst = append(dst, s.Measurement...)
	dst = append(dst, '_')
	dst = append(dst, s.Field...)
	if len(s.Labels) == 0 {
		return dst
	}
	dst = append(dst, '{')
	for i, l := range s.Labels {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, l.Name...)
		dst = append(dst, '=', '"')
		dst = appendEscaped(dst, l.Value)
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

func appendEscaped(dst []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '"':
			dst = append(dst, '\\', '"')
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
