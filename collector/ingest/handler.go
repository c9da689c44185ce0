package ingest

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/wire"
)

// Observer is told which host reported (the availability tracker).
// Admit says whether a host may report at all (the inventory's
// allow-list); pushes from others get 403.
type Observer interface {
	Admit(name string) bool
	Observe(ctx context.Context, o state.Observation, now time.Time) error
	Goodbye(ctx context.Context, name string, now time.Time) error
}

// Options configure a Handler.
type Options struct {
	Appender Appender
	Observer Observer
	// MaxBodyBytes bounds a request body after decompression (413 beyond).
	MaxBodyBytes int64
	// MaxLineBytes rejects longer lines (0: no limit).
	MaxLineBytes int
	// MaxConcurrent requests are decoded at once; more get 429.
	MaxConcurrent int
	Logger        *slog.Logger
	Registerer    prometheus.Registerer
	Now           func() time.Time // nil: time.Now
}

// Endpoint names, as used in metric labels.
const (
	EndpointPush    = "push"
	EndpointWriteV1 = "write_v1"
	EndpointWriteV2 = "write_v2"
)

// Handler serves the ingest endpoints. Authentication is the caller's job
// (wrap each with auth.Require; V1Credentials adapts InfluxDB 1.x
// credentials first).
type Handler struct {
	opts Options
	pool sync.Pool
	sem  chan struct{}

	mu      sync.Mutex
	lastSeq map[string]uint64 // by host ID

	lines       *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	points      *prometheus.CounterVec
	refused     *prometheus.CounterVec
	duplicates  prometheus.Counter
	notAdmitted prometheus.Counter
	bytes       *prometheus.CounterVec
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
}

// NewHandler returns a handler and registers its metrics.
func NewHandler(opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 64
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		opts:    opts,
		sem:     make(chan struct{}, opts.MaxConcurrent),
		lastSeq: map[string]uint64{},
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_lines_total", Help: "Line-protocol lines accepted, by endpoint.",
		}, []string{"endpoint"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_lines_rejected_total", Help: "Line-protocol lines rejected, by endpoint and reason (syntax, too_long, no_numeric_field).",
		}, []string{"endpoint", "reason"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_points_total", Help: "Samples stored from ingested lines, by endpoint.",
		}, []string{"endpoint"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_samples_refused_total", Help: "Samples not stored, by reason (out_of_order, series_limit, other).",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_duplicate_batches_total", Help: "Agent batches dropped because their sequence number was already received (retries).",
		}),
		notAdmitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_hosts_not_admitted_total", Help: "Reports from hosts outside the inventory that may not register themselves.",
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_bytes_total", Help: "Uncompressed payload bytes received, by endpoint.",
		}, []string{"endpoint"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_requests_total", Help: "Ingest requests by endpoint and HTTP status code.",
		}, []string{"endpoint", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nines_ingest_request_duration_seconds", Help: "Time to handle an ingest request, by endpoint.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"endpoint"}),
	}
	h.pool.New = func() any { return &Decoder{} }
	for _, r := range []string{"syntax", "too_long", "no_numeric_field"} {
		for _, e := range []string{EndpointPush, EndpointWriteV1, EndpointWriteV2} {
			h.rejected.WithLabelValues(e, r)
		}
	}
	for _, r := range []string{"out_of_order", "series_limit", "other"} {
		h.refused.WithLabelValues(r)
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(h.lines, h.rejected, h.points, h.refused, h.duplicates, h.notAdmitted, h.bytes, h.requests, h.latency)
	}
	return h
}

// errorWriter formats an error body the way the endpoint's clients expect.
type errorWriter func(w http.ResponseWriter, code int, msg string)

func textError(w http.ResponseWriter, code int, msg string) { http.Error(w, msg, code) }

func v1Error(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Influxdb-Error", msg)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func v2Error(w http.ResponseWriter, code int, msg string) {
	c := "invalid"
	switch code {
	case http.StatusRequestEntityTooLarge:
		c = "request too large"
	case http.StatusTooManyRequests:
		c = "too many requests"
	case http.StatusUnsupportedMediaType:
		c = "unsupported media type"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": c, "message": msg})
}

// serve runs the common steps of every endpoint: concurrency limit,
// timing, status accounting.
func (h *Handler) serve(endpoint string, ew errorWriter, fn func(w http.ResponseWriter, r *http.Request) (int, string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		defer func() { h.latency.WithLabelValues(endpoint).Observe(time.Since(start).Seconds()) }()
		select {
		case h.sem <- struct{}{}:
			defer func() { <-h.sem }()
		default:
			w.Header().Set("Retry-After", "1")
			h.requests.WithLabelValues(endpoint, "429").Inc()
			ew(w, http.StatusTooManyRequests, fmt.Sprintf("more than %d concurrent ingest requests; retry later", h.opts.MaxConcurrent))
			return
		}
		code, msg := fn(w, r)
		h.requests.WithLabelValues(endpoint, strconv.Itoa(code)).Inc()
		if code == http.StatusNoContent {
			w.WriteHeader(code)
			return
		}
		ew(w, code, msg)
	})
}

// Push serves POST /api/v1/push, the native agent endpoint.
func (h *Handler) Push() http.Handler {
	return h.serve(EndpointPush, textError, h.push)
}

func (h *Handler) push(_ http.ResponseWriter, r *http.Request) (int, string) {
	ctx := r.Context()
	now := h.opts.Now()
	hostname := r.Header.Get(wire.HeaderHostname)
	if hostname == "" {
		return http.StatusBadRequest, "missing " + wire.HeaderHostname + " header"
	}
	if err := printable(hostname, maxHostnameBytes); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderHostname, err)
	}
	agentID := r.Header.Get(wire.HeaderHostID)
	if err := printable(agentID, maxHostIDBytes); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderHostID, err)
	}
	if !h.opts.Observer.Admit(hostname) {
		h.notAdmitted.Inc()
		return http.StatusForbidden, fmt.Sprintf("host %q is not in the inventory and may not register itself", hostname)
	}
	// Duplicates are told apart per host ID and name: cloned machines
	// (and several agents on one test machine) share a machine ID, and
	// one's sequence numbers must not hide the other's pushes.
	hostID := agentID + "\x00" + hostname
	var interval time.Duration
	if s := r.Header.Get(wire.HeaderInterval); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return http.StatusBadRequest, fmt.Sprintf("bad %s header %q", wire.HeaderInterval, s)
		}
		interval = d
	}
	hostLabels, err := parseLabels(r.Header.Get(wire.HeaderLabels))
	if err != nil {
		return http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderLabels, err)
	}
	var seq uint64
	if s := r.Header.Get(wire.HeaderSequence); s != "" {
		seq, err = strconv.ParseUint(s, 10, 64)
		if err != nil {
			return http.StatusBadRequest, fmt.Sprintf("bad %s header %q", wire.HeaderSequence, s)
		}
		if h.seen(hostID, seq) {
			h.duplicates.Inc()
			return http.StatusNoContent, ""
		}
	}
	if r.Header.Get(wire.HeaderGoodbye) != "" {
		if err := h.opts.Observer.Goodbye(ctx, hostname, now); err != nil {
			h.opts.Logger.Error("record goodbye", "host", hostname, "err", err)
			return http.StatusServiceUnavailable, "could not record goodbye"
		}
		h.record(hostID, seq)
		return http.StatusNoContent, ""
	}
	body, code, err := h.readBody(r)
	if err != nil {
		return code, err.Error()
	}
	extra := make([]labels.Label, 0, len(hostLabels)+1)
	extra = append(extra, labels.Label{Name: "host", Value: hostname})
	for k, v := range hostLabels {
		extra = append(extra, labels.Label{Name: k, Value: v})
	}
	h.opts.Logger.Debug("push received", "host", hostname, "remote_addr", r.RemoteAddr, "sequence", seq, "bytes", len(body))
	res := h.decode(EndpointPush, body, DecodeOptions{Precision: time.Millisecond, Now: now, Extra: extra, MaxLineBytes: h.opts.MaxLineBytes})
	h.record(hostID, seq) // only now: a batch that failed to arrive may be retried
	obs := state.Observation{Name: hostname, ID: agentID, Labels: hostLabels, Interval: interval,
		MetricsAddress: metricsAddress(r.Header.Get(wire.HeaderMetricsAddress), r.RemoteAddr)}
	if err := h.opts.Observer.Observe(ctx, obs, now); err != nil {
		h.opts.Logger.Error("record host state", "host", hostname, "err", err)
	}
	return h.outcome(res, hostname)
}

// WriteV1 serves POST /write, InfluxDB 1.x's endpoint: db, precision,
// u/p (see V1Credentials). The "host" tag of each line names the target.
func (h *Handler) WriteV1() http.Handler {
	return h.serve(EndpointWriteV1, v1Error, func(w http.ResponseWriter, r *http.Request) (int, string) {
		return h.write(EndpointWriteV1, r, r.URL.Query().Get("db"))
	})
}

// WriteV2 serves POST /api/v2/write, InfluxDB 2.x's endpoint: org,
// bucket, precision, "Authorization: Token ...".
func (h *Handler) WriteV2() http.Handler {
	return h.serve(EndpointWriteV2, v2Error, func(w http.ResponseWriter, r *http.Request) (int, string) {
		return h.write(EndpointWriteV2, r, r.URL.Query().Get("bucket"))
	})
}

func (h *Handler) write(endpoint string, r *http.Request, db string) (int, string) {
	now := h.opts.Now()
	prec, err := ParsePrecision(r.URL.Query().Get("precision"))
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	body, code, err := h.readBody(r)
	if err != nil {
		return code, err.Error()
	}
	var extra []labels.Label
	if db != "" {
		// As VictoriaMetrics does: the database or bucket becomes a label,
		// unless the line has a db tag of its own.
		extra = []labels.Label{{Name: "db", Value: db}}
	}
	res := h.decode(endpoint, body, DecodeOptions{Precision: prec, Now: now, Extra: extra, MaxLineBytes: h.opts.MaxLineBytes, HostTag: "host"})
	for _, host := range res.Hosts {
		// Samples of hosts outside the inventory are kept (they are data);
		// only availability tracking is limited to admitted hosts.
		if !h.opts.Observer.Admit(host) {
			h.notAdmitted.Inc()
			continue
		}
		if err := h.opts.Observer.Observe(r.Context(), state.Observation{Name: host, ID: host}, now); err != nil {
			h.opts.Logger.Error("record host state", "host", host, "err", err)
		}
	}
	return h.outcome(res, "")
}

func (h *Handler) decode(endpoint string, body []byte, o DecodeOptions) Result {
	h.bytes.WithLabelValues(endpoint).Add(float64(len(body)))
	dec := h.pool.Get().(*Decoder)
	res := dec.Decode(body, o, h.opts.Appender)
	h.pool.Put(dec)
	h.lines.WithLabelValues(endpoint).Add(float64(res.Lines - res.Rejected()))
	h.rejected.WithLabelValues(endpoint, "syntax").Add(float64(res.RejectedSyntax))
	h.rejected.WithLabelValues(endpoint, "too_long").Add(float64(res.RejectedTooLong))
	h.rejected.WithLabelValues(endpoint, "no_numeric_field").Add(float64(res.RejectedNoField))
	h.points.WithLabelValues(endpoint).Add(float64(res.Points))
	h.refused.WithLabelValues("out_of_order").Add(float64(res.RefusedOutOfOrder))
	h.refused.WithLabelValues("series_limit").Add(float64(res.RefusedSeriesLimit))
	h.refused.WithLabelValues("other").Add(float64(res.RefusedOther))
	return res
}

// outcome maps a decode result to the response: 204, or a partial write
// (400) naming the first bad line, as InfluxDB does. Samples refused for a
// series limit also get 400, so the sender learns of it; they are counted
// either way.
func (h *Handler) outcome(res Result, host string) (int, string) {
	if res.FirstErr != nil {
		h.opts.Logger.Warn("rejected lines", "host", host, "rejected", res.Rejected(), "err", res.FirstErr)
		return http.StatusBadRequest, fmt.Sprintf("partial write: %d of %d lines rejected; first: %v", res.Rejected(), res.Lines, res.FirstErr)
	}
	if res.RefusedSeriesLimit > 0 {
		h.opts.Logger.Warn("series limit reached; samples refused", "host", host, "refused", res.RefusedSeriesLimit)
		return http.StatusBadRequest, fmt.Sprintf("partial write: %d samples refused: series limit reached", res.RefusedSeriesLimit)
	}
	return http.StatusNoContent, ""
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

// V1Credentials lets InfluxDB 1.x clients authenticate as they do with
// InfluxDB: the token as the password, in the "p" query parameter or in
// HTTP basic auth. It turns either into a bearer token for auth.Require.
func V1Credentials(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" || strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			tok := r.URL.Query().Get("p")
			if _, p, ok := r.BasicAuth(); ok {
				tok = p
			}
			if tok != "" {
				r = r.Clone(r.Context())
				r.Header.Set("Authorization", "Bearer "+tok)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// metricsAddress is where the agent's /metrics can be scraped: the address
// it announces, with the host taken from the connection when it listens
// on every interface.
func metricsAddress(announced, remote string) string {
	if announced == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(announced)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		rhost, _, err := net.SplitHostPort(remote)
		if err != nil {
			return ""
		}
		host = rhost
	}
	return net.JoinHostPort(host, port)
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

// Bounds of the identity headers of a push.
const (
	maxHostnameBytes = 253 // a DNS name's limit
	maxHostIDBytes   = 128 // machine IDs are 32 to 36 characters
)

// printable checks that a header value that becomes a name or an id is
// at most max bytes of printable UTF-8 (no control characters), so it is
// safe in JSON, logs, labels and the web UI.
func printable(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%d bytes, at most %d allowed", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("not valid UTF-8")
	}
	for i, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("unprintable character %U at byte %d", r, i)
		}
	}
	return nil
}
