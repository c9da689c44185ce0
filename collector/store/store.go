// Package store is the collector's durable storage seam: one Store
// interface that every backend (collector/store/sqlite today, PostgreSQL
// later) implements, the neutral errors it returns, and HistoryCache, the
// backend-independent in-memory state history that timelines read.
//
// Store is composed of the narrow interfaces its consumers declare
// (state.Store, alerting.Store, rules.StateStore, audit.Log) plus the
// few groups only the collector uses (history, runs, maintenance,
// tickets, secrets). Consumers keep depending on their own narrow
// interface; only the wiring holds a Store. The behaviour every backend
// must show is pinned down by collector/store/storetest.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// Store is a complete collector store. Implementations are safe for
// concurrent use by any number of goroutines, and a write is durable when
// it returns without error. Close is called once, after every other call
// has returned.
type Store interface {
	state.Store
	History
	Runs
	alerting.Store
	rules.StateStore
	audit.Log
	audit.Counter
	Sessions
	Maintenance
	Tickets
	Secrets
	Shards

	// Prune deletes what has outlived its retention at now (see
	// Retention) and the revocations of sessions that have expired
	// anyway, and says how many rows went. The collector calls it
	// periodically; it is safe to call at any time.
	Prune(ctx context.Context, now time.Time, r Retention) (int64, error)

	// ReadParallelism is how many history reads (HistorySince of
	// different targets) the store serves well at once; callers that
	// read many timelines size their workers by it. At least 1.
	ReadParallelism() int
	Close() error
}

// Retention says how long the tables that grow without bound keep their
// rows; zero keeps them forever. Incidents, their events and the state
// history are kept: service level reports read them.
type Retention struct {
	// Audit: audit log entries older than this go.
	Audit time.Duration
	// Notifications: delivered or given-up notifications (the outbox)
	// older than this go, once their incident is resolved for as long;
	// pending ones, and those of open incidents (whose receivers hear
	// of the resolve), stay whatever their age.
	Notifications time.Duration
	// History: state changes, collector runs, ended maintenance windows,
	// and incidents resolved longer ago than this (with their events,
	// notifications and tickets) go. Each target keeps its newest change
	// before the cutoff, so its state at any later time stays known.
	History time.Duration
}

// Sessions records web sessions ended before their time (logout), so a
// replayed cookie is refused, also by another collector sharing the store
// and after a restart.
type Sessions interface {
	// RevokeSession refuses the session id from now on; the revocation
	// may be forgotten after until, when the session expires anyway.
	RevokeSession(ctx context.Context, id string, until time.Time) error
	// SessionRevoked reports whether id was revoked.
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

// History is the state history beyond the newest change of each target.
type History interface {
	// RecordChanges stores many changes at once, all or none.
	RecordChanges(ctx context.Context, changes []state.Change) error
	// History returns the changes of a target (of all targets when target
	// is empty) with At in [from, to], oldest first; changes at the same
	// instant in the order they were recorded.
	History(ctx context.Context, target string, from, to time.Time) ([]state.Change, error)
	// HistorySince returns the target's state at from (the To of its last
	// change before from, state.Unknown when there is none) and its
	// changes with At in [from, to], oldest first, with only Target, To
	// and At set. It sees every change recorded before it was called,
	// whichever writer recorded it (see HistoryCache).
	HistorySince(ctx context.Context, target string, from, to time.Time) (initial state.State, changes []state.Change, err error)
}

// Runs is the collector's own run history: the spans when no collector
// was observing are gaps, never target downtime.
type Runs interface {
	// StartRun records a run that starts at now and returns its id and
	// when the previous run was last known alive (zero if there was none).
	StartRun(ctx context.Context, now time.Time) (id int64, prevAlive time.Time, err error)
	// Alive records that run id was observing at now.
	Alive(ctx context.Context, id int64, now time.Time) error
	// Gaps returns the spans from one run's last sign of life to the next
	// run's start that overlap (from, to), oldest first.
	Gaps(ctx context.Context, from, to time.Time) ([][2]time.Time, error)
}

// Shards is what the collectors sharing one store tell each other to
// split the probing of SNMP devices and active checks between them
// (collector/shard): who is alive, and what each one probed.
type Shards interface {
	// LiveRuns returns the ids of the runs that have not ended (EndRun)
	// and whose last heartbeat (StartRun, Alive) is at or after since,
	// ascending.
	LiveRuns(ctx context.Context, since time.Time) ([]int64, error)
	// EndRun records that run id stopped at now: its last sign of life,
	// and no longer live for LiveRuns.
	EndRun(ctx context.Context, id int64, now time.Time) error
	// AddProbeBatch stores what run b.Run probed (b.Body, opaque to the
	// store). A run's batches are numbered from 1 up (b.Seq) by their
	// one writer, which adds them one at a time, in order.
	AddProbeBatch(ctx context.Context, b ProbeBatch) error
	// ProbeBatches returns the batches of the runs other than self with
	// a Seq above after[run] (every batch of a run not in after),
	// ordered by run, then Seq.
	ProbeBatches(ctx context.Context, self int64, after map[int64]int64) ([]ProbeBatch, error)
	// PruneProbeBatches deletes the batches added before before, and
	// says how many went.
	PruneProbeBatches(ctx context.Context, before time.Time) (int64, error)
}

// ProbeBatch is what one collector run probed in a short while: the
// probes' outcomes and samples, encoded by collector/shard.
type ProbeBatch struct {
	Run  int64
	Seq  int64
	At   time.Time
	Body []byte
}

// Maintenance keeps the maintenance windows created through the API.
type Maintenance interface {
	// AddMaintenance stores a window, sets its ID and its Source ("api").
	AddMaintenance(ctx context.Context, w *state.Window) error
	// EndMaintenance ends window id at now; one that has not started yet
	// ends at its start (it is cancelled). ErrNotFound for an unknown id,
	// ErrMaintenanceOver when it ended already.
	EndMaintenance(ctx context.Context, id int64, by string, now time.Time) error
	// MaintenanceWindows lists the windows that end after since, oldest
	// start first.
	MaintenanceWindows(ctx context.Context, since time.Time) ([]state.Window, error)
}

// Tickets keeps what receivers were told of an incident and the tickets
// they raised (it also serves api.Notifications).
type Tickets interface {
	// Deliveries lists an incident's notifications, oldest first.
	Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error)
	// LinkTicket records, or replaces, the ticket a receiver raised for
	// an incident.
	LinkTicket(ctx context.Context, incidentID int64, t alerting.Ticket) error
	// Tickets lists an incident's tickets by receiver name.
	Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error)
	// LinkedTickets lists a receiver's tickets whose incidents are active
	// or were resolved or closed at or after since, newest incident first.
	LinkedTickets(ctx context.Context, receiver string, since time.Time) ([]LinkedTicket, error)
	// Pending counts an incident's notifications to a receiver that are
	// neither delivered nor given up.
	Pending(ctx context.Context, incidentID int64, receiver string) (int, error)
}

// LinkedTicket is a receiver's ticket with its incident's status.
type LinkedTicket struct {
	IncidentID int64
	Ticket     string
	Status     alerting.Status
}

// Secrets keeps random secrets that must survive restarts (the web UI's
// session key).
type Secrets interface {
	// Secret returns the named secret of n random bytes, creating it on
	// first use (and again when the stored one is not n bytes long).
	Secret(ctx context.Context, name string, n int) ([]byte, error)
}

// Errors a Store returns, wrapped with what was asked for; match them
// with errors.Is.
var (
	// ErrNotFound: nothing has the id asked for. It also matches
	// alerting.ErrNotFound, so alerting.Store callers see the error its
	// contract names.
	ErrNotFound error = &sentinel{msg: "not found", also: alerting.ErrNotFound}
	// ErrConflict: the change does not apply to the record's current
	// state (an incident that is not in one of the expected statuses).
	// It also matches alerting.ErrConflict.
	ErrConflict error = &sentinel{msg: "conflicts with the current state", also: alerting.ErrConflict}
	// ErrMaintenanceOver: the maintenance window to end is over already.
	// It also matches ErrConflict.
	ErrMaintenanceOver error = &sentinel{msg: "maintenance window is already over", also: ErrConflict}
)

// sentinel is an error value that also matches another one: the store's
// incidents are alerting's, so its errors answer to both names.
type sentinel struct {
	msg  string
	also error
}

func (e *sentinel) Error() string { return e.msg }

// Is reports whether target is the error this one also stands for.
func (e *sentinel) Is(target error) bool { return errors.Is(e.also, target) }

// HeartbeatEvery is how often a running collector records that it is
// alive (Alive), and StaleAfter how old the newest heartbeat may be
// before the time since counts as not observed in Gaps (a crashed
// collector leaves its run without an end). Every backend's Gaps and the
// collector's heartbeat use these.
const (
	HeartbeatEvery = 10 * time.Second
	StaleAfter     = 3 * HeartbeatEvery
)
