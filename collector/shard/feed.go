package shard

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
)

// Batches is the part of the store a Feed uses (store.Shards).
type Batches interface {
	AddProbeBatch(ctx context.Context, b store.ProbeBatch) error
	ProbeBatches(ctx context.Context, self int64, after map[int64]int64) ([]store.ProbeBatch, error)
	PruneProbeBatches(ctx context.Context, before time.Time) (int64, error)
}

// Sink is where what the other members probed goes: their samples into
// the recent window (not forwarded again: the prober forwards its own),
// their outcomes into the availability tracker.
type Sink interface {
	Append(lset labels.Labels, t int64, v float64) error
	ProbeResult(ctx context.Context, p state.Probe, now time.Time) error
}

// DefaultMaxPending bounds the samples a Feed holds between two Syncs;
// beyond it the oldest go, counted.
const DefaultMaxPending = 500_000

// FeedOptions configure a Feed.
type FeedOptions struct {
	// Self is this member's id (its run id).
	Self  int64
	Store Batches
	Sink  Sink
	// Since: outcomes made before it are not applied (counted stale).
	// A collector sets it to its start: the states it restored from the
	// store already hold what was decided before, and replaying the
	// outcomes behind them would record changes again.
	Since time.Time
	// MaxPending bounds the queued samples (DefaultMaxPending if 0).
	MaxPending int
	Logger     *slog.Logger
}

// Feed shares what this member probes with the other members through
// the store, and applies what they probed: every member's tracker sees
// every probe's outcome (the leader decides availability and opens
// incidents), and every member's window every probe's samples (rules
// on SNMP and check samples evaluate wherever they run).
//
// The probing code calls Sample and Result as it goes; one goroutine
// calls Sync every second or so, which writes what was queued as one
// batch and reads the batches the others wrote since the last Sync.
// Safe for concurrent use, but Sync is not to be called concurrently
// with itself.
type Feed struct {
	opts FeedOptions

	mu      sync.Mutex
	pending batch
	// last is the time of the newest outcome applied per target (here or
	// read): an older one, read late, is stale and not applied, so a
	// target moving between members never steps back.
	last map[string]time.Time

	// Sync's own (one goroutine).
	seq    int64
	cursor map[int64]int64

	// Counters for /metrics.
	SharedSamples, SharedResults     atomic.Int64 // written for the others
	ReceivedSamples, ReceivedResults atomic.Int64 // read from the others and applied
	// StaleResults: outcomes read after a newer one of the same target.
	// RejectedSamples: samples the window refused (out of order, as
	// while two members both poll a device during a move).
	StaleResults, RejectedSamples atomic.Int64
	// Dropped by reason: DroppedFull (the queue was full),
	// DroppedWrite (the batch could not be written), DroppedDecode (a
	// batch read could not be decoded).
	DroppedFull, DroppedWrite, DroppedDecode atomic.Int64
}

// batch is the body of a store.ProbeBatch.
type batch struct {
	Samples []sample
	Results []result
}

type sample struct {
	Labels []string // name, value, name, value ...
	T      int64
	V      float64
}

type result struct {
	Probe state.Probe
	At    time.Time
}

// NewFeed returns a feed with nothing queued.
func NewFeed(o FeedOptions) *Feed {
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Feed{opts: o, last: map[string]time.Time{}, cursor: map[int64]int64{}}
}

// Sample queues a sample this member appended (after its own window
// accepted it).
func (f *Feed) Sample(lset labels.Labels, t int64, v float64) {
	l := make([]string, 0, 2*lset.Len())
	lset.Range(func(x labels.Label) { l = append(l, x.Name, x.Value) })
	f.mu.Lock()
	if len(f.pending.Samples) >= f.opts.MaxPending {
		f.pending.Samples = f.pending.Samples[1:]
		f.DroppedFull.Add(1)
	}
	f.pending.Samples = append(f.pending.Samples, sample{Labels: l, T: t, V: v})
	f.mu.Unlock()
}

// Result queues the outcome of a probe this member made (after its own
// tracker took it).
func (f *Feed) Result(p state.Probe, at time.Time) {
	f.mu.Lock()
	if at.After(f.last[p.Name]) {
		f.last[p.Name] = at
	}
	f.pending.Results = append(f.pending.Results, result{Probe: p, At: at})
	f.mu.Unlock()
}

// Sync writes what was queued since the last Sync as one batch at now,
// then reads and applies the batches the other members wrote since. A
// batch that cannot be written is dropped and counted (the members that
// would read it cannot reach the store either).
func (f *Feed) Sync(ctx context.Context, now time.Time) error {
	werr := f.flush(ctx, now)
	rerr := f.read(ctx)
	if werr != nil {
		return werr
	}
	return rerr
}

func (f *Feed) flush(ctx context.Context, now time.Time) error {
	f.mu.Lock()
	b := f.pending
	f.pending = batch{}
	f.mu.Unlock()
	if len(b.Samples) == 0 && len(b.Results) == 0 {
		return nil
	}
	body, err := encode(&b)
	if err != nil {
		f.DroppedWrite.Add(int64(len(b.Samples) + len(b.Results)))
		return err
	}
	// The number is used even when the write fails: a write that failed
	// on the way back may have committed, and its number is taken.
	f.seq++
	if err := f.opts.Store.AddProbeBatch(ctx, store.ProbeBatch{Run: f.opts.Self, Seq: f.seq, At: now, Body: body}); err != nil {
		f.DroppedWrite.Add(int64(len(b.Samples) + len(b.Results)))
		return fmt.Errorf("write probe batch %d: %w", f.seq, err)
	}
	f.SharedSamples.Add(int64(len(b.Samples)))
	f.SharedResults.Add(int64(len(b.Results)))
	return nil
}

func (f *Feed) read(ctx context.Context) error {
	got, err := f.opts.Store.ProbeBatches(ctx, f.opts.Self, f.cursor)
	if err != nil {
		return fmt.Errorf("read probe batches: %w", err)
	}
	var results []result
	for _, pb := range got {
		f.cursor[pb.Run] = max(f.cursor[pb.Run], pb.Seq)
		b, err := decode(pb.Body)
		if err != nil {
			f.DroppedDecode.Add(1)
			f.opts.Logger.Warn("probe batch not decodable; skipped", "run", pb.Run, "seq", pb.Seq, "err", err)
			continue
		}
		for _, s := range b.Samples {
			if len(s.Labels)%2 != 0 {
				f.RejectedSamples.Add(1)
				continue
			}
			if err := f.opts.Sink.Append(labels.FromStrings(s.Labels...), s.T, s.V); err != nil {
				f.RejectedSamples.Add(1)
				continue
			}
			f.ReceivedSamples.Add(1)
		}
		results = append(results, b.Results...)
	}
	// Oldest first, whoever made them: a target that moved from one
	// member to another in the same read keeps its order.
	slices.SortStableFunc(results, func(a, b result) int { return a.At.Compare(b.At) })
	for _, r := range results {
		f.mu.Lock()
		stale := !r.At.After(f.last[r.Probe.Name]) || r.At.Before(f.opts.Since)
		if !stale {
			f.last[r.Probe.Name] = r.At
		}
		f.mu.Unlock()
		if stale {
			f.StaleResults.Add(1)
			continue
		}
		if err := f.opts.Sink.ProbeResult(ctx, r.Probe, r.At); err != nil {
			// Decided in memory; the store write failed (the tracker
			// writes it later).
			f.opts.Logger.Warn("record a probe result read from another collector", "target", r.Probe.Name, "err", err)
		}
		f.ReceivedResults.Add(1)
	}
	return nil
}

// encode is a batch's body: gob, compressed by snappy (labels repeat
// from one poll to the next: a second of a 1,000-device fleet's polls,
// 1.1 MB as gob, is 88 kB; BenchmarkFeedBatch).
func encode(b *batch) ([]byte, error) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		return nil, fmt.Errorf("encode probe batch: %w", err)
	}
	return snappy.Encode(nil, buf.Bytes()), nil
}

// maxBatchBytes bounds a batch's decoded size: a body that claims more
// is refused before anything is allocated for it (a second of a
// 1,000-device fleet is about 1 MB).
const maxBatchBytes = 256 << 20

func decode(body []byte) (batch, error) {
	var b batch
	n, err := snappy.DecodedLen(body)
	if err != nil {
		return b, err
	}
	if n > maxBatchBytes {
		return b, fmt.Errorf("probe batch of %d bytes decoded, more than %d", n, maxBatchBytes)
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		return b, err
	}
	err = gob.NewDecoder(bytes.NewReader(raw)).Decode(&b)
	return b, err
}

// Prune deletes every member's batches written before before (a member
// that reads later than that has lost them; Sync runs every second).
func (f *Feed) Prune(ctx context.Context, before time.Time) error {
	n, err := f.opts.Store.PruneProbeBatches(ctx, before)
	if err != nil {
		return fmt.Errorf("prune probe batches: %w", err)
	}
	f.opts.Logger.Debug("probe batches pruned", "batches", n)
	return nil
}
