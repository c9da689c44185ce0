package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/ninesmon/nines/agent/spool"
	"github.com/ninesmon/nines/internal/backoff"
	"github.com/ninesmon/nines/internal/gzpool"
	"github.com/ninesmon/nines/internal/wire"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// Options configure a Sender.
type Options struct {
	URLs     []string // collector base URLs, tried in order (fail-over)
	Token    yamlconf.Secret
	HostID   string
	Hostname string
	Labels   map[string]string
	// MetricsAddress is the agent's /metrics listen address, announced for
	// service discovery.
	MetricsAddress string
	Interval       time.Duration // announced to the collector
	Timeout        time.Duration // per request
	QueueSize      int           // batches held in memory while no collector accepts (no spool)
	// SpoolDir, when set, keeps batches on disk until accepted (see package
	// spool), bounded by SpoolMaxBytes; QueueSize then does not apply.
	SpoolDir      string
	SpoolMaxBytes int64
	Client        *http.Client // nil: a client with Timeout
	Logger        *slog.Logger
	Metrics       *metrics.Set // where self metrics are registered; nil: a private set
	// MetricLabel, when set, is added to every self metric's labels
	// (`collector="..."`: one Sender per collector in a Group).
	MetricLabel string
}

// Sender delivers batches oldest first. Enqueue, Update and Pending may be
// called from any goroutine; Run must be running for batches to leave.
type Sender struct {
	client *http.Client
	q      queue // oldest first

	mu       sync.Mutex
	opts     Options
	labels   string
	seq      uint64
	lastWarn time.Time // of the last "dropped" warning (rate limit)
	wake     chan struct{}

	sent, failed, dropped, rejected *metrics.Counter
}

// batch is a gzip-compressed line-protocol payload and its sequence number.
type batch = spool.Batch

// queue holds batches until they are delivered: in memory, or on disk.
type queue interface {
	Push(b batch) (dropped int, err error)
	Head() (batch, bool)
	Pop(seq uint64)
	Len() int
	// Sync makes what is queued durable (the spool defers its fsync while
	// a batch may leave at once); called when a delivery fails.
	Sync()
}

// memQueue is the in-memory queue, bounded by a number of batches.
type memQueue struct {
	mu    sync.Mutex
	max   int
	items []batch
}

func (m *memQueue) Push(b batch) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	dropped := 0
	for len(m.items) >= m.max {
		m.items = m.items[1:]
		dropped++
	}
	m.items = append(m.items, b)
	return dropped, nil
}

func (m *memQueue) Head() (batch, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.items) == 0 {
		return batch{}, false
	}
	return m.items[0], true
}

func (m *memQueue) Pop(seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.items) > 0 && m.items[0].Seq == seq {
		m.items = m.items[1:]
	}
}

func (m *memQueue) Sync() {}

func (m *memQueue) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.items)
}

// ErrRejected marks a batch the collector refused for good (4xx other
// than 401, 403 and 429); it is dropped and counted, not retried.
var ErrRejected = errors.New("batch rejected by collector")

// NewSender returns a sender. Sequence numbers start from the current time
// in microseconds (or past the newest spooled batch), so they keep
// increasing across agent restarts. Batches left in the spool by an
// earlier run are sent first.
func NewSender(opts Options) (*Sender, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := opts.Client
	if c == nil {
		c = &http.Client{Timeout: opts.Timeout}
	}
	var q queue = &memQueue{max: opts.QueueSize}
	seq := uint64(time.Now().UnixMicro())
	var sp *spool.Spool
	if opts.SpoolDir != "" {
		var err error
		sp, err = spool.Open(opts.SpoolDir, opts.SpoolMaxBytes)
		if err != nil {
			return nil, fmt.Errorf("open spool: %w", err)
		}
		if n := sp.Corrupt(); n > 0 {
			opts.Logger.Warn("damaged spooled batches removed", "batches", n)
		}
		if n := sp.Len(); n > 0 {
			opts.Logger.Info("spooled batches from an earlier run will be sent first", "batches", n)
		}
		if opts.MetricLabel == "" { // not one of a Group's
			warnGroupSpools(opts)
		}
		seq = max(seq, sp.LastSeq())
		q = sp
	}
	s := &Sender{
		q:        q,
		opts:     opts,
		client:   c,
		labels:   EncodeLabels(opts.Labels),
		seq:      seq,
		wake:     make(chan struct{}, 1),
		sent:     opts.Metrics.NewCounter(metricName(`nines_agent_push_batches_total`, `result="sent"`, opts.MetricLabel)),
		failed:   opts.Metrics.NewCounter(metricName(`nines_agent_push_attempts_failed_total`, "", opts.MetricLabel)),
		dropped:  opts.Metrics.NewCounter(metricName(`nines_agent_push_batches_total`, `result="dropped_queue_full"`, opts.MetricLabel)),
		rejected: opts.Metrics.NewCounter(metricName(`nines_agent_push_batches_total`, `result="rejected"`, opts.MetricLabel)),
	}
	opts.Metrics.NewGauge(metricName(`nines_agent_push_queue_batches`, "", opts.MetricLabel), func() float64 { return float64(s.q.Len()) })
	if sp != nil {
		opts.Metrics.NewGauge(metricName(`nines_agent_spool_bytes`, "", opts.MetricLabel), func() float64 { return float64(sp.Bytes()) })
		opts.Metrics.NewGauge(metricName(`nines_agent_spool_corrupt_batches`, "", opts.MetricLabel), func() float64 { return float64(sp.Corrupt()) })
	}
	return s, nil
}

// warnGroupSpools reports batches a Group (push.mode all) left in its
// per-collector spools: each holds a copy of the same batches, so they
// are not sent again by one Sender (that would duplicate them); switching
// back to push.mode all sends them.
func warnGroupSpools(opts Options) {
	dirs, _ := filepath.Glob(filepath.Join(opts.SpoolDir, "collector-*"))
	for _, d := range dirs {
		sp, err := spool.Open(d, opts.SpoolMaxBytes)
		if err != nil || sp.Len() == 0 {
			continue
		}
		opts.Logger.Warn("batches spooled under push.mode all are not sent in fail-over mode; set push.mode: all to send them, or remove the directory",
			"dir", d, "batches", sp.Len())
	}
}

// Update changes where and how batches are sent (after a reload); queued
// batches are kept and go to the new destination.
func (s *Sender) Update(urls []string, token yamlconf.Secret, labels map[string]string, interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.URLs = urls
	s.opts.Token = token
	s.opts.Labels = labels
	s.opts.Interval = interval
	s.labels = EncodeLabels(labels)
}

// metricName joins a metric name and its labels (either may be empty).
func metricName(name string, labels ...string) string {
	var set []string
	for _, l := range labels {
		if l != "" {
			set = append(set, l)
		}
	}
	if len(set) == 0 {
		return name
	}
	return name + "{" + strings.Join(set, ",") + "}"
}

func (s *Sender) snapshot() (Options, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts, s.labels
}

// EncodeLabels renders labels for the wire.HeaderLabels header.
func EncodeLabels(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	v := url.Values{}
	for k, val := range m {
		v.Set(k, val)
	}
	return strings.ReplaceAll(v.Encode(), "&", ",")
}

// Enqueue compresses a line-protocol payload and queues it. When the queue
// is full the oldest batch is dropped and counted.
func (s *Sender) Enqueue(lp []byte) error {
	body, err := compress(lp)
	if err != nil {
		return err
	}
	return s.enqueueCompressed(body)
}

// compress gzips a line-protocol payload.
func compress(lp []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(lp)/4 + 64)
	zw := gzpool.Get(&buf)
	_, err := zw.Write(lp)
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	gzpool.Put(zw)
	return buf.Bytes(), err
}

// enqueueCompressed queues a gzipped payload under the next sequence
// number.
func (s *Sender) enqueueCompressed(body []byte) error {
	s.mu.Lock()
	s.seq++
	b := batch{Seq: s.seq, Body: body}
	s.mu.Unlock()
	dropped, err := s.q.Push(b)
	if err != nil {
		return fmt.Errorf("queue batch: %w", err)
	}
	if dropped > 0 {
		// Drop the oldest: the newest data says most about the host now.
		s.dropped.Add(dropped)
		s.mu.Lock()
		warn := time.Since(s.lastWarn) > time.Minute
		if warn {
			s.lastWarn = time.Now()
		}
		s.mu.Unlock()
		if warn {
			s.opts.Logger.Warn("push queue full, dropped oldest batches", "dropped_total", s.dropped.Get())
		}
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending is the number of batches waiting to be delivered.
func (s *Sender) Pending() int { return s.q.Len() }

// Run delivers queued batches until ctx is done. Failures back off
// exponentially (up to 30 s) with jitter; the batch stays at the head of
// the queue so order is kept.
func (s *Sender) Run(ctx context.Context) error {
	retry := backoff.New(time.Second, maxBackoff)
	var wait time.Duration
	for {
		if retry.Sleep(ctx, wait) != nil {
			return nil
		}
		wait = 0
		b, ok := s.head()
		if !ok {
			select {
			case <-ctx.Done():
				return nil
			case <-s.wake:
				continue
			}
		}
		err := s.deliver(ctx, b, false)
		switch {
		case err == nil:
			s.pop(b.Seq)
			s.sent.Inc()
			retry.Reset()
		case errors.Is(err, ErrRejected):
			s.pop(b.Seq)
			s.rejected.Inc()
			s.opts.Logger.Error("collector rejected batch; dropped", "err", err)
			retry.Reset()
		case ctx.Err() != nil:
			return nil
		default:
			s.failed.Inc()
			s.q.Sync() // it waits: make it outlive a power cut
			opts, _ := s.snapshot()
			retry.Min = firstBackoff(opts.Interval) // the interval may change on reload
			wait = retry.Next()
			s.opts.Logger.Warn("push failed; will retry", "err", err, "retry_in", wait.Round(time.Millisecond))
		}
	}
}

// Flush tries to deliver everything queued until ctx is done and returns
// the number of batches still undelivered.
func (s *Sender) Flush(ctx context.Context) int {
	for {
		b, ok := s.head()
		if !ok {
			return 0
		}
		err := s.deliver(ctx, b, false)
		switch {
		case errors.Is(err, ErrRejected):
			s.rejected.Inc()
		case err != nil:
			s.q.Sync()
			return s.Pending()
		default:
			s.sent.Inc()
		}
		s.pop(b.Seq)
	}
}

// Goodbye tells the collectors that this agent is stopping on purpose, so
// a planned shutdown is not taken for an outage.
func (s *Sender) Goodbye(ctx context.Context) error {
	s.mu.Lock()
	s.seq++
	b := batch{Seq: s.seq}
	s.mu.Unlock()
	return s.deliver(ctx, b, true)
}

func (s *Sender) head() (batch, bool) { return s.q.Head() }

func (s *Sender) pop(seq uint64) { s.q.Pop(seq) }

// maxBackoff caps the delay between push retries.
const maxBackoff = 30 * time.Second

// firstBackoff is the delay after a first failure: half the push
// interval, at most a second. Later ones double up to maxBackoff, with
// equal jitter so a fleet does not retry in step.
func firstBackoff(interval time.Duration) time.Duration {
	if d := min(interval/2, time.Second); d > 0 {
		return d
	}
	return time.Second
}

// deliver sends one batch to the first collector URL that accepts it.
func (s *Sender) deliver(ctx context.Context, b batch, goodbye bool) error {
	opts, labels := s.snapshot()
	if len(opts.URLs) == 0 {
		return errors.New("no collector URL configured")
	}
	var errs []error
	for _, base := range opts.URLs {
		err := s.post(ctx, &opts, labels, base, b, goodbye)
		if err == nil || errors.Is(err, ErrRejected) {
			return err
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (s *Sender) post(ctx context.Context, opts *Options, labels, base string, b batch, goodbye bool) error {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+wire.PushPath, bytes.NewReader(b.Body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	if len(b.Body) > 0 {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if tok := opts.Token.Reveal(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set(wire.HeaderHostID, opts.HostID)
	req.Header.Set(wire.HeaderHostname, opts.Hostname)
	req.Header.Set(wire.HeaderSequence, strconv.FormatUint(b.Seq, 10))
	if opts.Interval > 0 {
		req.Header.Set(wire.HeaderInterval, opts.Interval.String())
	}
	if labels != "" {
		req.Header.Set(wire.HeaderLabels, labels)
	}
	if opts.MetricsAddress != "" {
		req.Header.Set(wire.HeaderMetricsAddress, opts.MetricsAddress)
	}
	if goodbye {
		req.Header.Set(wire.HeaderGoodbye, "1")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("push to %s: %w", redact(base), err)
	}
	defer resp.Body.Close()
	msg := errorMessage(resp.Body)
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusUnauthorized ||
		resp.StatusCode == http.StatusForbidden || resp.StatusCode >= 500:
		// Retry: overload and server faults pass; a wrong token is fixed by
		// the operator, and the data should still arrive afterwards.
		return fmt.Errorf("push to %s: %s: %s", redact(base), resp.Status, msg)
	default:
		return fmt.Errorf("%w: %s: %s: %s", ErrRejected, redact(base), resp.Status, msg)
	}
}

// errorMessage is the collector's answer as a message: the "error" of a
// JSON answer, or the first 512 bytes of any other.
func errorMessage(body io.Reader) string {
	raw, _ := io.ReadAll(io.LimitReader(body, 512))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && e.Error != "" {
		return e.Error
	}
	return string(bytes.TrimSpace(raw))
}

// redact drops user info and query from a URL before it is logged.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable url>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
