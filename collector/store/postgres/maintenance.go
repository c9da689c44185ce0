package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
)

// AddMaintenance implements store.Maintenance.
func (s *Store) AddMaintenance(ctx context.Context, w *state.Window) error {
	err := s.db.QueryRow(ctx, `INSERT INTO maintenance_windows (name, targets, selector, services, schedule, from_at, to_at, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		w.Name, js(w.Targets), js(w.Selector), js(w.Services), w.Schedule, ms(w.From), ms(w.To), w.CreatedBy, ms(w.CreatedAt)).Scan(&w.ID)
	if err != nil {
		return err
	}
	w.Source = "api"
	return nil
}

// EndMaintenance implements store.Maintenance. The window is locked from
// the read to the update: of two ends at once, the second finds it over.
func (s *Store) EndMaintenance(ctx context.Context, id int64, by string, now time.Time) error {
	return s.inTx(ctx, func(tx cleaned) error {
		var from, to time.Time
		err := tx.QueryRow(ctx, `SELECT from_at, to_at FROM maintenance_windows WHERE id = $1 FOR UPDATE`, id).Scan(&from, &to)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("maintenance window %d: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return err
		}
		at := ms(now)
		if !to.After(at) {
			return fmt.Errorf("%w: %d ended at %s", store.ErrMaintenanceOver, id, to.UTC().Format(time.RFC3339))
		}
		if from.After(at) {
			at = from
		}
		_, err = tx.Exec(ctx, `UPDATE maintenance_windows SET to_at = $1, ended_by = $2 WHERE id = $3`, at, by, id)
		return err
	})
}

// MaintenanceWindows implements store.Maintenance.
func (s *Store) MaintenanceWindows(ctx context.Context, since time.Time) ([]state.Window, error) {
	rows, err := s.db.Query(ctx, `SELECT id, name, targets, selector, services, schedule, from_at, to_at, created_by, created_at, ended_by
		FROM maintenance_windows WHERE to_at > $1 ORDER BY from_at, id`, ms(since))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []state.Window
	for rows.Next() {
		var w state.Window
		if err := rows.Scan(&w.ID, &w.Name, &w.Targets, &w.Selector, &w.Services, &w.Schedule, &w.From, &w.To,
			&w.CreatedBy, &w.CreatedAt, &w.EndedBy); err != nil {
			return nil, fmt.Errorf("maintenance window: %w", err)
		}
		w.From, w.To, w.CreatedAt = w.From.UTC(), w.To.UTC(), w.CreatedAt.UTC()
		w.Source = "api"
		out = append(out, w)
	}
	return out, rows.Err()
}

// Secret implements store.Secrets. One statement creates the secret or
// keeps the stored one: collectors that ask at once all get the same
// bytes.
func (s *Store) Secret(ctx context.Context, name string, n int) ([]byte, error) {
	fresh := make([]byte, n)
	if _, err := rand.Read(fresh); err != nil {
		return nil, err
	}
	var v []byte
	err := s.db.QueryRow(ctx, `INSERT INTO web_settings (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = CASE WHEN length(web_settings.value) = $3 THEN web_settings.value ELSE excluded.value END
		RETURNING value`, name, fresh, n).Scan(&v)
	return v, err
}

// Deliveries implements store.Tickets.
func (s *Store) Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error) {
	rows, err := s.db.Query(ctx, `SELECT receiver, action, at, attempts, delivered_at, failed, last_error FROM outbox
		WHERE incident_id = $1 ORDER BY id`, incidentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Delivery
	for rows.Next() {
		var d alerting.Delivery
		if err := rows.Scan(&d.Receiver, &d.Action, &d.At, &d.Attempts, &d.Delivered, &d.Failed, &d.LastError); err != nil {
			return nil, err
		}
		d.At, d.Delivered = d.At.UTC(), utcPtr(d.Delivered)
		out = append(out, d)
	}
	return out, rows.Err()
}

// LinkTicket implements store.Tickets.
func (s *Store) LinkTicket(ctx context.Context, incidentID int64, t alerting.Ticket) error {
	return s.fencedTx(ctx, func(tx cleaned) error {
		_, err := tx.Exec(ctx, `INSERT INTO incident_tickets (incident_id, receiver, ticket, url) VALUES ($1, $2, $3, $4)
		ON CONFLICT (incident_id, receiver) DO UPDATE SET ticket = excluded.ticket, url = excluded.url`, incidentID, t.Receiver, t.ID, t.URL)
		return err
	})
}

// Tickets implements store.Tickets.
func (s *Store) Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error) {
	rows, err := s.db.Query(ctx, `SELECT receiver, ticket, url FROM incident_tickets WHERE incident_id = $1 ORDER BY receiver`, incidentID)
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

// LinkedTickets implements store.Tickets.
func (s *Store) LinkedTickets(ctx context.Context, receiver string, since time.Time) ([]store.LinkedTicket, error) {
	rows, err := s.db.Query(ctx, `SELECT t.incident_id, t.ticket, i.status FROM incident_tickets t JOIN incidents i ON i.id = t.incident_id
		WHERE t.receiver = $1 AND (i.status IN ('open', 'acknowledged') OR COALESCE(i.resolved_at, i.closed_at) >= $2)
		ORDER BY t.incident_id DESC`, receiver, ms(since))
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

// Pending implements store.Tickets.
func (s *Store) Pending(ctx context.Context, incidentID int64, receiver string) (int, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT count(*) FROM outbox WHERE incident_id = $1 AND receiver = $2 AND delivered_at IS NULL AND NOT failed`,
		incidentID, receiver).Scan(&n)
	return n, err
}

// Record implements audit.Log.
func (s *Store) Record(ctx context.Context, e audit.Entry) error {
	_, err := s.db.Exec(ctx, `INSERT INTO audit_log (at, principal, action, object, detail, count) VALUES ($1, $2, $3, $4, $5, $6)`,
		ms(e.At), e.Principal, e.Action, e.Object, e.Detail, max(e.Count, 1))
	return err
}

// Count implements audit.Counter in one statement. Two collectors
// counting the first failure of a minute at the same instant may make two
// rows; the counts still add up.
func (s *Store) Count(ctx context.Context, e audit.Entry, since time.Time) error {
	_, err := s.db.Exec(ctx, `WITH u AS (
			UPDATE audit_log SET count = count + 1 WHERE id = (SELECT id FROM audit_log
				WHERE principal = $2 AND action = $3 AND at >= $6 AND object = $4 ORDER BY id DESC LIMIT 1)
			RETURNING id)
		INSERT INTO audit_log (at, principal, action, object, detail, count)
		SELECT $1, $2, $3, $4, $5, 1 WHERE NOT EXISTS (SELECT 1 FROM u)`,
		ms(e.At), e.Principal, e.Action, e.Object, e.Detail, ms(since))
	return err
}

// RevokeSession implements store.Sessions.
func (s *Store) RevokeSession(ctx context.Context, id string, until time.Time) error {
	_, err := s.db.Exec(ctx, `INSERT INTO revoked_sessions (id, until_at) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET until_at = greatest(revoked_sessions.until_at, excluded.until_at)`, id, ms(until))
	return err
}

// SessionRevoked implements store.Sessions.
func (s *Store) SessionRevoked(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_sessions WHERE id = $1)`, id).Scan(&ok)
	return ok, err
}

// Prune implements store.Store, in one transaction.
func (s *Store) Prune(ctx context.Context, now time.Time, r store.Retention) (int64, error) {
	var total int64
	err := s.inTx(ctx, func(tx cleaned) error {
		del := func(q string, args ...any) error {
			tag, err := tx.Exec(ctx, q, args...)
			total += tag.RowsAffected()
			return err
		}
		if err := del(`DELETE FROM revoked_sessions WHERE until_at < $1`, ms(now)); err != nil {
			return err
		}
		if r.Audit > 0 {
			if err := del(`DELETE FROM audit_log WHERE at < $1`, ms(now.Add(-r.Audit))); err != nil {
				return err
			}
		}
		if r.Notifications > 0 {
			// Only of incidents long over: an open incident's receivers
			// (Told) are told when it resolves.
			if err := del(`DELETE FROM outbox WHERE (delivered_at < $1 OR (failed AND at < $1))
				AND incident_id IN (SELECT id FROM incidents WHERE status NOT IN ('open', 'acknowledged') AND resolved_at < $1)`, ms(now.Add(-r.Notifications))); err != nil {
				return err
			}
		}
		if r.History > 0 {
			cut := ms(now.Add(-r.History))
			const over = `SELECT id FROM incidents WHERE status NOT IN ('open', 'acknowledged') AND resolved_at < $1`
			for _, q := range []string{
				`DELETE FROM state_changes WHERE at < $1 AND id NOT IN (
					SELECT DISTINCT ON (target) id FROM state_changes WHERE at < $1 ORDER BY target, at DESC, id DESC)`,
				`DELETE FROM collector_runs WHERE last_alive_at < $1`,
				`DELETE FROM maintenance_windows WHERE to_at < $1`,
				`DELETE FROM incident_events WHERE incident_id IN (` + over + `)`,
				`DELETE FROM outbox WHERE incident_id IN (` + over + `)`,
				`DELETE FROM incident_tickets WHERE incident_id IN (` + over + `)`,
				`DELETE FROM incidents WHERE status NOT IN ('open', 'acknowledged') AND resolved_at < $1`,
			} {
				if err := del(q, cut); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return total, nil
}

// Entries implements audit.Log: newest first.
func (s *Store) Entries(ctx context.Context, f audit.Filter) ([]audit.Entry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.db.Query(ctx, `SELECT at, principal, action, object, detail, count FROM audit_log
		WHERE at >= $1 AND ($2 = '' OR principal = $2) AND action LIKE $3 ESCAPE '\' ORDER BY id DESC LIMIT $4`,
		ms(f.Since), f.Principal, likePrefix(f.Action), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []audit.Entry
	for rows.Next() {
		var e audit.Entry
		if err := rows.Scan(&e.At, &e.Principal, &e.Action, &e.Object, &e.Detail, &e.Count); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// likePrefix is a LIKE pattern matching the literal prefix s.
func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}
