// Package leader decides which collector of an HA pair acts on
// incidents: the one holding a lease on a lock in the shared database
// (a PostgreSQL advisory lock, see collector/store/postgres.Locker).
//
// Two guards keep a cut-off or frozen leader from acting beside the new
// one:
//
//   - The lease: a leader acts only until TTL after the start of its
//     last successful renewal (measured on its own clock). The database
//     frees the lock only after a longer silence (the takeover delay,
//     longer than TTL), so the old leader has stopped acting before the
//     other can take the lock.
//   - The fencing epoch: each acquisition raises a counter in the
//     database and the new leader holds its value; every incident,
//     outbox and ticket write checks it in its own transaction, so a
//     write by a leader that was frozen between its check and its write
//     (SIGSTOP, a long GC pause) is refused once another took over.
//
// A collector on SQLite is alone: Always is its lease.
package leader

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Locker is the lock a Lease holds: one holder at a time, across
// processes. Its methods are called from one goroutine (the Lease's).
type Locker interface {
	// Acquire tries to take the lock without waiting. When it does, it
	// raises the fencing epoch and returns the new one with ok true;
	// when it does not, it returns the pair's current epoch (the
	// other's, read in the same round trip) with ok false.
	Acquire(ctx context.Context) (epoch int64, ok bool, err error)
	// Renew proves the lock is still held (a round trip on the
	// connection that holds it); an error means it may not be.
	Renew(ctx context.Context) error
	// Release gives the lock up (or forgets it, when the connection is
	// gone already).
	Release(ctx context.Context) error
}

// Options configure a Lease.
type Options struct {
	Locker Locker
	// TTL: the lease runs out this long after the start of the last
	// successful renewal. It must be shorter than the delay after which
	// the database frees a silent holder's lock.
	TTL time.Duration
	// RenewEvery: a leader renews this often (well under TTL).
	RenewEvery time.Duration
	// RetryEvery: a follower tries to take the lock this often.
	RetryEvery time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// OnLead, when set, is called (from the Lease's goroutine) each time
	// the lock is taken, before Leader reports it (Holds does): the new
	// leader loads what the previous one decided. An error gives the
	// lock up again.
	OnLead func(ctx context.Context, epoch int64) error
	Logger *slog.Logger
}

// Lease is a collector's claim to lead. Leader may be called from any
// goroutine; Step and Run from one.
type Lease struct {
	opts Options

	mu       sync.Mutex
	held     bool
	ready    bool      // OnLead has returned: Leader may report it
	epoch    int64     // of the current or last acquisition
	deadline time.Time // the lease runs out then
	static   bool      // Always: no lock, always leader
	failing  bool      // the last acquisition attempt failed (Step's goroutine only)
	// The pair's epoch as last read: this collector's own when it took
	// the lock, the other's when it could not; known is false while the
	// database does not answer.
	pairEpoch int64
	pairKnown bool
}

// New returns a lease that does not lead until Step or Run takes the
// lock.
func New(opts Options) *Lease {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Lease{opts: opts}
}

// Always is the lease of a collector alone with its store: it always
// leads, with epoch 0, and Run only waits for ctx.
func Always() *Lease { return &Lease{static: true, held: true} }

// Leader reports whether this collector may act as leader now, and the
// fencing epoch its writes carry. It is false once the lease has run
// out, even if no renewal has failed yet (the process was frozen).
func (l *Lease) Leader() (epoch int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.static {
		return 0, true
	}
	return l.epoch, l.held && l.ready && l.opts.Now().Before(l.deadline)
}

// Holds reports whether the lock is held and the lease runs, including
// while OnLead is taking over (when Leader does not report it yet).
func (l *Lease) Holds() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.static || (l.held && l.opts.Now().Before(l.deadline))
}

// IsLeader is Leader without the epoch.
func (l *Lease) IsLeader() bool {
	_, ok := l.Leader()
	return ok
}

// Epoch is the fencing epoch of the current or last acquisition (0
// before the first).
func (l *Lease) Epoch() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.epoch
}

// PairEpoch is the pair's current fencing epoch: this collector's when
// it leads; on a follower the leader's, as read at its last attempt to
// take the lock (every RetryEvery), with ok false when that attempt
// could not reach the database (epoch is then the last one read, 0
// before any).
func (l *Lease) PairEpoch() (epoch int64, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.static {
		return 0, true
	}
	if l.held {
		return l.epoch, true
	}
	return l.pairEpoch, l.pairKnown
}

// Step makes one move: a holder renews (and lets go when that fails or
// when its lease ran out meanwhile); anyone else tries to acquire. It
// returns how long to wait before the next Step.
func (l *Lease) Step(ctx context.Context) time.Duration {
	if l.static {
		return time.Hour
	}
	l.mu.Lock()
	held, deadline := l.held, l.deadline
	l.mu.Unlock()
	start := l.opts.Now()
	if held {
		if !start.Before(deadline) {
			// Frozen past the lease: another may lead by now. Give the
			// lock up and start over as a follower.
			l.lose(ctx, "the lease ran out before it was renewed", nil)
			return l.opts.RetryEvery
		}
		rctx, cancel := context.WithTimeout(ctx, l.opts.RenewEvery)
		err := l.opts.Locker.Renew(rctx)
		cancel()
		if err != nil {
			l.lose(ctx, "lease renewal failed", err)
			return l.opts.RetryEvery
		}
		l.mu.Lock()
		if l.held {
			l.deadline = start.Add(l.opts.TTL)
		}
		l.mu.Unlock()
		return l.opts.RenewEvery
	}
	actx, cancel := context.WithTimeout(ctx, l.opts.RetryEvery)
	epoch, ok, err := l.opts.Locker.Acquire(actx)
	cancel()
	if err != nil {
		// Said once per spell of failures (a database down, a server
		// too old for the lock's settings), then at debug level.
		level := slog.LevelDebug
		if !l.failing {
			level = slog.LevelWarn
		}
		l.failing = true
		l.opts.Logger.Log(ctx, level, "cannot try the leader lock; following until it can", "err", err)
		l.mu.Lock()
		l.pairKnown = false
		l.mu.Unlock()
		return l.opts.RetryEvery
	}
	l.failing = false
	l.mu.Lock()
	l.pairEpoch, l.pairKnown = epoch, true
	l.mu.Unlock()
	if !ok {
		return l.opts.RetryEvery
	}
	l.mu.Lock()
	// The lease counts from before the acquisition started: the database
	// may have granted it at any point since.
	l.held, l.ready, l.epoch, l.deadline = true, false, epoch, start.Add(l.opts.TTL)
	l.mu.Unlock()
	if l.opts.OnLead != nil {
		if err := l.opts.OnLead(ctx, epoch); err != nil {
			l.opts.Logger.Error("could not take over as leader; giving the lock up", "epoch", epoch, "err", err)
			l.mu.Lock()
			l.held = false
			l.mu.Unlock()
			_ = l.opts.Locker.Release(context.WithoutCancel(ctx))
			return l.opts.RetryEvery
		}
		// Loading may have taken a while: the lease counts from a
		// renewal after it.
		rstart := l.opts.Now()
		rctx, cancel := context.WithTimeout(ctx, l.opts.RenewEvery)
		err := l.opts.Locker.Renew(rctx)
		cancel()
		if err != nil {
			l.lose(ctx, "lease renewal after taking over failed", err)
			return l.opts.RetryEvery
		}
		l.mu.Lock()
		l.deadline = rstart.Add(l.opts.TTL)
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ready = true
	l.mu.Unlock()
	l.opts.Logger.Info("leading the pair", "epoch", epoch)
	return l.opts.RenewEvery
}

// lose stops leading and releases the lock.
func (l *Lease) lose(ctx context.Context, why string, err error) {
	l.mu.Lock()
	l.held = false
	epoch := l.epoch
	l.mu.Unlock()
	l.opts.Logger.Warn("no longer leading the pair: "+why, "epoch", epoch, "err", err)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), l.opts.RetryEvery)
	defer cancel()
	_ = l.opts.Locker.Release(rctx)
}

// Run steps until ctx is done, then releases the lock so the other
// collector takes over at once.
func (l *Lease) Run(ctx context.Context) error {
	if l.static {
		<-ctx.Done()
		return nil
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			l.mu.Lock()
			l.held = false
			l.mu.Unlock()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			err := l.opts.Locker.Release(rctx)
			if errors.Is(err, context.DeadlineExceeded) {
				err = nil // the database frees it after the takeover delay anyway
			}
			return err
		case <-t.C:
		}
		t.Reset(l.Step(ctx))
	}
}
