package ingest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/wire"
)

// Defaults of the limits that keep one slow or hostile sender from
// taking the ingest capacity of every other (issue 16 items 2 and 6).
const (
	// DefaultMaxBodyReadTime bounds the time to read a whole body.
	DefaultMaxBodyReadTime = 60 * time.Second
	// DefaultMinBodyRate is the lowest transfer rate (bytes per second)
	// of a body still being read after DefaultBodyRateGrace.
	DefaultMinBodyRate = 1024
	// DefaultBodyRateGrace is how long a body may be slower than the
	// minimum rate (a slow start, a lost packet).
	DefaultBodyRateGrace = 5 * time.Second
	// DefaultMaxBodyBytesInFlight bounds the body bytes held in memory
	// across concurrent requests (at least twice MaxBodyBytes).
	DefaultMaxBodyBytesInFlight = 128 << 20
	// DefaultBudgetWait is how long a request waits for body bytes
	// before it gets 503.
	DefaultBudgetWait = time.Second
)

// Reasons of nines_ingest_refused_total: requests the collector refused
// because of its own limits, not because of what they held.
const (
	refusedOverloaded   = "overloaded"     // every ingest slot busy
	refusedSenderLimit  = "sender_limit"   // the sender's share of the slots busy
	refusedBodyBudget   = "body_budget"    // no room for the body's bytes in memory
	refusedSlowBody     = "slow_body"      // the body came slower than the minimum rate, or too late
	overloadLogInterval = time.Minute      // overload refusals are logged at most this often
	budgetChunk         = int64(8 << 10)   // the body buffer's smallest size
	maxSizeHint         = int64(256 << 10) // the largest first buffer a Content-Length gets
)

// Limits bound the time and memory one request may take and share the
// ingest slots between senders (issue 16 items 2 and 6).
type Limits struct {
	// MaxBodyReadTime bounds the time to read a whole body (0:
	// DefaultMaxBodyReadTime); MinBodyRate (bytes per second; 0:
	// DefaultMinBodyRate, negative: none) is the lowest rate of a body
	// still being read after BodyRateGrace (0: DefaultBodyRateGrace).
	// Slower bodies are cut with 408 and counted.
	MaxBodyReadTime time.Duration
	MinBodyRate     int64
	BodyRateGrace   time.Duration
	// MaxConcurrentPerSender is one sender's share of MaxConcurrent (a
	// push's host, a write's token or client address; 0:
	// MaxConcurrent/4, at least 1); more get 429.
	MaxConcurrentPerSender int
	// MaxBodyBytesInFlight bounds the body bytes held in memory, after
	// decompression, across concurrent requests (0: the larger of
	// DefaultMaxBodyBytesInFlight and 2*MaxBodyBytes). A request that
	// finds no room waits up to BudgetWait (0: DefaultBudgetWait;
	// negative: not at all), then gets 503 with Retry-After.
	MaxBodyBytesInFlight int64
	BudgetWait           time.Duration
}

// LimitsFromConfig returns the limits of the configuration's ingest
// section.
func LimitsFromConfig(c config.Ingest) Limits {
	return Limits{
		MaxBodyReadTime:        c.MaxBodyReadTime.D(),
		MinBodyRate:            cmp.Or(c.MinBodyRate, -1), // 0 in the file: no minimum
		BodyRateGrace:          c.BodyRateGrace.D(),
		MaxConcurrentPerSender: c.MaxConcurrentPerSender,
		MaxBodyBytesInFlight:   c.MaxBodyBytesInFlight,
	}
}

// aliveRecorder is implemented by an Observer (state.Tracker) that can
// record a refused push as a sign of life.
type aliveRecorder interface {
	Alive(ctx context.Context, name, id string, now time.Time) (bool, error)
}

// admitChecker is implemented by an Observer (state.Tracker) that says
// why a target may not report: state.ErrNotAllowed or a
// *state.LimitError.
type admitChecker interface {
	AdmitAt(name string, now time.Time) error
}

// The tracker is the Observer these are for.
var (
	_ aliveRecorder = (*state.Tracker)(nil)
	_ admitChecker  = (*state.Tracker)(nil)
	_ Observer      = (*state.Tracker)(nil)
)

// errBodyTooSlow: the body came slower than the minimum rate, or not
// within the maximum time.
var errBodyTooSlow = errors.New("request body too slow")

// limits is the state of the fairness and overload accounting.
type limits struct {
	budget *budget

	mu      sync.Mutex
	senders map[string]int // requests in flight by sender
	// Refusals are logged at most once per overloadLogInterval and
	// kind; the others are counted and reported with the next line.
	overloadLog, targetLog logLimiter

	refused        *prometheus.CounterVec
	targetsRefused *prometheus.CounterVec
	inFlight       prometheus.GaugeFunc
}

func (h *Handler) initLimits() {
	o := &h.opts
	if o.MaxBodyReadTime <= 0 {
		o.MaxBodyReadTime = DefaultMaxBodyReadTime
	}
	if o.MinBodyRate == 0 {
		o.MinBodyRate = DefaultMinBodyRate
	}
	if o.BodyRateGrace <= 0 {
		o.BodyRateGrace = DefaultBodyRateGrace
	}
	if o.MaxConcurrentPerSender <= 0 {
		o.MaxConcurrentPerSender = max(1, o.MaxConcurrent/4)
	}
	if o.MaxBodyBytesInFlight <= 0 {
		o.MaxBodyBytesInFlight = max(DefaultMaxBodyBytesInFlight, 2*o.MaxBodyBytes)
	}
	if o.BudgetWait == 0 {
		o.BudgetWait = DefaultBudgetWait
	}
	l := &h.limits
	l.budget = newBudget(o.MaxBodyBytesInFlight)
	l.senders = map[string]int{}
	l.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nines_ingest_refused_total",
		Help: "Ingest requests the collector refused because of its own limits, by reason (overloaded, sender_limit, body_budget, slow_body).",
	}, []string{"reason"})
	for _, r := range []string{refusedOverloaded, refusedSenderLimit, refusedBodyBudget, refusedSlowBody} {
		l.refused.WithLabelValues(r)
	}
	l.targetsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "nines_ingest_targets_refused_total",
		Help: "New targets refused beyond the inventory's limits, by reason (max_targets, new_targets_rate).",
	}, []string{"reason"})
	for _, r := range []string{state.LimitMaxTargets, state.LimitNewRate} {
		l.targetsRefused.WithLabelValues(r)
	}
	l.inFlight = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nines_ingest_body_bytes_in_flight",
		Help: "Bytes of request bodies held in memory, after decompression, across requests.",
	}, func() float64 { used, _ := l.budget.inUse(); return float64(used) })
	if o.Registerer != nil {
		o.Registerer.MustRegister(l.refused, l.targetsRefused, l.inFlight)
	}
}

// senderKey names who a request comes from, for the per-sender share of
// the ingest slots: a push's host, a write's token (or, without one, its
// client address).
func senderKey(endpoint string, r *http.Request) string {
	if endpoint == EndpointPush {
		h := r.Header.Get(wire.HeaderHostname)
		return "host:" + h[:min(len(h), 253)]
	}
	if p, ok := auth.FromContext(r.Context()); ok {
		return "token:" + p.Name
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr:" + host
}

// enter takes one of the sender's share of slots; false when it has all
// of them.
func (h *Handler) enter(key string) bool {
	l := &h.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.senders[key] >= h.opts.MaxConcurrentPerSender {
		return false
	}
	l.senders[key]++
	return true
}

func (h *Handler) leave(key string) {
	l := &h.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.senders[key]--; l.senders[key] <= 0 {
		delete(l.senders, key)
	}
}

// refuse answers a request the collector refuses because of its own
// limits. A refused push still proves its host alive, so it is recorded
// as such first: the collector's overload never makes a host DOWN.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, endpoint string, ew errorWriter, reason string, code int, msg string) {
	h.alive(r, endpoint)
	h.overloaded(reason, endpoint, r.RemoteAddr)
	// The body is left unread: net/http would drain it before answering,
	// at the sender's pace, so the connection is closed instead.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
	w.Header().Set("Connection", "close")
	w.Header().Set("Retry-After", "1")
	h.requests.WithLabelValues(endpoint, fmt.Sprint(code)).Inc()
	ew(w, code, msg)
}

// overloaded counts a refusal and logs it, at most once a minute with the
// number of refusals since the last line.
func (h *Handler) overloaded(reason, endpoint, remote string) {
	l := &h.limits
	l.refused.WithLabelValues(reason).Inc()
	l.mu.Lock()
	logNow, suppressed := l.overloadLog.allow(time.Now())
	l.mu.Unlock()
	if logNow {
		h.opts.Logger.Warn("ingest request refused: an ingest limit was reached", "reason", reason, "endpoint", endpoint,
			"remote_addr", remote, "suppressed_since_last", suppressed)
	}
}

// alive records a refused push as a sign of life of its host, when the
// host is known and the push's agent ID is the one pinned to it. It is
// cheap: headers only, no body.
func (h *Handler) alive(r *http.Request, endpoint string) {
	a, ok := h.opts.Observer.(aliveRecorder)
	if !ok || endpoint != EndpointPush {
		return
	}
	name, id := r.Header.Get(wire.HeaderHostname), r.Header.Get(wire.HeaderHostID)
	if checkHostname(name) != nil || printable(id, wire.MaxHostIDBytes) != nil || r.Header.Get(wire.HeaderGoodbye) != "" || maySpeakFor(r, name) != nil {
		return
	}
	if _, err := a.Alive(r.Context(), name, id, h.opts.Now()); err != nil {
		h.opts.Logger.Error("record host state", "host", name, "err", err)
	}
}

// admit says whether name may report (nil) or why not: state.ErrNotAllowed
// or a *state.LimitError, counted.
func (h *Handler) admit(name string, now time.Time) error {
	var err error
	if a, ok := h.opts.Observer.(admitChecker); ok {
		err = a.AdmitAt(name, now)
	} else if !h.opts.Observer.Admit(name) {
		err = state.ErrNotAllowed
	}
	h.countAdmit(err)
	return err
}

func (h *Handler) countAdmit(err error) {
	var le *state.LimitError
	switch {
	case errors.As(err, &le):
		h.limits.targetsRefused.WithLabelValues(le.Reason).Inc()
		h.limits.mu.Lock()
		logNow, suppressed := h.limits.targetLog.allow(time.Now())
		h.limits.mu.Unlock()
		if logNow {
			h.opts.Logger.Warn("new target refused: the inventory's target limits are reached", "target", le.Name, "reason", le.Reason,
				"limit", le.Limit, "suppressed_since_last", suppressed)
		}
	case err != nil:
		h.notAdmitted.Inc()
	}
}

// admitRefusal maps a refused admission to the push's answer: 403 for a
// host outside the inventory or beyond max_targets, 429 (Retry-After a
// minute) beyond the new-target rate.
func admitRefusal(w http.ResponseWriter, name string, err error) (int, string) {
	var le *state.LimitError
	switch {
	case errors.As(err, &le) && le.Reason == state.LimitNewRate:
		w.Header().Set("Retry-After", "60")
		return http.StatusTooManyRequests, le.Error()
	case errors.As(err, &le):
		return http.StatusForbidden, le.Error()
	default:
		return http.StatusForbidden, fmt.Sprintf("host %q is not in the inventory and may not register itself", name)
	}
}

// rateReader cuts a body that comes slower than minRate bytes per second
// once grace has passed, or that is not complete after maxTime. A stalled
// client is cut by the connection's read deadline, moved forward as
// bytes arrive (setDeadline; nil when the connection has none).
type rateReader struct {
	r           io.Reader
	start       time.Time
	n           int64
	minRate     int64 // bytes per second; <= 0: no minimum
	grace, max  time.Duration
	setDeadline func(time.Time) error
}

func (rr *rateReader) deadline() time.Time {
	end := rr.start.Add(rr.max)
	if rr.minRate > 0 {
		// The time by which the bytes read so far stop meeting the rate.
		d := rr.start.Add(max(rr.grace, time.Duration(float64(rr.n+1)/float64(rr.minRate)*float64(time.Second))))
		if d.Before(end) {
			end = d
		}
	}
	return end
}

func (rr *rateReader) Read(p []byte) (int, error) {
	if rr.setDeadline != nil {
		_ = rr.setDeadline(rr.deadline()) // not every connection supports it; the checks below still hold
	}
	n, err := rr.r.Read(p)
	rr.n += int64(n)
	el := time.Since(rr.start)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return n, errBodyTooSlow
	case el > rr.max && err != io.EOF:
		return n, errBodyTooSlow
	case rr.minRate > 0 && el > rr.grace && err != io.EOF && float64(rr.n) < float64(rr.minRate)*el.Seconds():
		return n, errBodyTooSlow
	}
	return n, err
}

// readAll reads rd up to limit bytes (more: the returned error is
// errBodyTooLarge), growing its buffer only with bytes taken from the
// shared budget through rsv (errBudget when there are none). size is the
// expected size (0: unknown), the buffer's first size.
func (h *Handler) readAll(ctx context.Context, rd io.Reader, limit, size int64, rsv *reservation) (_ []byte, err error) {
	var buf []byte
	defer func() { // the buffer is the reservation's until it is released
		if buf != nil {
			rsv.hold(buf)
		}
	}()
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return nil, errBodyTooLarge
			}
			newCap := bodyBufs.size(min(max(int64(cap(buf))*2, budgetChunk, size+1), limit+1))
			size = 0
			if !rsv.grow(ctx, newCap-int64(cap(buf)), h.opts.BudgetWait) {
				return nil, errBudget
			}
			nb := bodyBufs.get(newCap)[:len(buf)]
			copy(nb, buf)
			bodyBufs.put(buf)
			buf = nb
		}
		n, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, errBodyTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

var (
	errBodyTooLarge = errors.New("body too large")
	errBudget       = errors.New("no room for the body in memory")
)

// bodyError maps an error of reading a body to the answer's status.
func (h *Handler) bodyError(w http.ResponseWriter, err error) (int, error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe) || errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, fmt.Errorf("body larger than %d bytes", h.opts.MaxBodyBytes)
	case errors.Is(err, errBodyTooSlow):
		h.overloaded(refusedSlowBody, "", "")
		return http.StatusRequestTimeout, fmt.Errorf("body not received in time: slower than %d bytes/s after %s, or longer than %s", h.opts.MinBodyRate, h.opts.BodyRateGrace, h.opts.MaxBodyReadTime)
	case errors.Is(err, errBudget):
		h.overloaded(refusedBodyBudget, "", "")
		w.Header().Set("Retry-After", "1")
		return http.StatusServiceUnavailable, fmt.Errorf("the collector holds %d bytes of request bodies, its limit; retry later", h.opts.MaxBodyBytesInFlight)
	default:
		return http.StatusBadRequest, fmt.Errorf("read body: %v", err)
	}
}

// bodyReader wraps r's body in the rate and size limits; call done with
// whether the body was read whole.
func (h *Handler) bodyReader(w http.ResponseWriter, r *http.Request) (io.Reader, func(ok bool)) {
	rr := &rateReader{r: r.Body, start: time.Now(), minRate: h.opts.MinBodyRate, grace: h.opts.BodyRateGrace, max: h.opts.MaxBodyReadTime}
	done := func(bool) {}
	if w != nil {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(rr.deadline()) == nil {
			rr.setDeadline = rc.SetReadDeadline
			// A body read whole frees the connection; one left unread
			// (too slow, too large) is not waited for: net/http would
			// otherwise drain it, at the sender's pace, after the answer.
			done = func(ok bool) {
				if ok {
					_ = rc.SetReadDeadline(time.Time{})
				} else {
					_ = rc.SetReadDeadline(time.Now())
				}
			}
		}
	}
	return http.MaxBytesReader(nil, io.NopCloser(rr), h.opts.MaxBodyBytes), done
}

// encodingOf returns the body's content coding, lower-cased.
func encodingOf(r *http.Request) (string, string) {
	enc := strings.TrimSpace(r.Header.Get("Content-Encoding"))
	return enc, strings.ToLower(enc)
}

// logLimiter lets one log line through per overloadLogInterval and
// counts the others. Its user guards it.
type logLimiter struct {
	last       time.Time
	suppressed int
}

// allow says whether to log now, and how many lines were held back since
// the last one.
func (l *logLimiter) allow(now time.Time) (bool, int) {
	if l.last.IsZero() || now.Sub(l.last) >= overloadLogInterval || now.Before(l.last) {
		n := l.suppressed
		l.suppressed, l.last = 0, now
		return true, n
	}
	l.suppressed++
	return false, 0
}
