package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
)

// AddMaintenance stores a window created through the API and sets its ID.
func (s *Store) AddMaintenance(ctx context.Context, w *state.Window) error {
	targets, _ := json.Marshal(w.Targets)
	selector, _ := json.Marshal(w.Selector)
	services, _ := json.Marshal(w.Services)
	res, err := s.db.ExecContext(ctx, `INSERT INTO maintenance_windows (name, targets, selector, from_ms, to_ms, created_by, created_at_ms, services, schedule)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, w.Name, string(targets), string(selector), w.From.UnixMilli(), w.To.UnixMilli(), w.CreatedBy, w.CreatedAt.UnixMilli(),
		string(services), w.Schedule)
	if err != nil {
		return err
	}
	w.ID, err = res.LastInsertId()
	w.Source = "api"
	return err
}

// EndMaintenance ends a window at now (one not started yet is cancelled:
// it ends at its start).
func (s *Store) EndMaintenance(ctx context.Context, id int64, by string, now time.Time) error {
	var from, to int64
	err := s.db.QueryRowContext(ctx, `SELECT from_ms, to_ms FROM maintenance_windows WHERE id = ?`, id).Scan(&from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("maintenance window %d: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return err
	}
	at := now.UnixMilli()
	if to <= at {
		return fmt.Errorf("%w: %d ended at %s", store.ErrMaintenanceOver, id, time.UnixMilli(to).UTC().Format(time.RFC3339))
	}
	at = max(at, from)
	_, err = s.db.ExecContext(ctx, `UPDATE maintenance_windows SET to_ms = ?, ended_by = ? WHERE id = ?`, at, by, id)
	return err
}

// MaintenanceWindows returns the API-created windows that end after
// since, oldest start first.
func (s *Store) MaintenanceWindows(ctx context.Context, since time.Time) ([]state.Window, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, targets, selector, from_ms, to_ms, created_by, created_at_ms, ended_by, services, schedule
		FROM maintenance_windows WHERE to_ms > ? ORDER BY from_ms, id`, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []state.Window
	for rows.Next() {
		var w state.Window
		var targets, selector, services string
		var from, to, created int64
		if err := rows.Scan(&w.ID, &w.Name, &targets, &selector, &from, &to, &w.CreatedBy, &created, &w.EndedBy, &services, &w.Schedule); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(services), &w.Services); err != nil {
			return nil, fmt.Errorf("maintenance window %d: services: %w", w.ID, err)
		}
		if err := json.Unmarshal([]byte(targets), &w.Targets); err != nil {
			return nil, fmt.Errorf("maintenance window %d: targets: %w", w.ID, err)
		}
		if err := json.Unmarshal([]byte(selector), &w.Selector); err != nil {
			return nil, fmt.Errorf("maintenance window %d: selector: %w", w.ID, err)
		}
		w.From, w.To, w.CreatedAt = time.UnixMilli(from), time.UnixMilli(to), time.UnixMilli(created)
		w.Source = "api"
		out = append(out, w)
	}
	return out, rows.Err()
}

// Secret returns the named random secret of n bytes, creating it on
// first use, so it survives restarts (the web UI's session key).
func (s *Store) Secret(ctx context.Context, name string, n int) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM web_settings WHERE name = ?`, name).Scan(&v)
	if err == nil && len(v) == n {
		return v, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	v = make([]byte, n)
	if _, err := rand.Read(v); err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO web_settings (name, value) VALUES (?, ?)
		ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, v); err != nil {
		return nil, err
	}
	return v, nil
}

// Deliveries lists an incident's notifications, oldest first.
func (s *Store) Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT receiver, action, at_ms, attempts, delivered_ms, failed, last_error FROM outbox
		WHERE incident_id = ? ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Delivery
	for rows.Next() {
		var d alerting.Delivery
		var at int64
		var delivered sql.NullInt64
		if err := rows.Scan(&d.Receiver, &d.Action, &at, &d.Attempts, &delivered, &d.Failed, &d.LastError); err != nil {
			return nil, err
		}
		d.At = time.UnixMilli(at).UTC()
		if delivered.Valid {
			t := time.UnixMilli(delivered.Int64).UTC()
			d.Delivered = &t
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// LinkTicket records (or updates) the ticket a receiver raised for an
// incident.
func (s *Store) LinkTicket(ctx context.Context, incidentID int64, t alerting.Ticket) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO incident_tickets (incident_id, receiver, ticket, url) VALUES (?, ?, ?, ?)
		ON CONFLICT(incident_id, receiver) DO UPDATE SET ticket = excluded.ticket, url = excluded.url`, incidentID, t.Receiver, t.ID, t.URL)
	return err
}

// Tickets lists an incident's tickets by receiver.
func (s *Store) Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT receiver, ticket, url FROM incident_tickets WHERE incident_id = ? ORDER BY receiver`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Ticket
	for rows.Next() {
		var t alerting.Ticket
		if err := rows.Scan(&t.Receiver, &t.ID, &t.URL); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// LinkedTickets lists a receiver's tickets whose incidents are active, or
// ended within the last since (for the reconciler), newest first.
func (s *Store) LinkedTickets(ctx context.Context, receiver string, since time.Time) ([]store.LinkedTicket, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT t.incident_id, t.ticket, i.status FROM incident_tickets t JOIN incidents i ON i.id = t.incident_id
		WHERE t.receiver = ? AND (i.status IN ('open', 'acknowledged') OR COALESCE(i.resolved_at_ms, i.closed_at_ms, 0) >= ?)
		ORDER BY t.incident_id DESC`, receiver, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LinkedTicket
	for rows.Next() {
		var l store.LinkedTicket
		var st string
		if err := rows.Scan(&l.IncidentID, &l.Ticket, &st); err != nil {
			return nil, err
		}
		l.Status = alerting.Status(st)
		out = append(out, l)
	}
	return out, rows.Err()
}

// Pending counts an incident's notifications to a receiver not yet
// delivered nor given up.
func (s *Store) Pending(ctx context.Context, incidentID int64, receiver string) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE incident_id = ? AND receiver = ? AND delivered_ms IS NULL AND failed = 0`,
		incidentID, receiver).Scan(&n)
	return n, err
}

// Told implements alerting.Store.
func (s *Store) Told(ctx context.Context, incidentID int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT receiver FROM outbox WHERE incident_id = ? ORDER BY receiver`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Record implements audit.Log.
func (s *Store) Record(ctx context.Context, e audit.Entry) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (at_ms, principal, action, object, detail, count) VALUES (?, ?, ?, ?, ?, ?)`,
		e.At.UnixMilli(), e.Principal, e.Action, e.Object, e.Detail, max(e.Count, 1))
	return err
}

// Count implements audit.Counter.
func (s *Store) Count(ctx context.Context, e audit.Entry, since time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE audit_log SET count = count + 1 WHERE id = (SELECT id FROM audit_log
		WHERE principal = ? AND action = ? AND at_ms >= ? AND object = ? ORDER BY id DESC LIMIT 1)`,
		e.Principal, e.Action, since.UnixMilli(), e.Object)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at_ms, principal, action, object, detail, count) VALUES (?, ?, ?, ?, ?, 1)`,
			e.At.UnixMilli(), e.Principal, e.Action, e.Object, e.Detail); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// RevokeSession implements store.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, until time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO revoked_sessions (id, until_ms) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET until_ms = max(until_ms, excluded.until_ms)`, id, until.UnixMilli())
	return err
}

// SessionRevoked implements store.Sessions.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM revoked_sessions WHERE id = ?`, id).Scan(&n)
	return n > 0, err
}

// Prune implements store.Store, in one transaction.
func (s *Store) Prune(ctx context.Context, now time.Time, r store.Retention) (int64, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var total int64
	del := func(q string, args ...any) error {
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		total += n
		return err
	}
	if err := del(`DELETE FROM revoked_sessions WHERE until_ms < ?`, now.UnixMilli()); err != nil {
		return 0, err
	}
	if r.Audit > 0 {
		if err := del(`DELETE FROM audit_log WHERE at_ms < ?`, now.Add(-r.Audit).UnixMilli()); err != nil {
			return 0, err
		}
	}
	if r.Notifications > 0 {
		cut := now.Add(-r.Notifications).UnixMilli()
		// Only of incidents long over: an open incident's receivers
		// (Told) are told when it resolves.
		if err := del(`DELETE FROM outbox WHERE (delivered_ms < ? OR (failed = 1 AND at_ms < ?))
			AND incident_id IN (SELECT id FROM incidents WHERE status NOT IN ('open', 'acknowledged') AND resolved_at_ms < ?)`, cut, cut, cut); err != nil {
			return 0, err
		}
	}
	if r.History > 0 {
		cut := now.Add(-r.History).UnixMilli()
		const over = `SELECT id FROM incidents WHERE status NOT IN ('open', 'acknowledged') AND resolved_at_ms < ?1`
		for _, q := range []string{
			`DELETE FROM state_changes WHERE at_ms < ?1 AND id NOT IN (
				SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY target ORDER BY at_ms DESC, id DESC) AS n
					FROM state_changes WHERE at_ms < ?1) WHERE n = 1)`,
			`DELETE FROM collector_runs WHERE last_alive_at_ms < ?1`,
			`DELETE FROM maintenance_windows WHERE to_ms < ?1`,
			`DELETE FROM incident_events WHERE incident_id IN (` + over + `)`,
			`DELETE FROM outbox WHERE incident_id IN (` + over + `)`,
			`DELETE FROM incident_tickets WHERE incident_id IN (` + over + `)`,
			`DELETE FROM incidents WHERE id IN (` + over + `)`,
		} {
			if err := del(q, cut); err != nil {
				return 0, err
			}
		}
	}
	return total, tx.Commit()
}

// Entries implements audit.Log: newest first.
func (s *Store) Entries(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.QueryContext(ctx, `SELECT at_ms, principal, action, object, detail, count FROM audit_log
		WHERE at_ms >= ? AND (? = '' OR principal = ?) AND action LIKE ? ESCAPE '\' ORDER BY id DESC LIMIT ?`,
		f.Since.UnixMilli(), f.Principal, f.Principal, likePrefix(f.Action), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		var at int64
		if err := rows.Scan(&at, &e.Principal, &e.Action, &e.Object, &e.Detail, &e.Count); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
