package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninesmon/nines/internal/backoff"
	"github.com/ninesmon/nines/internal/failpoint"
)

// perReceiver is how many due notifications of one receiver a pass reads.
const perReceiver = 100

// Dispatcher delivers queued notifications (the outbox) to their
// receivers: each until it succeeds, with jittered exponential backoff
// (1 s doubling to 5 min, see internal/backoff) on failures a retry can
// help, up to MaxAge; failures stay visible in the store and in metrics.
// Because the outbox is written in the same transaction as the incident
// change, a crash between the two loses nothing: the notification is
// still queued at the next start.
//
// Receivers are delivered to concurrently, one goroutine per receiver
// with due work, so a slow or hanging receiver delays only its own
// notifications. Each receiver's notifications go out one at a time in
// outbox order, and the store hands out only the oldest pending
// notification of an incident per receiver, so a later notification of
// an incident never overtakes an earlier one to the same receiver, even
// while the earlier one is being retried.
type Dispatcher struct {
	Store  Store
	Logger *slog.Logger
	// MaxAge after which a notification is given up (default 24 h).
	MaxAge time.Duration
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Leads, when set, says whether this collector leads its HA pair;
	// only the leader delivers (checked before each notification).
	Leads func() bool

	// retry spaces the attempts of one notification; its attempt count is
	// in the outbox, so only Delay is used.
	retry *backoff.Backoff

	// pass serialises passes over the outbox (Run's and DeliverDue's).
	pass sync.Mutex

	mu        sync.Mutex
	notifiers map[string]Notifier
	busy      map[string]bool // receivers with a delivery goroutine running

	sent, failed, retried *prometheus.CounterVec
}

// NewDispatcher returns a dispatcher and registers its metrics on reg
// (nil: none).
func NewDispatcher(store Store, notifiers map[string]Notifier, logger *slog.Logger, reg prometheus.Registerer) *Dispatcher {
	d := &Dispatcher{Store: store, notifiers: notifiers, Logger: logger, MaxAge: 24 * time.Hour, Now: time.Now,
		retry:   backoff.New(time.Second, 5*time.Minute),
		busy:    map[string]bool{},
		sent:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_notifications_sent_total", Help: "Notifications delivered, by receiver."}, []string{"receiver"}),
		failed:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_notifications_failed_total", Help: "Notifications given up, by receiver."}, []string{"receiver"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nines_notifications_retries_total", Help: "Notification attempts that failed and will be retried, by receiver."}, []string{"receiver"}),
	}
	if reg != nil {
		reg.MustRegister(d.sent, d.failed, d.retried)
	}
	return d
}

// SetNotifiers replaces the receivers' notifiers (after a reload). A
// delivery already under way finishes with the notifier it started with;
// the next ones use the new set. Notifications to a receiver missing
// from it are given up.
func (d *Dispatcher) SetNotifiers(notifiers map[string]Notifier) {
	d.mu.Lock()
	d.notifiers = notifiers
	d.mu.Unlock()
}

// Notifier returns the notifier of a receiver (nil when there is none).
func (d *Dispatcher) Notifier(receiver string) Notifier {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.notifiers[receiver]
}

// Run delivers due notifications every interval until ctx is done, then
// waits for the deliveries under way to end.
func (d *Dispatcher) Run(ctx context.Context, interval time.Duration) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		d.dispatch(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DeliverDue makes one pass over the due notifications and waits for it
// to end.
func (d *Dispatcher) DeliverDue(ctx context.Context) {
	var wg sync.WaitGroup
	d.dispatch(ctx, &wg)
	wg.Wait()
}

// dispatch reads the due notifications and starts one goroutine per
// receiver that has some and is not busy with an earlier pass (its
// notifications are read again at the next pass), counted in wg.
//
// A receiver busy when the read starts is skipped even if it is done
// by the time the goroutines start: what was read of it may predate its
// last deliveries, and would send them again.
func (d *Dispatcher) dispatch(ctx context.Context, wg *sync.WaitGroup) {
	if d.Leads != nil && !d.Leads() {
		return
	}
	d.pass.Lock()
	defer d.pass.Unlock()
	d.mu.Lock()
	wasBusy := maps.Clone(d.busy)
	d.mu.Unlock()
	due, err := d.Store.DueNotifications(ctx, d.Now(), perReceiver)
	if err != nil {
		d.Logger.Error("read the outbox", "err", err)
		return
	}
	byReceiver := map[string][]Notification{}
	var order []string
	for _, n := range due {
		if byReceiver[n.Receiver] == nil {
			order = append(order, n.Receiver)
		}
		byReceiver[n.Receiver] = append(byReceiver[n.Receiver], n)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, name := range order {
		if wasBusy[name] || d.busy[name] {
			continue
		}
		d.busy[name] = true
		notifier, list := d.notifiers[name], byReceiver[name]
		wg.Go(func() {
			defer func() {
				d.mu.Lock()
				delete(d.busy, name)
				d.mu.Unlock()
			}()
			for _, n := range list {
				if ctx.Err() != nil || (d.Leads != nil && !d.Leads()) {
					return
				}
				d.deliver(ctx, notifier, n)
			}
		})
	}
}

func (d *Dispatcher) deliver(ctx context.Context, notifier Notifier, n Notification) {
	now := d.Now()
	mark := func(o Outcome) {
		o.At = now
		if err := d.Store.MarkNotification(ctx, n.ID, o); err != nil {
			d.Logger.Error("record a delivery", "notification", n.ID, "err", err)
		}
	}
	if notifier == nil {
		d.failed.WithLabelValues(n.Receiver).Inc()
		mark(Outcome{Failed: true, Error: fmt.Sprintf("no receiver named %q", n.Receiver)})
		return
	}
	// Receivers are told of the event with the incident as the event left
	// it (a resolution is never sent with a later reopening's status).
	inc := n.Incident
	if inc == nil {
		var err error
		if inc, err = d.Store.Incident(ctx, n.IncidentID); err != nil {
			d.Logger.Error("read an incident to notify", "incident_id", n.IncidentID, "err", err)
			return
		}
	}
	retry, err := d.notify(ctx, notifier, n, inc)
	if err == nil {
		failpoint.Hit("notify.before_mark") // delivered, not yet marked
	}
	switch {
	case err == nil:
		d.sent.WithLabelValues(n.Receiver).Inc()
		mark(Outcome{Delivered: true})
	case ctx.Err() != nil:
		// Stopping: not the receiver's failure; it is sent again at the
		// next start.
	case !retry || now.Sub(n.At) > d.MaxAge:
		d.failed.WithLabelValues(n.Receiver).Inc()
		d.Logger.Error("notification given up", "receiver", n.Receiver, "incident_id", n.IncidentID, "err", err)
		mark(Outcome{Failed: true, Error: err.Error()})
	default:
		d.retried.WithLabelValues(n.Receiver).Inc()
		wait := d.retry.Delay(n.Attempts)
		d.Logger.Warn("notification failed; will retry", "receiver", n.Receiver, "incident_id", n.IncidentID, "retry_in", wait, "err", err)
		mark(Outcome{Next: now.Add(wait), Error: err.Error()})
	}
}

// notify calls the notifier. A panic in it is logged with its stack and
// becomes a retryable error, so one bad integration neither takes the
// collector down nor loses the notification.
func (d *Dispatcher) notify(ctx context.Context, notifier Notifier, n Notification, inc *Incident) (retry bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			d.Logger.Error("notifier panicked", "receiver", n.Receiver, "incident_id", n.IncidentID, "panic", r, "stack", string(debug.Stack()))
			retry, err = true, fmt.Errorf("notifier panicked: %v", r)
		}
	}()
	return notifier.Notify(ctx, n, inc)
}
