package ingest

import (
	"bytes"
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

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/wire"
)

// Observer is told which host reported (the availability tracker).
// Admit says whether a host may report at all (the inventory's
// allow-list); pushes from others get 403. AgentID returns the agent ID
// pinned to a known target (ok false for an unknown one), so pushes and
// goodbyes from another agent can be refused.
//
// An Observer may also implement AdmitAt(name, now) error, saying why a
// host may not report (state.ErrNotAllowed, or a *state.LimitError beyond
// the target limits: a push then gets 403 or 429 with the reason, lines
// of /write are rejected naming the host), and Alive(ctx, name, id, now)
// (bool, error), told of pushes refused because the collector is
// overloaded, which still prove their host alive; state.Tracker does.
type Observer interface {
	Admit(name string) bool
	AgentID(name string) (id string, ok bool)
	Observe(ctx context.Context, o state.Observation, now time.Time) error
	Goodbye(ctx context.Context, name string, now time.Time) error
}

// unwrittenObserver is an Observer that can leave writing the state
// changes of many observations to one Flush (state.Tracker does): the
// hosts of a /write are observed so, and written once before the answer.
type unwrittenObserver interface {
	ObserveUnwritten(o state.Observation, now time.Time) (unwritten bool, err error)
	Flush(ctx context.Context) error
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
	// MaxAge and MaxAhead bound the timestamps accepted: a line older
	// than MaxAge (the recent window's retention; 0: DefaultMaxAge;
	// negative: no bound, for a collector that forwards what agents
	// replay after an outage) or more than MaxAhead ahead of Now (0:
	// DefaultMaxAhead) is rejected.
	MaxAge, MaxAhead time.Duration
	// Limits keep one slow or hostile sender from taking the capacity
	// of every other; the zero value gives the defaults.
	Limits
	Logger     *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time // nil: time.Now
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
	opts   Options
	pool   sync.Pool
	sem    chan struct{}
	limits limits

	mu       sync.Mutex
	seqs     map[string]*seqRuns // by host ID and name (see seqRuns)
	seqClock uint64
	// Identity refusals are logged at most once per identityLogEvery;
	// the others are counted here and reported with the next line.
	lastIdentityLog    time.Time
	identitySuppressed int

	lines       *prometheus.CounterVec
	rejected    *prometheus.CounterVec
	points      *prometheus.CounterVec
	dropped     *prometheus.CounterVec
	refused     *prometheus.CounterVec
	duplicates  prometheus.Counter
	evicted     prometheus.Counter
	notAdmitted prometheus.Counter
	identity    *prometheus.CounterVec
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
	if opts.MaxAge == 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.MaxAhead <= 0 {
		opts.MaxAhead = DefaultMaxAhead
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{
		opts: opts,
		sem:  make(chan struct{}, opts.MaxConcurrent),
		seqs: map[string]*seqRuns{},
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_lines_total", Help: "Line-protocol lines accepted, by endpoint.",
		}, []string{"endpoint"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_lines_rejected_total", Help: "Line-protocol lines rejected, by endpoint and reason (syntax, too_long, no_numeric_field, invalid_tag, out_of_window, target_limit, host_not_allowed).",
		}, []string{"endpoint", "reason"}),
		points: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_points_total", Help: "Samples stored from ingested lines, by endpoint.",
		}, []string{"endpoint"}),
		dropped: newFieldsDropped(),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_samples_refused_total", Help: "Samples not stored, by reason (out_of_order, series_limit, other).",
		}, []string{"reason"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_duplicate_batches_total", Help: "Agent batches dropped because their sequence number was already received (retries).",
		}),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_dedup_ranges_evicted_total",
			Help: "Agent runs' sequence-number ranges forgotten to make room for a new run (more than 4 for one host); a batch of a forgotten range sent again is taken again.",
		}),
		notAdmitted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_ingest_hosts_not_admitted_total", Help: "Reports from hosts outside the inventory that may not register themselves.",
		}),
		identity: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_ingest_identity_refused_total",
			Help: "Pushes and goodbyes refused because their agent ID is not the one pinned to the host, by reason (host_id_mismatch, goodbye_without_host_id, host_not_allowed: the token may not speak for the host).",
		}, []string{"reason"}),
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
	h.initLimits()
	for _, r := range rejectReasons {
		for _, e := range []string{EndpointPush, EndpointWriteV1, EndpointWriteV2} {
			h.rejected.WithLabelValues(e, r)
		}
	}
	for _, r := range []string{"out_of_order", "series_limit", "other"} {
		h.refused.WithLabelValues(r)
	}
	for _, r := range []string{reasonIDMismatch, reasonGoodbyeNoID, reasonNotAllowed} {
		h.identity.WithLabelValues(r)
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(h.lines, h.rejected, h.points, h.dropped, h.refused, h.duplicates, h.evicted, h.notAdmitted, h.identity, h.bytes, h.requests, h.latency)
	}
	return h
}

// rejectReasons are the reason labels of nines_ingest_lines_rejected_total.
var rejectReasons = []string{"syntax", "too_long", "no_numeric_field", "invalid_tag", "out_of_window", "target_limit", "host_not_allowed"}

// Reasons of nines_ingest_identity_refused_total.
const (
	reasonIDMismatch  = "host_id_mismatch"
	reasonGoodbyeNoID = "goodbye_without_host_id"
	reasonNotAllowed  = "host_not_allowed"
)

// identityLogEvery bounds the log lines of identity refusals, which a
// misconfigured or hostile agent repeats at every push.
const identityLogEvery = time.Minute

// errorWriter formats an error body the way the endpoint's clients expect.
type errorWriter func(w http.ResponseWriter, code int, msg string)

// jsonError writes {"error": msg}, the error body of Nines' own endpoints
// (README: "Errors are JSON").
func jsonError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

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
	case http.StatusServiceUnavailable:
		c = "unavailable"
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
		// One sender gets a share of the slots, so it cannot take them
		// all; a refused push still counts as its host's sign of life.
		key := senderKey(endpoint, r)
		if !h.enter(key) {
			h.refuse(w, r, endpoint, ew, refusedSenderLimit, http.StatusTooManyRequests,
				fmt.Sprintf("more than %d concurrent ingest requests from this sender; retry later", h.opts.MaxConcurrentPerSender))
			return
		}
		defer h.leave(key)
		select {
		case h.sem <- struct{}{}:
			defer func() { <-h.sem }()
		default:
			h.refuse(w, r, endpoint, ew, refusedOverloaded, http.StatusTooManyRequests,
				fmt.Sprintf("more than %d concurrent ingest requests; retry later", h.opts.MaxConcurrent))
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
	return h.serve(EndpointPush, jsonError, h.push)
}

func (h *Handler) push(w http.ResponseWriter, r *http.Request) (int, string) {
	ctx := r.Context()
	now := h.opts.Now()
	hostname := r.Header.Get(wire.HeaderHostname)
	if hostname == "" {
		return http.StatusBadRequest, "missing " + wire.HeaderHostname + " header"
	}
	if err := checkHostname(hostname); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderHostname, err)
	}
	if err := maySpeakFor(r, hostname); err != nil {
		h.identity.WithLabelValues(reasonNotAllowed).Inc()
		return http.StatusForbidden, err.Error()
	}
	agentID := r.Header.Get(wire.HeaderHostID)
	if err := printable(agentID, wire.MaxHostIDBytes); err != nil {
		return http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderHostID, err)
	}
	var interval time.Duration
	if s := r.Header.Get(wire.HeaderInterval); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < wire.MinInterval || d > wire.MaxInterval {
			return http.StatusBadRequest, fmt.Sprintf("bad %s header %q: want a duration from %s to %s", wire.HeaderInterval, s, wire.MinInterval, wire.MaxInterval)
		}
		interval = d
	}
	hostLabels, err := parseLabels(r.Header.Get(wire.HeaderLabels))
	if err != nil {
		return http.StatusBadRequest, fmt.Sprintf("bad %s header: %v", wire.HeaderLabels, err)
	}
	if err := h.admit(hostname, now); err != nil {
		return admitRefusal(w, hostname, err)
	}
	goodbye := r.Header.Get(wire.HeaderGoodbye) != ""
	id, code, msg := h.identify(hostname, agentID, goodbye, r.RemoteAddr, now)
	if code != 0 {
		return code, msg
	}
	// Duplicates are told apart per host ID and name: cloned machines
	// (and several agents on one test machine) share a machine ID, and
	// one's sequence numbers must not hide the other's pushes.
	hostID := agentID + "\x00" + hostname
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
	if goodbye {
		if err := h.opts.Observer.Goodbye(ctx, hostname, now); err != nil {
			h.opts.Logger.Error("record goodbye", "host", hostname, "err", err)
			return http.StatusServiceUnavailable, "could not record goodbye"
		}
		h.record(hostID, seq)
		return http.StatusNoContent, ""
	}
	rsv := &reservation{b: h.limits.budget}
	defer rsv.release()
	body, code, err := h.readBody(w, r, rsv)
	if err != nil {
		if code == http.StatusServiceUnavailable {
			h.alive(r, EndpointPush) // refused for want of memory: the host is alive
		}
		return code, err.Error()
	}
	extra := make([]labels.Label, 0, len(hostLabels)+1)
	extra = append(extra, labels.Label{Name: "host", Value: hostname})
	for k, v := range hostLabels {
		extra = append(extra, labels.Label{Name: k, Value: v})
	}
	h.opts.Logger.Debug("push received", "host", hostname, "remote_addr", r.RemoteAddr, "sequence", seq, "bytes", len(body))
	res := h.decode(EndpointPush, body, h.decodeOptions(time.Millisecond, now, extra, ""))
	h.record(hostID, seq) // only now: a batch that failed to arrive may be retried
	obs := state.Observation{Name: hostname, ID: id, Labels: hostLabels, Interval: interval,
		MetricsAddress: metricsAddress(r.Header.Get(wire.HeaderMetricsAddress), r.RemoteAddr)}
	if err := h.opts.Observer.Observe(ctx, obs, now); err != nil {
		var le *state.LimitError
		if errors.As(err, &le) { // another push took the last room since admit
			h.countAdmit(err)
			return admitRefusal(w, hostname, err)
		}
		h.opts.Logger.Error("record host state", "host", hostname, "err", err)
	}
	return h.outcome(res, hostname)
}

// WriteV1 serves POST /write, InfluxDB 1.x's endpoint: db, precision,
// u/p (see V1Credentials). The "host" tag of each line names the target.
func (h *Handler) WriteV1() http.Handler {
	return h.serve(EndpointWriteV1, v1Error, func(w http.ResponseWriter, r *http.Request) (int, string) {
		return h.write(EndpointWriteV1, w, r, r.URL.Query().Get("db"))
	})
}

// WriteV2 serves POST /api/v2/write, InfluxDB 2.x's endpoint: org,
// bucket, precision, "Authorization: Token ...".
func (h *Handler) WriteV2() http.Handler {
	return h.serve(EndpointWriteV2, v2Error, func(w http.ResponseWriter, r *http.Request) (int, string) {
		return h.write(EndpointWriteV2, w, r, r.URL.Query().Get("bucket"))
	})
}

func (h *Handler) write(endpoint string, w http.ResponseWriter, r *http.Request, db string) (int, string) {
	now := h.opts.Now()
	prec, err := ParsePrecision(r.URL.Query().Get("precision"))
	if err != nil {
		return http.StatusBadRequest, err.Error()
	}
	rsv := &reservation{b: h.limits.budget}
	defer rsv.release()
	body, code, err := h.readBody(w, r, rsv)
	if err != nil {
		return code, err.Error()
	}
	var extra []labels.Label
	if db != "" {
		if err := checkLabelValue(db); err != nil {
			return http.StatusBadRequest, fmt.Sprintf("bad database or bucket name: %v", err)
		}
		// As VictoriaMetrics does: the database or bucket becomes a label,
		// unless the line has a db tag of its own.
		extra = []labels.Label{{Name: "db", Value: db}}
	}
	o := h.decodeOptions(prec, now, extra, "host")
	// Each host is admitted (and its target created) at its first line,
	// before any of its samples is stored: the lines of a host beyond
	// the target limits are rejected, naming it.
	admitted := map[string]bool{}
	unwritten := false // state changes await one Flush
	o.AdmitHost = func(host string) error {
		// host views the body, whose buffer is reused once the request
		// is done; the tracker keeps the name.
		host = strings.Clone(host)
		if err := maySpeakFor(r, host); err != nil {
			return &reasonError{errHostNotAllowed, err}
		}
		ok, err := h.observeWritten(r.Context(), host, now, &unwritten)
		if ok {
			admitted[host] = true
		}
		return err
	}
	o.HostLabels = true
	res := h.decode(endpoint, body, o)
	// The tags a host's lines share become its target's labels (so a
	// Telegraf host's site puts it on the wall's site tile).
	for host, tags := range res.HostLabels {
		if len(tags) > 0 && admitted[host] {
			_ = h.observeTarget(r.Context(), host, now, tags, &unwritten)
		}
	}
	if unwritten {
		if err := h.opts.Observer.(unwrittenObserver).Flush(r.Context()); err != nil {
			h.opts.Logger.Error("record host state", "err", err)
		}
	}
	return h.outcome(res, "")
}

// maySpeakFor says why the request's token may not speak for host (nil
// when it may): agent tokens can be bound to host patterns
// (auth.tokens[].hosts), so one host's token cannot keep another UP.
func maySpeakFor(r *http.Request, host string) error {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.MaySpeakFor(host) {
		return nil
	}
	return fmt.Errorf("token %q may not speak for host %q: its hosts are %s", p.Name, host, strings.Join(p.Hosts, ", "))
}

// observeWritten records a sign of life of a host named by a written
// line. Samples of hosts outside the inventory are kept (they are data);
// only availability tracking is limited to admitted hosts. A new host
// beyond the target limits gets the *state.LimitError, and its lines are
// rejected. It reports whether the host was observed.
func (h *Handler) observeWritten(ctx context.Context, host string, now time.Time, unwritten *bool) (bool, error) {
	if err := h.admit(host, now); err != nil {
		var le *state.LimitError
		if errors.As(err, &le) {
			return false, err
		}
		return false, nil
	}
	if err := h.observeTarget(ctx, host, now, nil, unwritten); err != nil {
		return false, err
	}
	return true, nil
}

// observeTarget records a sign of life of an admitted written host; tags,
// when not nil, become its labels, unless an agent pushes for the host
// (whose own labels stay). When the Observer is an unwrittenObserver,
// the state changes are left to the caller's Flush and *unwritten set.
func (h *Handler) observeTarget(ctx context.Context, host string, now time.Time, tags map[string]string, unwritten *bool) error {
	// Line-protocol senders have no agent ID: the target's ID is its
	// name, unless an agent's ID is pinned to it, which stays.
	id := host
	if pinned, ok := h.opts.Observer.AgentID(host); ok && pinned != "" && pinned != host {
		id, tags = pinned, nil
	}
	obs := state.Observation{Name: host, ID: id, Labels: tags}
	var err error
	if uo, ok := h.opts.Observer.(unwrittenObserver); ok {
		var u bool
		u, err = uo.ObserveUnwritten(obs, now)
		*unwritten = *unwritten || u
	} else {
		err = h.opts.Observer.Observe(ctx, obs, now)
	}
	if err != nil {
		var le *state.LimitError
		if errors.As(err, &le) {
			h.countAdmit(err)
			return err
		}
		h.opts.Logger.Error("record host state", "host", host, "err", err)
	}
	return nil
}

func (h *Handler) decodeOptions(prec time.Duration, now time.Time, extra []labels.Label, hostTag string) DecodeOptions {
	return DecodeOptions{Precision: prec, Now: now, Extra: extra, MaxLineBytes: h.opts.MaxLineBytes, HostTag: hostTag,
		MaxAge: max(h.opts.MaxAge, 0), MaxAhead: h.opts.MaxAhead}
}

// identify checks a push's agent ID against the one pinned to its host
// at first contact and returns the ID to record, or the refusal's status
// and message. A host's ID is pinned by its first push; a push without
// an ID keeps the pinned one; a push or goodbye with another ID is
// refused, and so is a goodbye without an ID for a host whose ID is
// known. A host first seen through /write has its name as ID, which any
// sender knows (as does the agent of a host without a machine ID): the
// first agent pushing with a real ID takes it over.
func (h *Handler) identify(hostname, agentID string, goodbye bool, remote string, now time.Time) (string, int, string) {
	pinned, known := h.opts.Observer.AgentID(hostname)
	if !known || pinned == "" || agentID == pinned {
		return agentID, 0, ""
	}
	var reason, msg string
	switch {
	case goodbye && agentID == "":
		reason, msg = reasonGoodbyeNoID, fmt.Sprintf("goodbye for host %q refused: it has no %s header, and the host's agent ID is known", hostname, wire.HeaderHostID)
	case agentID == "":
		return pinned, 0, "" // an older or hand-written sender: the pin stays
	case pinned == hostname && !goodbye:
		return agentID, 0, "" // the placeholder of a /write sender
	default:
		reason, msg = reasonIDMismatch, fmt.Sprintf("host %q is bound to another agent: its %s differs from the one pinned at the host's first contact", hostname, wire.HeaderHostID)
	}
	h.identity.WithLabelValues(reason).Inc()
	h.mu.Lock()
	suppressed := 0
	logNow := h.lastIdentityLog.IsZero() || now.Sub(h.lastIdentityLog) >= identityLogEvery || now.Before(h.lastIdentityLog)
	if logNow {
		suppressed, h.identitySuppressed, h.lastIdentityLog = h.identitySuppressed, 0, now
	} else {
		h.identitySuppressed++
	}
	h.mu.Unlock()
	if logNow {
		h.opts.Logger.Warn("push refused: agent ID does not match the host's", "host", hostname, "host_id", agentID,
			"reason", reason, "goodbye", goodbye, "remote_addr", remote, "suppressed_since_last", suppressed)
	}
	return "", http.StatusConflict, msg
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
	h.rejected.WithLabelValues(endpoint, "invalid_tag").Add(float64(res.RejectedLabel))
	h.rejected.WithLabelValues(endpoint, "out_of_window").Add(float64(res.RejectedTime))
	h.rejected.WithLabelValues(endpoint, "target_limit").Add(float64(res.RejectedHost))
	h.rejected.WithLabelValues(endpoint, "host_not_allowed").Add(float64(res.RejectedNotAllowed))
	h.points.WithLabelValues(endpoint).Add(float64(res.Points))
	h.dropped.WithLabelValues(fieldString).Add(float64(res.Ignored))
	h.refused.WithLabelValues("out_of_order").Add(float64(res.RefusedOutOfOrder))
	h.refused.WithLabelValues("series_limit").Add(float64(res.RefusedSeriesLimit))
	h.refused.WithLabelValues("other").Add(float64(res.RefusedOther))
	return res
}

// outcome maps a decode result to the response: 204, or a partial write
// (400) naming the first bad line, as InfluxDB does. Samples the window
// refused (out of order, series limit) also get 400 naming the first, so
// the sender learns of it; they are counted either way.
func (h *Handler) outcome(res Result, host string) (int, string) {
	var msgs []string
	if res.FirstErr != nil {
		h.opts.Logger.Warn("rejected lines", "host", host, "rejected", res.Rejected(), "err", res.FirstErr)
		msgs = append(msgs, fmt.Sprintf("%d of %d lines rejected; first: %v", res.Rejected(), res.Lines, res.FirstErr))
	}
	if res.Refused() > 0 {
		var why []string
		for _, c := range []struct {
			n    int
			what string
		}{{res.RefusedOutOfOrder, "out of order"}, {res.RefusedSeriesLimit, "series limit reached"}, {res.RefusedOther, "other"}} {
			if c.n > 0 {
				why = append(why, fmt.Sprintf("%d %s", c.n, c.what))
			}
		}
		h.opts.Logger.Warn("samples refused", "host", host, "out_of_order", res.RefusedOutOfOrder,
			"series_limit", res.RefusedSeriesLimit, "other", res.RefusedOther, "err", res.FirstRefused)
		msgs = append(msgs, fmt.Sprintf("%d samples refused (%s); first: %v", res.Refused(), strings.Join(why, ", "), res.FirstRefused))
	}
	if len(msgs) == 0 {
		return http.StatusNoContent, ""
	}
	return http.StatusBadRequest, "partial write: " + strings.Join(msgs, "; ")
}

// seen reports whether seq from host was already received.
func (h *Handler) seen(host string, seq uint64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.seqs[host]
	return seq != 0 && r != nil && r.seen(seq)
}

// record notes seq as received from host.
func (h *Handler) record(host string, seq uint64) {
	if seq == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.seqs[host]
	if r == nil {
		r = &seqRuns{}
		h.seqs[host] = r
	}
	h.seqClock++
	if r.record(seq, h.seqClock) {
		h.evicted.Inc()
	}
}

// readBody reads the (possibly gzip-encoded) body within the rate and
// time limits, bounded after decompression so a gzip bomb gets 413, its
// bytes taken from the shared budget through rsv.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, rsv *reservation) ([]byte, int, error) {
	rd, done := h.bodyReader(w, r)
	read := false
	defer func() { done(read) }()
	// Content codings are case-insensitive (RFC 9110 8.4.1), and x-gzip
	// is gzip's old name.
	gz := false
	switch enc, lower := encodingOf(r); lower {
	case "", "identity":
	case "gzip", "x-gzip":
		gz = true
	default:
		return nil, http.StatusUnsupportedMediaType, fmt.Errorf("unsupported Content-Encoding %q (want gzip or none)", enc)
	}
	// Read at once without growing; a claimed size is trusted only up to
	// maxSizeHint, so a sender cannot reserve memory it never sends.
	size := min(max(r.ContentLength, 0), maxSizeHint)
	body, err := h.readAll(r.Context(), rd, h.opts.MaxBodyBytes, size, rsv)
	if err != nil {
		code, err := h.bodyError(w, err)
		return nil, code, err
	}
	read = true
	if gz {
		return h.inflate(r.Context(), w, body, rsv)
	}
	return body, 0, nil
}

// inflate decompresses a gzip body in two passes: the first counts its
// bytes into nothing, the second inflates them into a buffer of exactly
// that size, taken from the shared budget. A gzip bomb thus costs the
// bytes it sent, never MaxBodyBytes of inflated ones, and a body that
// fits costs no buffer grown by doubling: with one pass, 8 bombs of
// 64 MiB at once took the collector to 255-358 MB of RSS (issue 16
// item 6). Inflating twice costs CPU (about 5 ms per MB of line
// protocol on a 2-core test machine), not memory.
func (h *Handler) inflate(ctx context.Context, w http.ResponseWriter, comp []byte, rsv *reservation) ([]byte, int, error) {
	in := inflaters.Get().(*inflater)
	defer in.release()
	zr, err := in.reset(comp)
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("bad gzip body: %v", err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, h.opts.MaxBodyBytes+1))
	switch {
	case n > h.opts.MaxBodyBytes:
		code, err := h.bodyError(w, errBodyTooLarge)
		return nil, code, err
	case err != nil:
		return nil, http.StatusBadRequest, fmt.Errorf("bad gzip body: %v", err)
	}
	if !rsv.grow(ctx, bodyBufs.size(n), h.opts.BudgetWait) {
		code, err := h.bodyError(w, errBudget)
		return nil, code, err
	}
	body := bodyBufs.get(n)[:n]
	rsv.hold(body)
	if zr, err = in.reset(comp); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("bad gzip body: %v", err)
	}
	if _, err := io.ReadFull(zr, body); err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("bad gzip body: %v", err)
	}
	return body, 0, nil
}

// An inflater is a gzip reader kept between requests: a new one
// allocates its inflater state (a 32 KB window and Huffman tables, about
// 40 KB), twice per push with inflate's two passes, which at thousands
// of pushes a second was the collector's largest allocation and so much
// of its garbage collection (bench/fleet.sh, issue 20).
type inflater struct {
	zr *gzip.Reader // nil until the first reset
	br bytes.Reader
}

var inflaters = sync.Pool{New: func() any { return new(inflater) }}

// reset points the reader at the start of comp.
func (in *inflater) reset(comp []byte) (*gzip.Reader, error) {
	in.br.Reset(comp)
	if in.zr == nil {
		zr, err := gzip.NewReader(&in.br)
		if err != nil {
			return nil, err
		}
		in.zr = zr
		return zr, nil
	}
	return in.zr, in.zr.Reset(&in.br)
}

// release returns the inflater to the pool, holding no body.
func (in *inflater) release() {
	in.br.Reset(nil)
	inflaters.Put(in)
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
	if len(v) > wire.MaxLabels {
		return nil, fmt.Errorf("%d labels, at most %d allowed", len(v), wire.MaxLabels)
	}
	out := make(map[string]string, len(v))
	for k, vals := range v {
		if k == "host" || k == model.MetricNameLabel {
			return nil, fmt.Errorf("label name %q not allowed", k)
		}
		if err := checkLabelName(k); err != nil {
			return nil, err
		}
		val := vals[len(vals)-1]
		if err := checkLabelValue(val); err != nil {
			return nil, fmt.Errorf("label %s: %w", k, err)
		}
		out[k] = val
	}
	return out, nil
}
