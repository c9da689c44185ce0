package ingest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/influxdata/line-protocol/v2/lineprotocol"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/agent/wire"
)

// Observer is told which host reported (the availability tracker).
type Observer interface {
	Observe(ctx context.Context, name, id string, labels map[string]string, interval time.Duration, now time.Time) error
	Goodbye(ctx context.Context, name string, now time.Time) error
}

// Options configure a Handler.
type Options struct {
	Appender     Appender
	Observer     Observer
	MaxBodyBytes int64
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Now          func() time.Time // nil: time.Now
}

// Handler serves POST /api/v1/push. Authentication is the caller's job
// (wrap it with auth.Require).
type Handler struct {
	opts Options
	pool sync.Pool

	mu      sync.Mutex
	lastSeq map[string]uint64 // by host ID

	lines      *prometheus.CounterVec
	points     prometheus.Counter
	duplicates prometheus.Counter
	refused    prometheus.Counter
	bytes      prometheus.Counter
	requests   *prometheus.CounterVec
}

// NewHandler returns a push handler and registers its metrics.
func NewHandler(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{
		opts:    opts,
		lastSeq: map[string]uint64{},
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_lines_total", Help: "Line-protocol lines received, by result (accepted or rejected).",
		}, []string{"result"}),
		points: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_points_total", Help: "Samples stored from ingested lines.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_duplicate_batches_total", Help: "Agent batches dropped because their sequence number was already received (retries).",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_samples_refused_total", Help: "Samples not stored: out of order, too old, or over the series limit.",
		}),
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_bytes_total", Help: "Uncompressed payload bytes received.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_requests_total", Help: "Ingest requests by HTTP status code.",
		}, []string{"code"}),
	}
	h.pool.New = func() any { return &Decoder{} }
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(h.lines, h.points, h.duplicates, h.refused, h.bytes, h.requests)
	}
	return h
}

func (h *Handler) fail(w http.ResponseWriter, code int, msg string) {
	h.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	http.Error(w, msg, code)
}

// ServeHTTP handles one agent push.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	now := h.opts.Now()
	hostname := r.Header.Get(wire.HeaderHostname)
	if hostname == "" {
		h.fail(w, http.StatusBadRequest, "missing "+wire.HeaderHostname+" header")
		return
	}
	hostID := r.Header.Get(wire.HeaderHostID)
	if hostID == "" {
		hostID = hostname
	}
	var interval time.Duration
	if s := r.Header.Get(wire.HeaderInterval); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			h.fail(w, http.StatusBadRequest, fmt.Sprintf("bad %s header %q", wire.HeaderInterval, s))
			return
		}
		interval = d
	}
	hostLabels, err := parseLabels(r.Header.Get(wire.HeaderLabels))
	if err != nil {
		h.fail(w, http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderLabels, err))
		return
	}
	var seq uint64
	if s := r.Header.Get(wire.HeaderSequence); s != "" {
		seq, err = strconv.ParseUint(s, 10, 64)
		if err != nil {
			h.fail(w, http.StatusBadRequest, fmt.Sprintf("bad %s header %q", wire.HeaderSequence, s))
			return
		}
		if h.seen(hostID, seq) {
			h.duplicates.Inc()
			h.requests.WithLabelValues("204").Inc()
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if r.Header.Get(wire.HeaderGoodbye) != "" {
		if err := h.opts.Observer.Goodbye(ctx, hostname, now); err != nil {
			h.opts.Logger.Error("record goodbye", "host", hostname, "err", err)
			h.fail(w, http.StatusServiceUnavailable, "could not record goodbye")
			return
		}
		h.record(hostID, seq)
		h.requests.WithLabelValues("204").Inc()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	body, code, err := h.readBody(r)
	if err != nil {
		h.fail(w, code, err.Error())
		return
	}
	h.bytes.Add(float64(len(body)))

	extra := make([]labels.Label, 0, len(hostLabels)+1)
	extra = append(extra, labels.Label{Name: "host", Value: hostname})
	for k, v := range hostLabels {
		extra = append(extra, labels.Label{Name: k, Value: v})
	}
	dec := h.pool.Get().(*Decoder)
	res := dec.Decode(body, lineprotocol.Millisecond, now, extra, h.opts.Appender)
	h.pool.Put(dec)
	h.record(hostID, seq) // only now: a batch that failed to arrive may be retried
	h.lines.WithLabelValues("accepted").Add(float64(res.Lines - res.Rejected))
	h.lines.WithLabelValues("rejected").Add(float64(res.Rejected))
	h.points.Add(float64(res.Points))
	h.refused.Add(float64(res.Refused))

	if err := h.opts.Observer.Observe(ctx, hostname, hostID, hostLabels, interval, now); err != nil {
		h.opts.Logger.Error("record host state", "host", hostname, "err", err)
	}
	if res.FirstErr != nil {
		// Partial write, as InfluxDB: valid lines are kept, the first bad
		// one is named.
		h.opts.Logger.Warn("rejected lines in push", "host", hostname, "rejected", res.Rejected, "err", res.FirstErr)
		h.fail(w, http.StatusBadRequest, fmt.Sprintf("partial write: %d of %d lines rejected; first: %v", res.Rejected, res.Lines, res.FirstErr))
		return
	}
	h.requests.WithLabelValues("204").Inc()
	w.WriteHeader(http.StatusNoContent)
}

// seen reports whether seq from host was already received.
func (h *Handler) seen(host string, seq uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return seq != 0 && seq <= h.lastSeq[host]
}

// record notes seq as received from host.
func (h *Handler) record(host string, seq uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if seq > h.lastSeq[host] {
		h.lastSeq[host] = seq
	}
}

// readBody reads the (possibly gzip-encoded) body, bounded after
// decompression so a gzip bomb gets 413.
func (h *Handler) readBody(r *http.Request) ([]byte, int, error) {
	limit := h.opts.MaxBodyBytes
	var rd io.Reader = http.MaxBytesReader(nil, r.Body, limit)
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, http.StatusBadRequest, fmt.Errorf("bad gzip body: %v", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q (want gzip or none)", enc)
	}
	body, err := io.ReadAll(io.LimitReader(rd, limit+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || int64(len(body)) > limit:
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", limit)
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %v", err)
	}
	return body, 0, nil
}

// parseLabels decodes the wire.HeaderLabels format (a=b,c=d, values
// query-escaped).
func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	v, err := url.ParseQuery(strings.ReplaceAll(s, ",", "&"))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(v))
	for k, vals := range v {
		if k == "" || k == "host" || k == model.MetricNameLabel {
			return nil, fmt.Errorf("label name %q not allowed", k)
		}
		out[k] = vals[len(vals)-1]
	}
	return out, nil
}
