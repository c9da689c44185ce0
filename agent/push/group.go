package push

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ninesmon/nines/agent/spool"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// Pusher is what the agent pushes through: a Sender (the collectors tried
// in order, fail-over) or a Group (every collector gets every batch).
type Pusher interface {
	Enqueue(lp []byte) error
	Run(ctx context.Context) error
	Flush(ctx context.Context) int
	Goodbye(ctx context.Context) error
	Update(urls []string, token yamlconf.Secret, labels map[string]string, interval time.Duration)
	Pending() int
}

var (
	_ Pusher = (*Sender)(nil)
	_ Pusher = (*Group)(nil)
)

// Group sends every batch to every collector, for a collector HA pair:
// one Sender per collector, each with its own queue (and spool directory
// under SpoolDir, named after the collector's URL), retries and sequence
// numbers, so a collector that is down delays and costs only its own
// copy. Self metrics carry a collector label.
type Group struct {
	urls    []string
	senders []*Sender
	opts    Options
}

// NewGroup returns a group of one Sender per URL in opts.URLs.
func NewGroup(opts Options) (*Group, error) {
	if len(opts.URLs) == 0 {
		return nil, errors.New("no collector URL configured")
	}
	g := &Group{urls: slices.Clone(opts.URLs), opts: opts}
	for _, u := range opts.URLs {
		o := opts
		o.URLs = []string{u}
		o.MetricLabel = `collector=` + strconv.Quote(redact(u))
		if opts.SpoolDir != "" {
			o.SpoolDir = filepath.Join(opts.SpoolDir, spoolName(u))
		}
		if opts.Logger != nil {
			o.Logger = opts.Logger.With("collector", redact(u))
		}
		s, err := NewSender(o)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", redact(u), err)
		}
		g.senders = append(g.senders, s)
	}
	if opts.SpoolDir != "" {
		if err := g.adopt(opts); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// adopt moves batches spooled by a single Sender (push.mode failover,
// before a switch to all) to every collector's queue, oldest first.
func (g *Group) adopt(opts Options) error {
	old, err := spool.Open(opts.SpoolDir, opts.SpoolMaxBytes)
	if err != nil {
		return fmt.Errorf("open spool: %w", err)
	}
	n := 0
	for {
		b, ok := old.Head()
		if !ok {
			break
		}
		for _, s := range g.senders {
			if err := s.enqueueCompressed(b.Body); err != nil {
				return err
			}
		}
		old.Pop(b.Seq)
		n++
	}
	if n > 0 && opts.Logger != nil {
		opts.Logger.Info("batches spooled before push.mode all will be sent to every collector", "batches", n)
	}
	return nil
}

// spoolName is a collector's spool directory: stable for its URL.
func spoolName(url string) string {
	sum := sha256.Sum256([]byte(url))
	return fmt.Sprintf("collector-%x", sum[:6])
}

// Enqueue compresses the payload once and queues it for every collector.
func (g *Group) Enqueue(lp []byte) error {
	body, err := compress(lp)
	if err != nil {
		return err
	}
	var errs []error
	for _, s := range g.senders {
		errs = append(errs, s.enqueueCompressed(body))
	}
	return errors.Join(errs...)
}

// Run delivers to every collector until ctx is done.
func (g *Group) Run(ctx context.Context) error {
	g.each(func(s *Sender) { _ = s.Run(ctx) })
	return nil
}

// Flush delivers what is queued to every collector at once and returns
// the batches left, all collectors together.
func (g *Group) Flush(ctx context.Context) int {
	var mu sync.Mutex
	left := 0
	g.each(func(s *Sender) {
		n := s.Flush(ctx)
		mu.Lock()
		left += n
		mu.Unlock()
	})
	return left
}

// Goodbye tells every collector; the error names those not told.
func (g *Group) Goodbye(ctx context.Context) error {
	var mu sync.Mutex
	var errs []error
	g.each(func(s *Sender) {
		if err := s.Goodbye(ctx); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	})
	return errors.Join(errs...)
}

// Update changes the token, labels and interval of every collector's
// sender. The set of collectors is fixed at start (each has its own
// spool): a changed list is reported and needs a restart.
func (g *Group) Update(urls []string, token yamlconf.Secret, labels map[string]string, interval time.Duration) {
	if !slices.Equal(urls, g.urls) && g.opts.Logger != nil {
		g.opts.Logger.Warn("push.urls changed; with push.mode all the collectors are fixed at start: restart the agent to apply")
	}
	for _, s := range g.senders {
		opts, _ := s.snapshot()
		s.Update(opts.URLs, token, labels, interval)
	}
}

// Pending is the number of batches waiting, all collectors together.
func (g *Group) Pending() int {
	n := 0
	for _, s := range g.senders {
		n += s.Pending()
	}
	return n
}

func (g *Group) each(f func(s *Sender)) {
	var wg sync.WaitGroup
	for _, s := range g.senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(s)
		}()
	}
	wg.Wait()
}
