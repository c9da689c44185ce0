package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninesmon/nines/internal/failpoint"
)

// Dispatcher delivers queued notifications (the outbox) to their
// receivers: each until it succeeds, with exponential backoff (1 s
// doubling to 5 min) on failures a retry can help, up to MaxAge; failures
// stay visible in the store and in metrics. Because the outbox is written
// in the same transaction as the incident change, a crash between the two
// loses nothing: the notification is still queued at the next start.
type Dispatcher struct {
	Store Store
	// Notifiers by receiver name; replace them with SetNotifiers once Run
	// has started.
	Notifiers map[string]Notifier
	mu        sync.RWMutex // guards Notifiers
	Logger    *slog.Logger
	// MaxAge after which a notification is given up (default 24 h).
	MaxAge time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	sent, failed, retried *prometheus.CounterVec
}

// NewDispatcher returns a dispatcher and registers its metrics on reg
// (nil: none).
func NewDispatcher(store Store, notifiers map[string]Notifier, logger *slog.Logger, reg prometheus.Registerer) *Dispatcher {
	d := &Dispatcher{Store: store, Notifiers: notifiers, Logger: logger, MaxAge: 24 * time.Hour, Now: time.Now,
		sent:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_notifications_sent_total", Help: "Notifications delivered, by receiver."}, []string{"receiver"}),
		failed:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_notifications_failed_total", Help: "Notifications given up, by receiver."}, []string{"receiver"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_notifications_retries_total", Help: "Notification attempts that failed and will be retried, by receiver."}, []string{"receiver"}),
	}
	if reg != nil {
		reg.MustRegister(d.sent, d.failed, d.retried)
	}
	return d
}

// SetNotifiers swaps the notifiers (a configuration reload): deliveries
// from then on use them, one under way finishes with the old one.
func (d *Dispatcher) SetNotifiers(notifiers map[string]Notifier) {
	d.mu.Lock()
	d.Notifiers = notifiers
	d.mu.Unlock()
}

// Run delivers due notifications every interval until ctx is done.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.DeliverDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DeliverDue makes one pass over the due notifications.
func (d *Dispatcher) DeliverDue(ctx context.Context) {
	now := d.Now()
	due, err := d.Store.DueNotifications(ctx, now, 100)
	if err != nil {
		d.Logger.Error("read the outbox", "err", err)
		return
	}
	for _, n := range due {
		d.deliver(ctx, n)
	}
}

func (d *Dispatcher) deliver(ctx context.Context, n Notification) {
	now := d.Now()
	mark := func(o Outcome) {
		o.At = now
		if err := d.Store.MarkNotification(ctx, n.ID, o); err != nil {
			d.Logger.Error("record a delivery", "notification", n.ID, "err", err)
		}
	}
	d.mu.RLock()
	notifier := d.Notifiers[n.Receiver]
	d.mu.RUnlock()
	if notifier == nil {
		d.failed.WithLabelValues(n.Receiver).Inc()
		mark(Outcome{Failed: true, Error: fmt.Sprintf("no receiver named %q", n.Receiver)})
		return
	}
	inc, err := d.Store.Incident(ctx, n.IncidentID)
	if err != nil {
		d.Logger.Error("read an incident to notify", "incident_id", n.IncidentID, "err", err)
		return
	}
	retry, err := notifier.Notify(ctx, n, inc)
	if err == nil {
		failpoint.Hit("notify.before_mark") // delivered, not yet marked
	}
	switch {
	case err == nil:
		d.sent.WithLabelValues(n.Receiver).Inc()
		mark(Outcome{Delivered: true})
	case !retry || now.Sub(n.At) > d.MaxAge:
		d.failed.WithLabelValues(n.Receiver).Inc()
		d.Logger.Error("notification given up", "receiver", n.Receiver, "incident_id", n.IncidentID, "err", err)
		mark(Outcome{Failed: true, Error: err.Error()})
	default:
		d.retried.WithLabelValues(n.Receiver).Inc()
		backoff := min(time.Second<<min(n.Attempts, 9), 5*time.Minute)
		d.Logger.Warn("notification failed; will retry", "receiver", n.Receiver, "incident_id", n.IncidentID, "retry_in", backoff, "err", err)
		mark(Outcome{Next: now.Add(backoff), Error: err.Error()})
	}
}
