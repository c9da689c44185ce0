// Package sqlite is the embedded default store.Store: target state
// history, incidents and the collector's own run history in one SQLite
// file (WAL mode, synchronous=FULL so a committed change survives power
// loss). collector/store/storetest pins down its behaviour.
// It uses modernc.org/sqlite, a pure-Go driver, so binaries build with
// CGO_ENABLED=0 for every platform.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/internal/failpoint"
	"github.com/ninesmon/nines/rules"
)

// Store is a SQLite database. It is safe for concurrent use.
type Store struct {
	db *sql.DB
	// reads is a pool of read-only connections for the state history
	// (WAL readers do not block the writer or each other), so timelines
	// of many targets are read in parallel.
	reads *sql.DB

	hist *store.HistoryCache
	// due is DueNotifications' query, prepared once: the dispatcher runs
	// it every second, and parsing it was most of its cost.
	due *sql.Stmt

	repaired []string
}

// Repaired lists the store's files that Open found readable by group or
// others and made 0600, for the caller to log (say so once, at start).
func (s *Store) Repaired() []string { return s.repaired }

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	repaired, err := private(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(5000)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection: SQLite serialises writers anyway, and this avoids
	// SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, repaired: repaired}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	rq := url.Values{}
	rq.Add("mode", "ro")
	for _, p := range []string{"busy_timeout(5000)", "query_only(1)"} {
		rq.Add("_pragma", p)
	}
	reads, err := sql.Open("sqlite", "file:"+path+"?"+rq.Encode())
	if err != nil {
		db.Close()
		return nil, err
	}
	reads.SetMaxOpenConns(readConns)
	s.reads = reads
	// SQLite has one write lock for the whole file, held from the INSERT
	// that assigns a row's id until COMMIT, whichever process writes: ids
	// become visible in order, so the cache needs no margin for writers
	// that commit out of order (a PostgreSQL backend does).
	s.hist = store.NewHistoryCache(changeLog{reads}, store.CacheOptions{Margin: -1})
	if s.due, err = db.PrepareContext(ctx, dueQuery); err != nil {
		s.Close()
		return nil, fmt.Errorf("prepare the outbox query: %w", err)
	}
	return s, nil
}

// private makes sure only the collector's user can read the store: it
// holds the web session key, tokens' audit trail and every incident. A
// directory it creates is 0700; the database file is created 0600 before
// SQLite opens it (SQLite gives its -wal and -shm files the database's
// mode), and an existing store readable by group or others is repaired
// to 0600, which the README documents.
func private(path string) (repaired []string, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if err != nil {
			continue // not there (yet)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return nil, fmt.Errorf("make %s private: %w", p, err)
			}
			repaired = append(repaired, p)
		}
	}
	return repaired, nil
}

// readConns is the size of the read-only pool (HistorySince).
var readConns = max(2, runtime.NumCPU())

// ReadParallelism implements store.Store: the read-only pool's size.
func (s *Store) ReadParallelism() int { return readConns }

// Close closes the database.
func (s *Store) Close() error {
	if s.due != nil {
		s.due.Close()
	}
	s.reads.Close()
	return s.db.Close()
}

// migrations are applied in order, once each; never edit a released one.
var migrations = []string{
	`CREATE TABLE state_changes (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		target TEXT NOT NULL,
		kind TEXT NOT NULL,
		from_state TEXT NOT NULL,
		to_state TEXT NOT NULL,
		at_ms INTEGER NOT NULL,
		cause TEXT NOT NULL
	);
	CREATE INDEX state_changes_target_at ON state_changes(target, at_ms);
	CREATE TABLE incidents (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		dedup_key TEXT NOT NULL,
		grp TEXT NOT NULL,
		rule TEXT NOT NULL,
		title TEXT NOT NULL,
		description TEXT NOT NULL,
		target TEXT NOT NULL,
		service TEXT NOT NULL,
		severity TEXT NOT NULL,
		priority TEXT NOT NULL,
		status TEXT NOT NULL,
		labels TEXT NOT NULL,
		value REAL NOT NULL,
		opened_at_ms INTEGER NOT NULL,
		resolved_at_ms INTEGER
	);
	CREATE INDEX incidents_status ON incidents(status);
	CREATE UNIQUE INDEX incidents_one_active ON incidents(dedup_key) WHERE status IN ('open', 'acknowledged');
	CREATE TABLE collector_runs (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		started_at_ms INTEGER NOT NULL,
		last_alive_at_ms INTEGER NOT NULL
	);`,
	`CREATE TABLE alert_state (
		grp TEXT NOT NULL,
		rule TEXT NOT NULL,
		rule_hash TEXT NOT NULL,
		labels TEXT NOT NULL,
		state INTEGER NOT NULL,
		active_at_ms INTEGER NOT NULL,
		fired_at_ms INTEGER NOT NULL,
		value REAL NOT NULL
	);
	CREATE INDEX alert_state_grp ON alert_state(grp);`,
	`ALTER TABLE incidents ADD COLUMN acknowledged_at_ms INTEGER;
	ALTER TABLE incidents ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';
	ALTER TABLE incidents ADD COLUMN closed_at_ms INTEGER;
	CREATE TABLE incident_events (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		incident_id INTEGER NOT NULL REFERENCES incidents(id),
		at_ms INTEGER NOT NULL,
		actor TEXT NOT NULL,
		action TEXT NOT NULL,
		text TEXT NOT NULL
	);
	CREATE INDEX incident_events_incident ON incident_events(incident_id, id);`,
	`CREATE TABLE outbox (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		incident_id INTEGER NOT NULL REFERENCES incidents(id),
		receiver TEXT NOT NULL,
		action TEXT NOT NULL,
		text TEXT NOT NULL,
		at_ms INTEGER NOT NULL,
		attempts INTEGER NOT NULL DEFAULT 0,
		next_ms INTEGER NOT NULL,
		delivered_ms INTEGER,
		failed INTEGER NOT NULL DEFAULT 0,
		last_error TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX outbox_due ON outbox(delivered_ms, failed, next_ms);`,
	`CREATE TABLE maintenance_windows (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		name TEXT NOT NULL,
		targets TEXT NOT NULL,
		selector TEXT NOT NULL,
		from_ms INTEGER NOT NULL,
		to_ms INTEGER NOT NULL,
		created_by TEXT NOT NULL,
		created_at_ms INTEGER NOT NULL,
		ended_by TEXT NOT NULL DEFAULT ''
	);
	CREATE INDEX maintenance_windows_to ON maintenance_windows(to_ms);
	CREATE TABLE web_settings (
		name TEXT PRIMARY KEY,
		value BLOB NOT NULL
	);`,
	// Timelines read (to_state, at_ms) of one target in time order: a
	// covering index answers that without touching the table.
	`CREATE INDEX state_changes_timeline ON state_changes(target, at_ms, id, to_state);
	DROP INDEX state_changes_target_at;`,
	`CREATE TABLE incident_tickets (
		incident_id INTEGER NOT NULL REFERENCES incidents(id),
		receiver TEXT NOT NULL,
		ticket TEXT NOT NULL,
		url TEXT NOT NULL,
		PRIMARY KEY (incident_id, receiver)
	);`,
	`ALTER TABLE incidents ADD COLUMN assigned_to TEXT NOT NULL DEFAULT '';`,
	`CREATE TABLE audit_log (
		id INTEGER PRIMARY KEY AUTOINCREMENT,
		at_ms INTEGER NOT NULL,
		principal TEXT NOT NULL,
		action TEXT NOT NULL,
		object TEXT NOT NULL,
		detail TEXT NOT NULL
	);
	CREATE INDEX audit_log_at ON audit_log(at_ms);`,
	`CREATE INDEX outbox_order ON outbox(incident_id, receiver, id);`,
	`ALTER TABLE maintenance_windows ADD COLUMN services TEXT NOT NULL DEFAULT '[]';
	ALTER TABLE maintenance_windows ADD COLUMN schedule TEXT NOT NULL DEFAULT '';`,
	// What is known of each target besides its state (state.Info).
	`CREATE TABLE targets (
		name TEXT PRIMARY KEY,
		kind TEXT NOT NULL,
		agent_id TEXT NOT NULL,
		labels TEXT NOT NULL,
		interval_ms INTEGER NOT NULL,
		metrics_address TEXT NOT NULL,
		goodbye INTEGER NOT NULL
	);`,
	// Each notification carries the incident as it was at its event.
	`ALTER TABLE outbox ADD COLUMN incident TEXT NOT NULL DEFAULT '';`,
	// Repeated refusals are one counted row (audit.Counter); sessions
	// ended by logout are refused until they expire.
	`ALTER TABLE audit_log ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
	CREATE INDEX audit_log_repeat ON audit_log(principal, action, at_ms);
	CREATE TABLE revoked_sessions (
		id TEXT PRIMARY KEY,
		until_ms INTEGER NOT NULL
	);`,
	// Sharded probing (collector/shard; a collector on SQLite is alone,
	// but the store keeps the same facts): a run that stopped is no
	// longer a member; what each member probed, for the others.
	`ALTER TABLE collector_runs ADD COLUMN ended INTEGER NOT NULL DEFAULT 0;
	CREATE TABLE probe_batches (
		run_id INTEGER NOT NULL,
		seq INTEGER NOT NULL,
		at_ms INTEGER NOT NULL,
		body BLOB NOT NULL,
		PRIMARY KEY (run_id, seq)
	);
	CREATE INDEX probe_batches_at ON probe_batches(at_ms);`,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := s.db.ExecContext(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, i+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// SaveTarget implements state.Store.
func (s *Store) SaveTarget(ctx context.Context, in state.Info) error {
	return s.SaveTargets(ctx, []state.Info{in})
}

const saveTarget = `INSERT INTO targets (name, kind, agent_id, labels, interval_ms, metrics_address, goodbye) VALUES (?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, agent_id = excluded.agent_id, labels = excluded.labels,
	interval_ms = excluded.interval_ms, metrics_address = excluded.metrics_address, goodbye = excluded.goodbye`

// SaveTargets implements state.TargetsSaver: every Info in one
// transaction, all or none. A fleet registering at once (30,000 hosts in
// their first push interval) took one commit per host.
func (s *Store) SaveTargets(ctx context.Context, infos []state.Info) error {
	if len(infos) == 1 {
		in := infos[0]
		lbls, err := json.Marshal(in.Labels)
		if err != nil {
			return err
		}
		_, err = s.db.ExecContext(ctx, saveTarget, in.Name, string(in.Kind), in.ID, string(lbls), in.Interval.Milliseconds(), in.MetricsAddress, in.Goodbye)
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmt, err := tx.PrepareContext(ctx, saveTarget)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, in := range infos {
		lbls, err := json.Marshal(in.Labels)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, in.Name, string(in.Kind), in.ID, string(lbls), in.Interval.Milliseconds(), in.MetricsAddress, in.Goodbye); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Targets implements state.Store.
func (s *Store) Targets(ctx context.Context) ([]state.Info, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, kind, agent_id, labels, interval_ms, metrics_address, goodbye FROM targets ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []state.Info
	for rows.Next() {
		var in state.Info
		var kind, lbls string
		var ms int64
		if err := rows.Scan(&in.Name, &kind, &in.ID, &lbls, &ms, &in.MetricsAddress, &in.Goodbye); err != nil {
			return nil, err
		}
		in.Kind, in.Interval = state.Kind(kind), time.Duration(ms)*time.Millisecond
		if err := json.Unmarshal([]byte(lbls), &in.Labels); err != nil {
			return nil, fmt.Errorf("labels of target %s: %w", in.Name, err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

// RecordChange implements state.Store.
func (s *Store) RecordChange(ctx context.Context, c state.Change) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO state_changes (target, kind, from_state, to_state, at_ms, cause) VALUES (?, ?, ?, ?, ?, ?)`,
		c.Target, string(c.Kind), string(c.From), string(c.To), c.At.UnixMilli(), c.Cause)
	return err
}

// RecordChanges stores many changes in one transaction (imports, tests).
func (s *Store) RecordChanges(ctx context.Context, changes []state.Change) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO state_changes (target, kind, from_state, to_state, at_ms, cause) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, c := range changes {
		if _, err := stmt.ExecContext(ctx, c.Target, string(c.Kind), string(c.From), string(c.To), c.At.UnixMilli(), c.Cause); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// LatestChanges implements state.Store.
func (s *Store) LatestChanges(ctx context.Context) ([]state.Change, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT target, kind, from_state, to_state, at_ms, cause FROM state_changes
		WHERE id IN (SELECT MAX(id) FROM state_changes GROUP BY target) ORDER BY target`)
	if err != nil {
		return nil, err
	}
	return scanChanges(rows)
}

// History returns the state changes of a target (all targets when target
// is empty) between from and to, oldest first.
func (s *Store) History(ctx context.Context, target string, from, to time.Time) ([]state.Change, error) {
	// Two statements, so that one target's history is read through the
	// (target, at_ms) index: "? = '' OR target = ?" would scan the table.
	var rows *sql.Rows
	var err error
	if target == "" {
		rows, err = s.db.QueryContext(ctx, `
			SELECT target, kind, from_state, to_state, at_ms, cause FROM state_changes
			WHERE at_ms >= ? AND at_ms <= ? ORDER BY at_ms, id`, from.UnixMilli(), to.UnixMilli())
	} else {
		rows, err = s.db.QueryContext(ctx, `
			SELECT target, kind, from_state, to_state, at_ms, cause FROM state_changes
			WHERE target = ? AND at_ms >= ? AND at_ms <= ? ORDER BY at_ms, id`, target, from.UnixMilli(), to.UnixMilli())
	}
	if err != nil {
		return nil, err
	}
	return scanChanges(rows)
}

func scanChanges(rows *sql.Rows) ([]state.Change, error) {
	defer rows.Close()
	var out []state.Change
	for rows.Next() {
		var c state.Change
		var kind, from, to string
		var at int64
		if err := rows.Scan(&c.Target, &kind, &from, &to, &at, &c.Cause); err != nil {
			return nil, err
		}
		c.Kind, c.From, c.To, c.At = state.Kind(kind), state.State(from), state.State(to), time.UnixMilli(at).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// HistorySince implements store.History from the in-memory history
// (store.HistoryCache): timelines read it far more often than it changes.
func (s *Store) HistorySince(ctx context.Context, target string, from, to time.Time) (initial state.State, changes []state.Change, err error) {
	return s.hist.HistorySince(ctx, target, from, to)
}

// changeLog is what the history cache reads: a target's rows by id.
type changeLog struct{ reads *sql.DB }

// ChangesAfter implements store.ChangeLog.
func (l changeLog) ChangesAfter(ctx context.Context, target string, seq int64) ([]store.Sequenced, error) {
	rows, err := l.reads.QueryContext(ctx, `SELECT id, to_state, at_ms FROM state_changes WHERE target = ? AND id > ? ORDER BY at_ms, id`, target, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Sequenced
	for rows.Next() {
		var c store.Sequenced
		var at int64
		var to string
		if err := rows.Scan(&c.Seq, &to, &at); err != nil {
			return nil, err
		}
		c.At, c.To = time.UnixMilli(at), state.State(to)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Gaps returns the spans between from and to when no collector run was
// observing: from one run's last sign of life to the next run's start,
// and from the newest run's last sign of life to `to` when that is more
// than store.StaleAfter ago (the collector is stopped, or crashed).
func (s *Store) Gaps(ctx context.Context, from, to time.Time) ([][2]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT started_at_ms, last_alive_at_ms FROM collector_runs ORDER BY started_at_ms`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]time.Time
	var prevAlive int64 = -1
	for rows.Next() {
		var started, alive int64
		if err := rows.Scan(&started, &alive); err != nil {
			return nil, err
		}
		if prevAlive >= 0 && started > prevAlive {
			g := [2]time.Time{time.UnixMilli(prevAlive).UTC(), time.UnixMilli(started).UTC()}
			if g[1].After(from) && g[0].Before(to) {
				out = append(out, g)
			}
		}
		prevAlive = max(prevAlive, alive)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The newest run's heartbeat is older than a running collector's
	// would be: it stopped or crashed, and nothing since was observed.
	if last := time.UnixMilli(prevAlive).UTC(); prevAlive >= 0 && to.Sub(last) > store.StaleAfter && last.Before(to) {
		out = append(out, [2]time.Time{last, to})
	}
	return out, nil
}

// StartRun records that the collector started at now and returns when the
// previous run was last known alive (zero if none): the span between is
// time the collector did not observe, never target downtime.
func (s *Store) StartRun(ctx context.Context, now time.Time) (id int64, prevAlive time.Time, err error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(last_alive_at_ms) FROM collector_runs`).Scan(&last); err != nil {
		return 0, time.Time{}, err
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO collector_runs (started_at_ms, last_alive_at_ms) VALUES (?, ?)`, now.UnixMilli(), now.UnixMilli())
	if err != nil {
		return 0, time.Time{}, err
	}
	id, err = res.LastInsertId()
	if last.Valid {
		prevAlive = time.UnixMilli(last.Int64).UTC()
	}
	return id, prevAlive, err
}

// EndRun implements store.Shards.
func (s *Store) EndRun(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE collector_runs SET last_alive_at_ms = ?, ended = 1 WHERE id = ?`, now.UnixMilli(), id)
	return err
}

// LiveRuns implements store.Shards.
func (s *Store) LiveRuns(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM collector_runs WHERE last_alive_at_ms >= ? AND ended = 0 ORDER BY id`, since.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AddProbeBatch implements store.Shards.
func (s *Store) AddProbeBatch(ctx context.Context, b store.ProbeBatch) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO probe_batches (run_id, seq, at_ms, body) VALUES (?, ?, ?, ?)`, b.Run, b.Seq, b.At.UnixMilli(), b.Body)
	return err
}

// ProbeBatches implements store.Shards.
func (s *Store) ProbeBatches(ctx context.Context, self int64, after map[int64]int64) ([]store.ProbeBatch, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, seq, at_ms, body FROM probe_batches WHERE run_id <> ? ORDER BY run_id, seq`, self)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ProbeBatch
	for rows.Next() {
		var b store.ProbeBatch
		var at int64
		if err := rows.Scan(&b.Run, &b.Seq, &at, &b.Body); err != nil {
			return nil, err
		}
		if b.Seq > after[b.Run] {
			b.At = time.UnixMilli(at).UTC()
			out = append(out, b)
		}
	}
	return out, rows.Err()
}

// PruneProbeBatches implements store.Shards.
func (s *Store) PruneProbeBatches(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM probe_batches WHERE at_ms < ?`, before.UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Alive records that the collector run id was observing at now.
func (s *Store) Alive(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, `UPDATE collector_runs SET last_alive_at_ms = ? WHERE id = ?`, now.UnixMilli(), id)
	return err
}

// InsertIncident implements alerting.Store.
func (s *Store) InsertIncident(ctx context.Context, inc *alerting.Incident) error {
	lbls, err := json.Marshal(inc.Labels)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	res, err := tx.ExecContext(ctx, `
		INSERT INTO incidents (dedup_key, grp, rule, title, description, target, service, severity, priority, status, labels, value, opened_at_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		inc.DedupKey, inc.Group, inc.Rule, inc.Title, inc.Description, inc.Target, inc.Service, inc.Severity,
		string(inc.Priority), string(inc.Status), string(lbls), inc.Value, inc.OpenedAt.UnixMilli())
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if err := addEvent(ctx, tx, alerting.Event{IncidentID: id, At: inc.OpenedAt, Actor: alerting.Automatic, Action: "opened", Text: inc.Title, Notify: inc.Notify}); err != nil {
		return err
	}
	failpoint.Hit("incident.before_commit")
	if err := tx.Commit(); err != nil {
		return err
	}
	failpoint.Hit("incident.after_commit")
	inc.ID = id
	return nil
}

// addEvent appends an event and queues its notifications in the caller's
// transaction: both are one fact, committed together or not at all.
func addEvent(ctx context.Context, e *sql.Tx, ev alerting.Event) error {
	if _, err := e.ExecContext(ctx, `INSERT INTO incident_events (incident_id, at_ms, actor, action, text) VALUES (?, ?, ?, ?, ?)`,
		ev.IncidentID, ev.At.UnixMilli(), ev.Actor, ev.Action, ev.Text); err != nil {
		return err
	}
	failpoint.Hit("event.before_outbox") // the event written, its notifications not yet
	if len(ev.Notify) == 0 {
		return nil
	}
	// The incident as this event leaves it: receivers are told of the
	// event with it, whatever happens to the incident before delivery.
	inc, err := scanIncident(e.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, ev.IncidentID))
	if err != nil {
		return fmt.Errorf("read incident %d for its notifications: %w", ev.IncidentID, err)
	}
	snapshot, err := json.Marshal(inc)
	if err != nil {
		return err
	}
	for _, r := range ev.Notify {
		if _, err := e.ExecContext(ctx, `INSERT INTO outbox (incident_id, receiver, action, text, at_ms, next_ms, incident) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			ev.IncidentID, r, ev.Action, ev.Text, ev.At.UnixMilli(), ev.At.UnixMilli(), string(snapshot)); err != nil {
			return err
		}
	}
	return nil
}

// Transition implements alerting.Store.
func (s *Store) Transition(ctx context.Context, id int64, from []alerting.Status, to alerting.Status, ev alerting.Event) error {
	at := ev.At.UnixMilli()
	var q string
	var args []any
	switch to {
	case alerting.StatusAcknowledged:
		q, args = `UPDATE incidents SET status = ?, acknowledged_at_ms = ?, acknowledged_by = ? WHERE id = ?`, []any{string(to), at, ev.Actor, id}
	case alerting.StatusResolved:
		q, args = `UPDATE incidents SET status = ?, resolved_at_ms = ? WHERE id = ?`, []any{string(to), at, id}
	case alerting.StatusClosed:
		q, args = `UPDATE incidents SET status = ?, closed_at_ms = ? WHERE id = ?`, []any{string(to), at, id}
	case alerting.StatusOpen: // reopened: a new round, unacknowledged
		q, args = `UPDATE incidents SET status = ?, resolved_at_ms = NULL, closed_at_ms = NULL, acknowledged_at_ms = NULL, acknowledged_by = '' WHERE id = ?`, []any{string(to), id}
	default:
		return fmt.Errorf("unknown status %q", to)
	}
	return s.changeIncident(ctx, id, func(cur alerting.Status) bool { return slices.Contains(from, cur) }, ev, q, args...)
}

// Assign implements alerting.Store: the assignee and the event in one
// transaction, for an open or acknowledged incident.
func (s *Store) Assign(ctx context.Context, id int64, assignee string, ev alerting.Event) error {
	return s.changeIncident(ctx, id, alerting.Status.Active, ev, `UPDATE incidents SET assigned_to = ? WHERE id = ?`, assignee, id)
}

// changeIncident runs query (none when "") on incident id and records ev
// with its notifications, in one transaction, if allowed accepts the
// incident's current status (store.ErrNotFound and store.ErrConflict
// otherwise).
func (s *Store) changeIncident(ctx context.Context, id int64, allowed func(alerting.Status) bool, ev alerting.Event, query string, args ...any) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var cur string
	if err := tx.QueryRowContext(ctx, `SELECT status FROM incidents WHERE id = ?`, id).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
	} else if err != nil {
		return err
	}
	if !allowed(alerting.Status(cur)) {
		return fmt.Errorf("incident %d is %s: %w", id, cur, store.ErrConflict)
	}
	if query != "" {
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return err
		}
	}
	ev.IncidentID = id
	if err := addEvent(ctx, tx, ev); err != nil {
		return err
	}
	return tx.Commit()
}

// AddEvent implements alerting.Store: the event and its notifications in
// one transaction.
func (s *Store) AddEvent(ctx context.Context, ev alerting.Event) error {
	return s.changeIncident(ctx, ev.IncidentID, func(alerting.Status) bool { return true }, ev, "")
}

// Events implements alerting.Store.
func (s *Store) Events(ctx context.Context, id int64) ([]alerting.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT incident_id, at_ms, actor, action, text FROM incident_events WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Event
	for rows.Next() {
		var ev alerting.Event
		var at int64
		if err := rows.Scan(&ev.IncidentID, &at, &ev.Actor, &ev.Action, &ev.Text); err != nil {
			return nil, err
		}
		ev.At = time.UnixMilli(at).UTC()
		out = append(out, ev)
	}
	return out, rows.Err()
}

// LastResolved implements alerting.Store.
func (s *Store) LastResolved(ctx context.Context, key string, since time.Time) (*alerting.Incident, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE dedup_key = ? AND status IN ('resolved', 'closed') AND resolved_at_ms >= ? ORDER BY id DESC LIMIT 1`,
		key, since.UnixMilli())
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("resolved incident with key %s: %w", key, store.ErrNotFound)
	}
	return inc, err
}

// SetSeverity implements alerting.Store: the new severity and priority,
// ev and its notifications in one transaction, for an active incident.
func (s *Store) SetSeverity(ctx context.Context, id int64, severity string, priority alerting.Priority, ev alerting.Event) error {
	return s.changeIncident(ctx, id, alerting.Status.Active, ev, `UPDATE incidents SET severity = ?, priority = ? WHERE id = ?`, severity, string(priority), id)
}

const incidentColumns = `id, dedup_key, grp, rule, title, description, target, service, severity, priority, status, labels, value, opened_at_ms, resolved_at_ms, acknowledged_at_ms, acknowledged_by, closed_at_ms, assigned_to`

// Incidents implements alerting.Store.
func (s *Store) Incidents(ctx context.Context, f alerting.Filter) ([]alerting.Incident, error) {
	var where []string
	var args []any
	if len(f.Status) > 0 {
		where = append(where, "status IN ("+placeholders(len(f.Status))+")")
		for _, st := range f.Status {
			args = append(args, string(st))
		}
	}
	if len(f.Priority) > 0 {
		where = append(where, "priority IN ("+placeholders(len(f.Priority))+")")
		for _, p := range f.Priority {
			args = append(args, string(p))
		}
	}
	if !f.OpenedBefore.IsZero() {
		where = append(where, "opened_at_ms < ?")
		args = append(args, f.OpenedBefore.UnixMilli())
	}
	if !f.ActiveAfter.IsZero() {
		where = append(where, "(resolved_at_ms IS NULL OR resolved_at_ms > ?)")
		args = append(args, f.ActiveAfter.UnixMilli())
	}
	var scope []string
	if len(f.Targets) > 0 {
		scope = append(scope, "target IN ("+placeholders(len(f.Targets))+")")
		for _, t := range f.Targets {
			args = append(args, t)
		}
	}
	if len(f.Services) > 0 {
		scope = append(scope, "service IN ("+placeholders(len(f.Services))+")")
		for _, sv := range f.Services {
			args = append(args, sv)
		}
	}
	if len(scope) > 0 {
		where = append(where, "("+strings.Join(scope, " OR ")+")")
	}
	q := `SELECT ` + incidentColumns + ` FROM incidents`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.db.QueryContext(ctx, q, args...)
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

// Incident implements alerting.Store.
func (s *Store) Incident(ctx context.Context, id int64) (*alerting.Incident, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id)
	inc, err := scanIncident(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("incident %d: %w", id, store.ErrNotFound)
	}
	return inc, err
}

type scanner interface{ Scan(dest ...any) error }

func scanIncident(r scanner) (*alerting.Incident, error) {
	var inc alerting.Incident
	var prio, status, lbls string
	var opened int64
	var resolved, acked, closed sql.NullInt64
	if err := r.Scan(&inc.ID, &inc.DedupKey, &inc.Group, &inc.Rule, &inc.Title, &inc.Description, &inc.Target, &inc.Service,
		&inc.Severity, &prio, &status, &lbls, &inc.Value, &opened, &resolved, &acked, &inc.AcknowledgedBy, &closed, &inc.Assignee); err != nil {
		return nil, err
	}
	if acked.Valid {
		t := time.UnixMilli(acked.Int64).UTC()
		inc.AcknowledgedAt = &t
	}
	if closed.Valid {
		t := time.UnixMilli(closed.Int64).UTC()
		inc.ClosedAt = &t
	}
	inc.Priority, inc.Status = alerting.Priority(prio), alerting.Status(status)
	inc.OpenedAt = time.UnixMilli(opened).UTC()
	if resolved.Valid {
		t := time.UnixMilli(resolved.Int64).UTC()
		inc.ResolvedAt = &t
	}
	if err := json.Unmarshal([]byte(lbls), &inc.Labels); err != nil {
		return nil, fmt.Errorf("incident %d labels: %w", inc.ID, err)
	}
	return &inc, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// SaveAlerts implements rules.StateStore: the group's rows are replaced in
// one transaction.
func (s *Store) SaveAlerts(ctx context.Context, group string, alerts []rules.SavedAlert) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `DELETE FROM alert_state WHERE grp = ?`, group); err != nil {
		return err
	}
	for _, a := range alerts {
		lbls, err := json.Marshal(a.Labels)
		if err != nil {
			return err
		}
		var fired int64
		if !a.FiredAt.IsZero() {
			fired = a.FiredAt.UnixMilli()
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO alert_state (grp, rule, rule_hash, labels, state, active_at_ms, fired_at_ms, value)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, group, a.Rule, a.RuleHash, string(lbls), int(a.State), a.ActiveAt.UnixMilli(), fired, a.Value); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// LoadAlerts implements rules.StateStore.
func (s *Store) LoadAlerts(ctx context.Context) ([]rules.SavedAlert, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT grp, rule, rule_hash, labels, state, active_at_ms, fired_at_ms, value FROM alert_state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []rules.SavedAlert
	for rows.Next() {
		var a rules.SavedAlert
		var lbls string
		var st int
		var active, fired int64
		if err := rows.Scan(&a.Group, &a.Rule, &a.RuleHash, &lbls, &st, &active, &fired, &a.Value); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(lbls), &a.Labels); err != nil {
			return nil, fmt.Errorf("alert state labels: %w", err)
		}
		a.State = rules.AlertState(st)
		a.ActiveAt = time.UnixMilli(active).UTC()
		if fired != 0 {
			a.FiredAt = time.UnixMilli(fired).UTC()
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
	rows, err := s.due.QueryContext(ctx, now.UnixMilli(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []alerting.Notification
	for rows.Next() {
		var n alerting.Notification
		var at int64
		var snapshot string
		if err := rows.Scan(&n.ID, &n.IncidentID, &n.Receiver, &n.Action, &n.Text, &at, &n.Attempts, &snapshot); err != nil {
			return nil, err
		}
		n.At = time.UnixMilli(at).UTC()
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

// dueQuery lists due notifications (see DueNotifications).
const dueQuery = `SELECT id, incident_id, receiver, action, text, at_ms, attempts, incident FROM (
		SELECT o.*, ROW_NUMBER() OVER (PARTITION BY o.receiver ORDER BY o.id) AS rn FROM outbox o
		WHERE delivered_ms IS NULL AND failed = 0 AND next_ms <= ?
		AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.incident_id = o.incident_id AND e.receiver = o.receiver
			AND e.id < o.id AND e.delivered_ms IS NULL AND e.failed = 0))
		WHERE rn <= ? ORDER BY id`

// MarkNotification implements alerting.Store.
func (s *Store) MarkNotification(ctx context.Context, id int64, o alerting.Outcome) error {
	var err error
	switch {
	case o.Delivered:
		_, err = s.db.ExecContext(ctx, `UPDATE outbox SET delivered_ms = ?, attempts = attempts + 1, last_error = '' WHERE id = ?`, o.At.UnixMilli(), id)
	case o.Failed:
		_, err = s.db.ExecContext(ctx, `UPDATE outbox SET failed = 1, attempts = attempts + 1, last_error = ? WHERE id = ?`, o.Error, id)
	default:
		_, err = s.db.ExecContext(ctx, `UPDATE outbox SET next_ms = ?, attempts = attempts + 1, last_error = ? WHERE id = ?`, o.Next.UnixMilli(), o.Error, id)
	}
	return err
}
