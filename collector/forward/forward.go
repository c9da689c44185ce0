// Package forward sends everything the collector ingests on to long-term
// storage with the Prometheus remote-write protocol (Prometheus,
// VictoriaMetrics, Mimir, Thanos receive). Samples wait in a bounded
// queue; when it is full new samples are dropped and counted, never
// blocking ingest. Failed sends are retried with backoff (5xx, 429,
// network errors) or dropped and counted (other 4xx).
package forward

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/ninesmon/nines/internal/backoff"
)

// Options configure a Forwarder.
type Options struct {
	URL          string
	BearerToken  string
	QueueSize    int           // samples held while the receiver is slow or away
	BatchSize    int           // samples per request
	FlushEvery   time.Duration // send a partial batch after this long
	Timeout      time.Duration // per request
	MaxBackoff   time.Duration
	Logger       *slog.Logger
	Registerer   prometheus.Registerer
	Client       *http.Client
	ExternalTags map[string]string // added to every series (e.g. collector="dc1")
}

type sample struct {
	lset labels.Labels
	t    int64
	v    float64
}

// Forwarder queues samples and sends them. Append may be called from any
// goroutine; Run sends until its context ends.
type Forwarder struct {
	opts Options

	mu    sync.Mutex
	queue []sample
	wake  chan struct{}

	sent, dropped, failed, retried prometheus.Counter
	queued                         prometheus.GaugeFunc
}

// New returns a forwarder and registers its metrics.
func New(opts Options) *Forwarder {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1_000_000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 5000
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f := &Forwarder{opts: opts, wake: make(chan struct{}, 1)}
	f.sent = prometheus.NewCounter(prometheus.CounterOpts{Name: "nines_forward_samples_sent_total", Help: "Samples delivered by remote write."})
	f.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "nines_forward_samples_dropped_total", Help: "Samples dropped: queue full, or refused by the receiver (4xx)."})
	f.failed = prometheus.NewCounter(prometheus.CounterOpts{Name: "nines_forward_requests_failed_total", Help: "Remote-write requests that failed (each retry counts)."})
	f.retried = prometheus.NewCounter(prometheus.CounterOpts{Name: "nines_forward_retries_total", Help: "Remote-write requests retried."})
	f.queued = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "nines_forward_queue_samples", Help: "Samples waiting to be forwarded."},
		func() float64 { f.mu.Lock(); defer f.mu.Unlock(); return float64(len(f.queue)) })
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(f.sent, f.dropped, f.failed, f.retried, f.queued)
	}
	return f
}

// Append queues one sample (copying lset); when the queue is full it is
// dropped and counted. It never blocks.
func (f *Forwarder) Append(lset labels.Labels, t int64, v float64) error {
	f.mu.Lock()
	if len(f.queue) >= f.opts.QueueSize {
		f.mu.Unlock()
		f.dropped.Inc()
		return nil
	}
	f.queue = append(f.queue, sample{lset.Copy(), t, v}) // the caller may reuse lset
	full := len(f.queue) >= f.opts.BatchSize
	f.mu.Unlock()
	if full {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Run sends batches until ctx is done.
func (f *Forwarder) Run(ctx context.Context) error {
	t := time.NewTicker(f.opts.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-f.wake:
		}
		for {
			batch := f.take()
			if len(batch) == 0 {
				break
			}
			if !f.sendWithRetry(ctx, batch) {
				return nil
			}
			if len(batch) < f.opts.BatchSize {
				break
			}
		}
	}
}

func (f *Forwarder) take() []sample {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := min(len(f.queue), f.opts.BatchSize)
	batch := append([]sample(nil), f.queue[:n]...)
	f.queue = f.queue[n:]
	if len(f.queue) == 0 {
		f.queue = nil // let the backing array go
	}
	return batch
}

// errPermanent marks a batch the receiver refused for good.
var errPermanent = errors.New("refused by the receiver")

// sendWithRetry sends until success, a permanent refusal, or ctx ends
// (then it reports false).
func (f *Forwarder) sendWithRetry(ctx context.Context, batch []sample) bool {
	body, err := encode(batch, f.opts.ExternalTags)
	if err != nil {
		f.opts.Logger.Error("encode remote-write batch", "err", err)
		f.dropped.Add(float64(len(batch)))
		return true
	}
	retry := backoff.New(100*time.Millisecond, f.opts.MaxBackoff)
	for {
		err := f.send(ctx, body)
		switch {
		case err == nil:
			f.sent.Add(float64(len(batch)))
			return true
		case errors.Is(err, errPermanent):
			f.dropped.Add(float64(len(batch)))
			f.opts.Logger.Error("remote write refused; samples dropped", "samples", len(batch), "err", err)
			return true
		}
		f.failed.Inc()
		wait := retry.Next()
		f.opts.Logger.Warn("remote write failed; retrying", "err", err, "retry_in", wait)
		if retry.Sleep(ctx, wait) != nil {
			return false
		}
		f.retried.Inc()
	}
}

func (f *Forwarder) send(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.opts.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", errPermanent, err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "nines-collector")
	if f.opts.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+f.opts.BearerToken)
	}
	resp, err := f.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(msg))
	default:
		return fmt.Errorf("%w: %s: %s", errPermanent, resp.Status, bytes.TrimSpace(msg))
	}
}

// encode builds a snappy-compressed WriteRequest, one time series per
// label set, samples in time order.
func encode(batch []sample, external map[string]string) ([]byte, error) {
	idx := map[uint64]int{}
	var req prompb.WriteRequest
	for _, s := range batch {
		h := s.lset.Hash()
		i, ok := idx[h]
		if !ok {
			var ls []prompb.Label
			b := labels.NewBuilder(s.lset)
			for k, v := range external {
				if s.lset.Get(k) == "" {
					b.Set(k, v)
				}
			}
			b.Labels().Range(func(l labels.Label) { ls = append(ls, prompb.Label{Name: l.Name, Value: l.Value}) })
			req.Timeseries = append(req.Timeseries, prompb.TimeSeries{Labels: ls})
			i = len(req.Timeseries) - 1
			idx[h] = i
		}
		req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Timestamp: s.t, Value: s.v})
	}
	raw, err := req.Marshal()
	if err != nil {
		return nil, err
	}
	return snappy.Encode(nil, raw), nil
}
