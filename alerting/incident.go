// Package alerting turns firing alerts into incidents and keeps their
// lifecycle: one open incident per dedup key, opened when a rule fires and
// resolved when it clears, with a priority taken from the rule.
//
// Incidents live in a Store (SQLite by default, see collector/store/sqlite);
// notifications to people and ticketing systems go through the Notifier
// seam, whose integrations live in alerting/notify/<name>.
package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"time"
)

// Priority is P1 (critical) to P4 (low); see the README for the default
// response and resolution targets.
type Priority string

// The priorities.
const (
	P1 Priority = "P1"
	P2 Priority = "P2"
	P3 Priority = "P3"
	P4 Priority = "P4"
)

// Priorities lists every priority, highest first.
var Priorities = []Priority{P1, P2, P3, P4}

// Status is where an incident is in its lifecycle.
type Status string

// The incident statuses.
const (
	StatusOpen         Status = "open"
	StatusAcknowledged Status = "acknowledged"
	StatusResolved     Status = "resolved"
	StatusClosed       Status = "closed"
)

// Active reports whether an incident in this status still needs work.
func (s Status) Active() bool { return s == StatusOpen || s == StatusAcknowledged }

// Incident is one unplanned interruption or degradation, raised by a rule.
type Incident struct {
	ID          int64             `json:"id"`
	DedupKey    string            `json:"dedup_key"`
	Group       string            `json:"group"`
	Rule        string            `json:"rule"`
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	Target      string            `json:"target,omitempty"`
	Service     string            `json:"service,omitempty"`
	Severity    string            `json:"severity,omitempty"`
	Priority    Priority          `json:"priority"`
	Status      Status            `json:"status"`
	Labels      map[string]string `json:"labels"`
	Value       float64           `json:"value"`
	OpenedAt    time.Time         `json:"opened_at"`
	// AcknowledgedAt and AcknowledgedBy are set while acknowledged (a
	// reopened incident starts unacknowledged).
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	ResolvedAt     *time.Time `json:"resolved_at,omitempty"`
	ClosedAt       *time.Time `json:"closed_at,omitempty"`
	// Assignee is who the incident is assigned to (free text: a person or
	// a team).
	Assignee string `json:"assignee,omitempty"`

	// Notify names the receivers told that it opened (see Event.Notify).
	Notify []string `json:"-"`
}

// Event is one entry of an incident's timeline (its audit trail):
// append-only, with who and when.
type Event struct {
	IncidentID int64     `json:"incident_id"`
	At         time.Time `json:"at"`
	// Actor is the token name for changes through the API, "nines" for
	// automatic ones.
	Actor  string `json:"actor"`
	Action string `json:"action"` // opened, acknowledged, commented, resolved, closed, reopened, severity
	Text   string `json:"text,omitempty"`
	// Notify names the receivers told of this event: the store queues a
	// notification for each in the same transaction (the outbox).
	Notify []string `json:"-"`
}

// Notification is one queued delivery of an incident event to a receiver.
type Notification struct {
	ID         int64
	IncidentID int64
	Receiver   string
	Action     string
	Text       string
	At         time.Time // of the event
	Attempts   int
	// Incident is the incident as the event left it: what receivers are
	// told, even if it changed again before the delivery. Nil for
	// notifications queued before the store kept it: read at delivery.
	Incident *Incident
}

// Delivery is one queued notification of an incident and how it went.
type Delivery struct {
	Receiver  string     `json:"receiver"`
	Action    string     `json:"action"`
	At        time.Time  `json:"at"`
	Attempts  int        `json:"attempts"`
	Delivered *time.Time `json:"delivered_at,omitempty"`
	Failed    bool       `json:"failed"`
	LastError string     `json:"last_error,omitempty"`
}

// Status is delivered, failed (given up) or pending.
func (d Delivery) Status() string {
	switch {
	case d.Delivered != nil:
		return "delivered"
	case d.Failed:
		return "failed"
	}
	return "pending"
}

// Ticket is the ticket a receiver raised for an incident.
type Ticket struct {
	Receiver string `json:"receiver"`
	ID       string `json:"id"`
	URL      string `json:"url"`
}

// TicketState is what Nines follows of a ticket in a two-way ticketing
// system.
type TicketState struct {
	Status   string
	Closed   bool // resolved, closed, done, cancelled...
	Assignee string
	// InProgress: someone took it (an assignee, or an in-progress status).
	InProgress bool
}

// TwoWay is a ticketing receiver whose tickets Nines reads back: closed
// there resolves the incident, taken in progress acknowledges it; and,
// reconciling, a ticket left open for an ended incident is resolved.
type TwoWay interface {
	State(ctx context.Context, ticket string) (TicketState, error)
	Resolve(ctx context.Context, ticket, note string) error
}

// Automatic is the actor of changes Nines makes itself.
const Automatic = "nines"

// Filter selects incidents in Store.Incidents. Zero fields match all.
type Filter struct {
	Status   []Status
	Priority []Priority
	// OpenedBefore keeps incidents opened before it, and ActiveAfter
	// those not resolved by it (still active, or resolved after it).
	// Together they select the incidents that overlap [ActiveAfter,
	// OpenedBefore), so a report over a period reads only its own.
	OpenedBefore, ActiveAfter time.Time
	// Targets and Services, when either is set, keep the incidents about
	// one of the targets or for one of the services.
	Targets, Services []string
	Limit             int // 0: no limit
}

// Store persists incidents. Implementations must be safe for concurrent
// use; writes are durable when they return.
type Store interface {
	// InsertIncident stores a new incident, sets its ID and records the
	// "opened" event.
	InsertIncident(ctx context.Context, inc *Incident) error
	// Transition moves an incident from one of the statuses in from to
	// status to, recording ev in the same transaction. It returns
	// ErrNotFound when no incident has that id, and ErrConflict when it is
	// not in one of the from statuses.
	Transition(ctx context.Context, id int64, from []Status, to Status, ev Event) error
	// Assign sets an active incident's assignee and records ev in the same
	// transaction (ErrNotFound, or ErrConflict when it is not active).
	Assign(ctx context.Context, id int64, assignee string, ev Event) error
	// Told lists the receivers an incident's notifications went to.
	Told(ctx context.Context, incidentID int64) ([]string, error)
	// AddEvent appends an event (a comment) to an incident's timeline and
	// queues its notifications (ev.Notify) in the same transaction
	// (ErrNotFound when no incident has that id).
	AddEvent(ctx context.Context, ev Event) error
	// Events lists an incident's timeline, oldest first.
	Events(ctx context.Context, id int64) ([]Event, error)
	// LastResolved returns the newest incident with this dedup key that
	// was resolved at or after since, or ErrNotFound.
	LastResolved(ctx context.Context, key string, since time.Time) (*Incident, error)
	// DueNotifications lists queued notifications due at now, oldest
	// first, at most limit per receiver (so one receiver's backlog does
	// not hide the others'). Of an incident's pending notifications to a
	// receiver only the oldest is listed, and only once it is due: a
	// later one waits while an earlier one is retried.
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	// MarkNotification records a delivery attempt: delivered, to retry at
	// next, or failed for good.
	MarkNotification(ctx context.Context, id int64, outcome Outcome) error
	// SetSeverity records a new severity and priority of an active
	// incident, with ev and its notifications, in one transaction
	// (ErrNotFound, or ErrConflict when it is not active).
	SetSeverity(ctx context.Context, id int64, severity string, priority Priority, ev Event) error
	// Incidents lists incidents, newest first.
	Incidents(ctx context.Context, f Filter) ([]Incident, error)
	// Incident returns one incident; ErrNotFound when there is none.
	Incident(ctx context.Context, id int64) (*Incident, error)
}

// Notifier delivers an incident event to one receiver (a webhook, a
// ticketing system). The bool says whether a retry can help. Notify may
// be called from several goroutines; the same notification may be
// delivered again after a crash, so receivers get a stable idempotency
// key (the notification's ID).
type Notifier interface {
	Notify(ctx context.Context, n Notification, inc *Incident) (retry bool, err error)
}

// Outcome is the result of one delivery attempt.
type Outcome struct {
	At        time.Time
	Delivered bool
	Failed    bool      // given up
	Next      time.Time // when to retry, if neither
	Error     string
}

// DedupKey identifies "the same problem": the rule and its identifying
// labels (all but severity and priority, which may change while the
// problem lasts). It is stable across restarts and releases.
func DedupKey(group, rule string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k == "severity" || k == "priority" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	h.Write([]byte(group))
	h.Write([]byte{0})
	h.Write([]byte(rule))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{'='})
		h.Write([]byte(labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// PriorityFor derives a priority with the default policy (see
// Policy.Priority).
func PriorityFor(labels map[string]string) Priority { return DefaultPolicy().Priority(labels) }
