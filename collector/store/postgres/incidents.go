package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/internal/failpoint"
	"github.com/ninesmon/nines/rules"
)

// InsertIncident implements alerting.Store. A second active incident
// with the same dedup key (another collector opened it first) is refused
// with store.ErrConflict.
func (s *Store) InsertIncident(ctx context.Context, inc *alerting.Incident) error {
	var id int64
	err := s.fencedTx(ctx, func(tx cleaned) error {
		err := tx.QueryRow(ctx, `INSERT INTO incidents (dedup_key, grp, rule, title, description, target, service, severity, priority,
			status, labels, value, opened_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			inc.DedupKey, inc.Group, inc.Rule, inc.Title, inc.Description, inc.Target, inc.Service, inc.Severity,
			string(inc.Priority), string(inc.Status), js(inc.Labels), inc.Value, ms(inc.OpenedAt)).Scan(&id)
		if isUnique(err, "incidents_one_active") {
			return fmt.Errorf("an incident with key %s is already active: %w", inc.DedupKey, store.ErrConflict)
		}
		if err != nil {
			return err
		}
		ev := alerting.Event{IncidentID: id, At: inc.OpenedAt, Actor: alerting.Automatic, Action: "opened", Text: inc.Title, Notify: inc.Notify}
		if err := addEvent(ctx, tx, ev); err != nil {
			return err
		}
		failpoint.Hit("incident.before_commit")
		return nil
	})
	if err != nil {
		return err
	}
	failpoint.Hit("incident.after_commit")
	inc.ID = id
	return nil
}

// addEvent appends an event and queues its notifications in tx, each
// with the incident as this event leaves it (what receivers are told,
// whatever happens to the incident before delivery).
func addEvent(ctx context.Context, tx cleaned, ev alerting.Event) error {
	var snapshot string
	if len(ev.Notify) > 0 {
		inc, err := scanIncident(tx.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, ev.IncidentID))
		if err != nil {
			return fmt.Errorf("read incident %d for its notifications: %w", ev.IncidentID, err)
		}
		snapshot = js(inc)
	}
	var b pgx.Batch
	at := ms(ev.At)
	queue(&b, `INSERT INTO incident_events (incident_id, at, actor, action, text) VALUES ($1, $2, $3, $4, $5)`,
		ev.IncidentID, at, ev.Actor, ev.Action, ev.Text)
	for _, r := range ev.Notify {
		queue(&b, `INSERT INTO outbox (incident_id, receiver, action, text, at, next_at, incident) VALUES ($1, $2, $3, $4, $5, $5, $6)`,
			ev.IncidentID, r, ev.Action, ev.Text, at, snapshot)
	}
	return tx.SendBatch(ctx, &b).Close()
}

// Transition implements alerting.Store.
func (s *Store) Transition(ctx context.Context, id int64, from []alerting.Status, to alerting.Status, ev alerting.Event) error {
	at := ms(ev.At)
	var q string
	var args []any
	switch to {
	case alerting.StatusAcknowledged:
		q, args = `UPDATE incidents SET status = $1, acknowledged_at = $2, acknowledged_by = $3 WHERE id = $4`, []any{string(to), at, ev.Actor, id}
	case alerting.StatusResolved:
		q, args = `UPDATE incidents SET status = $1, resolved_at = $2 WHERE id = $3`, []any{string(to), at, id}
	case alerting.StatusClosed:
		q, args = `UPDATE incidents SET status = $1, closed_at = $2 WHERE id = $3`, []any{string(to), at, id}
	case alerting.StatusOpen: // reopened: a new round, unacknowledged
		q, args = `UPDATE incidents SET status = $1, resolved_at = NULL, closed_at = NULL, acknowledged_at = NULL, acknowledged_by = '' WHERE id = $2`,
			[]any{string(to), id}
	default:
		return fmt.Errorf("unknown status %q", to)
	}
	return s.changeIncident(ctx, id, func(cur alerting.Status) bool { return slices.Contains(from, cur) }, ev, q, args...)
}

// Assign implements alerting.Store.
func (s *Store) Assign(ctx context.Context, id int64, assignee string, ev alerting.Event) error {
	return s.changeIncident(ctx, id, alerting.Status.Active, ev, `UPDATE incidents SET assigned_to = $1 WHERE id = $2`, assignee, id)
}

// changeIncident runs query on incident id and records ev, in one
// transaction, if allowed accepts the incident's current status
// (store.ErrNotFound and store.ErrConflict otherwise). The row is locked
// from the read of its status to the commit: of two collectors making
// the same change at once, the second sees the first's result.
func (s *Store) changeIncident(ctx context.Context, id int64, allowed func(alerting.Status) bool, ev alerting.Event, query string, args ...any) error {
	return s.fencedTx(ctx, func(tx cleaned) error {
		var cur string
		err := tx.QueryRow(ctx, `SELECT status FROM incidents WHERE id = $1 FOR UPDATE`, id).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !allowed(alerting.Status(cur)) {
			return fmt.Errorf("incident %d is %s: %w", id, cur, store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, query, args...); isUnique(err, "incidents_one_active") {
			// Reopened while another incident with its key is active.
			return fmt.Errorf("incident %d: another incident with its key is active: %w", id, store.ErrConflict)
		} else if err != nil {
			return err
		}
		ev.IncidentID = id
		return addEvent(ctx, tx, ev)
	})
}

// AddEvent implements alerting.Store: the event and its notifications
// in one transaction.
func (s *Store) AddEvent(ctx context.Context, ev alerting.Event) error {
	return s.fencedTx(ctx, func(tx cleaned) error {
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM incidents WHERE id = $1 FOR SHARE`, ev.IncidentID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("incident %d: %w", ev.IncidentID, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return addEvent(ctx, tx, ev)
	})
}

// Events implements alerting.Store.
func (s *Store) Events(ctx context.Context, id int64) ([]alerting.Event, error) {
	rows, err := s.db.Query(ctx, `SELECT incident_id, at, actor, action, text FROM incident_events WHERE incident_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Event
	for rows.Next() {
		var ev alerting.Event
		if err := rows.Scan(&ev.IncidentID, &ev.At, &ev.Actor, &ev.Action, &ev.Text); err != nil {
			return nil, err
		}
		ev.At = ev.At.UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}

// LastResolved implements alerting.Store.
func (s *Store) LastResolved(ctx context.Context, key string, since time.Time) (*alerting.Incident, error) {
	row := s.db.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE dedup_key = $1 AND status IN ('resolved', 'closed') AND resolved_at >= $2 ORDER BY id DESC LIMIT 1`, key, ms(since))
	inc, err := scanIncident(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("resolved incident with key %s: %w", key, store.ErrNotFound)
	}
	return inc, err
}

// SetSeverity implements alerting.Store: the new severity, its event and
// notifications in one transaction, for an active incident.
func (s *Store) SetSeverity(ctx context.Context, id int64, severity string, priority alerting.Priority, ev alerting.Event) error {
	return s.changeIncident(ctx, id, alerting.Status.Active, ev, `UPDATE incidents SET severity = $1, priority = $2 WHERE id = $3`, severity, string(priority), id)
}

const incidentColumns = `id, dedup_key, grp, rule, title, description, target, service, severity, priority, status, labels, value,
	opened_at, resolved_at, acknowledged_at, acknowledged_by, closed_at, assigned_to`

// Incidents implements alerting.Store.
func (s *Store) Incidents(ctx context.Context, f alerting.Filter) ([]alerting.Incident, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		args = append(args, statusStrings(f.Status))
		where = append(where, "status = ANY($"+strconv.Itoa(len(args))+")")
	}
	if len(f.Priority) > 0 {
		var ps []string
		for _, p := range f.Priority {
			ps = append(ps, string(p))
		}
		args = append(args, ps)
		where = append(where, "priority = ANY($"+strconv.Itoa(len(args))+")")
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *inc)
	}
	return out, rows.Err()
}

func statusStrings(ss []alerting.Status) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(s)
	}
	return out
}

// Incident implements alerting.Store.
func (s *Store) Incident(ctx context.Context, id int64) (*alerting.Incident, error) {
	inc, err := scanIncident(s.db.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
	}
	return inc, err
}

func scanIncident(r pgx.Row) (*alerting.Incident, error) {
	var inc alerting.Incident
	var prio, status string
	if err := r.Scan(&inc.ID, &inc.DedupKey, &inc.Group, &inc.Rule, &inc.Title, &inc.Description, &inc.Target, &inc.Service,
		&inc.Severity, &prio, &status, &inc.Labels, &inc.Value, &inc.OpenedAt, &inc.ResolvedAt, &inc.AcknowledgedAt,
		&inc.AcknowledgedBy, &inc.ClosedAt, &inc.Assignee); err != nil {
		return nil, err
	}
	inc.Priority, inc.Status = alerting.Priority(prio), alerting.Status(status)
	inc.OpenedAt = inc.OpenedAt.UTC()
	inc.ResolvedAt, inc.AcknowledgedAt, inc.ClosedAt = utcPtr(inc.ResolvedAt), utcPtr(inc.AcknowledgedAt), utcPtr(inc.ClosedAt)
	return &inc, nil
}

// SaveAlerts implements rules.StateStore: the group's rows are replaced
// in one transaction. Writers of one group take turns on an advisory
// lock: without it, two collectors saving a group at once would each
// delete only the rows they saw and both insert theirs.
func (s *Store) SaveAlerts(ctx context.Context, group string, alerts []rules.SavedAlert) error {
	return s.inTx(ctx, func(tx cleaned) error {
		var b pgx.Batch
		queue(&b, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockAlerts, group)
		queue(&b, `DELETE FROM alert_state WHERE grp = $1`, group)
		for _, a := range alerts {
			queue(&b, `INSERT INTO alert_state (grp, rule, rule_hash, labels, state, active_at, fired_at, value)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, group, a.Rule, a.RuleHash, js(a.Labels), int(a.State), ms(a.ActiveAt), optMs(a.FiredAt), a.Value)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

// LoadAlerts implements rules.StateStore.
func (s *Store) LoadAlerts(ctx context.Context) ([]rules.SavedAlert, error) {
	rows, err := s.db.Query(ctx, `SELECT grp, rule, rule_hash, labels, state, active_at, fired_at, value FROM alert_state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rules.SavedAlert
	for rows.Next() {
		var a rules.SavedAlert
		var st int
		var fired *time.Time
		if err := rows.Scan(&a.Group, &a.Rule, &a.RuleHash, &a.Labels, &st, &a.ActiveAt, &fired, &a.Value); err != nil {
			return nil, fmt.Errorf("alert state: %w", err)
		}
		a.State, a.ActiveAt = rules.AlertState(st), a.ActiveAt.UTC()
		if fired != nil {
			a.FiredAt = fired.UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DueNotifications implements alerting.Store.
func (s *Store) DueNotifications(ctx context.Context, now time.Time, limit int) ([]alerting.Notification, error) {
	// In order per incident and receiver: a notification waits while an
	// earlier one to the same receiver is still pending (a resolve never
	// overtakes the open it resolves). The limit is per receiver, so a
	// receiver with a backlog does not crowd the others out.
	rows, err := s.db.Query(ctx, `SELECT id, incident_id, receiver, action, text, at, attempts, incident FROM (
		SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.receiver ORDER BY o.id) AS rn FROM outbox o
		WHERE delivered_at IS NULL AND NOT failed AND next_at <= $1
		AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.incident_id = o.incident_id AND e.receiver = o.receiver
			AND e.id < o.id AND e.delivered_at IS NULL AND NOT e.failed)) due
		WHERE rn <= $2 ORDER BY id`, ms(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Notification
	for rows.Next() {
		var n alerting.Notification
		var snapshot string
		if err := rows.Scan(&n.ID, &n.IncidentID, &n.Receiver, &n.Action, &n.Text, &n.At, &n.Attempts, &snapshot); err != nil {
			return nil, err
		}
		n.At = n.At.UTC()
		if snapshot != "" { // rows queued before snapshots: read at delivery
			n.Incident = &alerting.Incident{}
			if err := json.Unmarshal([]byte(snapshot), n.Incident); err != nil {
				return nil, fmt.Errorf("notification %d: the incident it carries: %w", n.ID, err)
			}
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// MarkNotification implements alerting.Store.
func (s *Store) MarkNotification(ctx context.Context, id int64, o alerting.Outcome) error {
	return s.fencedTx(ctx, func(tx cleaned) error {
		var err error
		switch {
		case o.Delivered:
			_, err = tx.Exec(ctx, `UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2`, ms(o.At), id)
		case o.Failed:
			_, err = tx.Exec(ctx, `UPDATE outbox SET failed = true, attempts = attempts + 1, last_error = $1 WHERE id = $2`, o.Error, id)
		default:
			_, err = tx.Exec(ctx, `UPDATE outbox SET next_at = $1, attempts = attempts + 1, last_error = $2 WHERE id = $3`, ms(o.Next), o.Error, id)
		}
		return err
	})
}

// Told implements alerting.Store.
func (s *Store) Told(ctx context.Context, incidentID int64) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT receiver FROM outbox WHERE incident_id = $1 ORDER BY receiver`, incidentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
