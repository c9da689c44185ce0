// Package postgres is the PostgreSQL store.Store: the same facts as the
// embedded SQLite store (collector/store/sqlite), in a database that
// several collectors may share. collector/store/storetest pins down its
// behaviour; this package's tests run it against a real PostgreSQL that
// they start themselves (see pgtest).
//
// Every write that reads before it writes (an incident's transition, the
// end of a maintenance window, a secret's first use, a rule group's alert
// state) locks what it read in the same transaction, so two collectors
// writing at once never both apply a change that only one may make: where
// SQLite relied on its single writer, this store relies on row locks
// (SELECT ... FOR UPDATE), unique indexes and transaction-scoped advisory
// locks. Timestamps are timestamptz, written truncated to the
// millisecond, so they round-trip exactly as SQLite's milliseconds do,
// and are read back in UTC. Text that PostgreSQL cannot hold (NUL bytes,
// invalid UTF-8), which SQLite stores as given, is stored with U+FFFD in
// their place rather than failing the write (see clean).
//
// It uses github.com/jackc/pgx/v5 through its pool (pgxpool), a pure-Go
// driver, so binaries still build with CGO_ENABLED=0.
package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/internal/failpoint"
)

// Store is a PostgreSQL database. It is safe for concurrent use, and
// several Stores (in one process or in several collectors) may share
// one database.
type Store struct {
	pool *pgxpool.Pool
	db   cleaned // the pool
	hist *store.HistoryCache
	// fence, when set, says whether this collector leads and with
	// which epoch (see SetFence).
	fence func() (int64, bool)
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a URL,
// postgres://user@host/db?sslmode=verify-full, or key=value pairs; pgx's
// pool_* parameters size the pool) and brings its schema up to date. It
// refuses a database whose schema is newer than this binary knows, and
// one whose encoding is not UTF8. The role needs to create tables in
// the first schema of its search_path (public, unless the DSN sets
// search_path): own the database, or, since PostgreSQL 15, be granted
// CREATE on that schema. Statements are prepared and cached per
// connection; behind a pooler in transaction mode (PgBouncer) add
// default_query_exec_mode=exec to the DSN.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx quotes the string with its password redacted
		// (TestOpenBadDSN).
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "nines-collector"
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !ok {
		// The store never waits inside a transaction; a process frozen in
		// one (SIGSTOP, a paused VM) would hold its row locks, among them
		// the fencing epoch's, and keep an HA pair's other collector from
		// taking over: the server ends such a session.
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = strconv.FormatInt(IdleInTransaction.Milliseconds(), 10)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, db: cleaned{pool}}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("migrate %s/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	// Identity values are assigned when a row is inserted but become
	// visible at COMMIT, and concurrent writers (this pool's connections,
	// another collector) commit out of order: the history cache needs its
	// default margin (see store.ChangeLog).
	s.hist = store.NewHistoryCache(changeLog{s.db}, store.CacheOptions{})
	return s, nil
}

// IdleInTransaction is how long a store session may sit idle inside a
// transaction before the server ends it (unless the DSN sets
// idle_in_transaction_session_timeout).
const IdleInTransaction = 10 * time.Second

// ReadParallelism implements store.Store: half the pool, so timelines
// read in parallel leave connections to the writers.
func (s *Store) ReadParallelism() int { return max(1, int(s.pool.Config().MaxConns)/2) }

// Close closes the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// migrations are applied in order, once each, each in its own
// transaction (PostgreSQL's DDL is transactional); never edit a
// released one, append a new one.
var migrations = []string{
	`CREATE TABLE state_changes (
		id bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
		target text NOT NULL,
		kind text NOT NULL,
		from_state text NOT NULL,
		to_state text NOT NULL,
		at timestamptz NOT NULL,
		cause text NOT NULL
	);
	-- History of one target over a period.
	CREATE INDEX state_changes_target_at ON state_changes (target, at, id);
	-- The history cache's tail reads: a target's rows above a number.
	CREATE INDEX state_changes_target_id ON state_changes (target, id) INCLUDE (at, to_state);

	CREATE TABLE targets (
		name text PRIMARY KEY,
		kind text NOT NULL,
		agent_id text NOT NULL,
		labels jsonb NOT NULL,
		interval_ms bigint NOT NULL,
		metrics_address text NOT NULL,
		goodbye boolean NOT NULL
	);

	CREATE TABLE collector_runs (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		started_at timestamptz NOT NULL,
		last_alive_at timestamptz NOT NULL
	);

	CREATE TABLE incidents (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		dedup_key text NOT NULL,
		grp text NOT NULL,
		rule text NOT NULL,
		title text NOT NULL,
		description text NOT NULL,
		target text NOT NULL,
		service text NOT NULL,
		severity text NOT NULL,
		priority text NOT NULL,
		status text NOT NULL,
		labels jsonb NOT NULL,
		value double precision NOT NULL,
		opened_at timestamptz NOT NULL,
		acknowledged_at timestamptz,
		acknowledged_by text NOT NULL DEFAULT '',
		resolved_at timestamptz,
		closed_at timestamptz,
		assigned_to text NOT NULL DEFAULT ''
	);
	CREATE INDEX incidents_status ON incidents (status);
	CREATE INDEX incidents_key_resolved ON incidents (dedup_key, resolved_at);
	-- One active incident per dedup key, whichever collector opens it.
	CREATE UNIQUE INDEX incidents_one_active ON incidents (dedup_key) WHERE status IN ('open', 'acknowledged');

	CREATE TABLE incident_events (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		incident_id bigint NOT NULL REFERENCES incidents (id),
		at timestamptz NOT NULL,
		actor text NOT NULL,
		action text NOT NULL,
		text text NOT NULL
	);
	CREATE INDEX incident_events_incident ON incident_events (incident_id, id);

	CREATE TABLE outbox (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		incident_id bigint NOT NULL REFERENCES incidents (id),
		receiver text NOT NULL,
		action text NOT NULL,
		text text NOT NULL,
		at timestamptz NOT NULL,
		attempts integer NOT NULL DEFAULT 0,
		next_at timestamptz NOT NULL,
		delivered_at timestamptz,
		failed boolean NOT NULL DEFAULT false,
		last_error text NOT NULL DEFAULT ''
	);
	CREATE INDEX outbox_due ON outbox (next_at) WHERE delivered_at IS NULL AND NOT failed;
	CREATE INDEX outbox_order ON outbox (incident_id, receiver, id);

	CREATE TABLE incident_tickets (
		incident_id bigint NOT NULL REFERENCES incidents (id),
		receiver text NOT NULL,
		ticket text NOT NULL,
		url text NOT NULL,
		PRIMARY KEY (incident_id, receiver)
	);
	CREATE INDEX incident_tickets_receiver ON incident_tickets (receiver, incident_id);

	CREATE TABLE alert_state (
		grp text NOT NULL,
		rule text NOT NULL,
		rule_hash text NOT NULL,
		labels jsonb NOT NULL,
		state integer NOT NULL,
		active_at timestamptz NOT NULL,
		fired_at timestamptz,
		value double precision NOT NULL
	);
	CREATE INDEX alert_state_grp ON alert_state (grp);

	CREATE TABLE maintenance_windows (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		name text NOT NULL,
		targets jsonb NOT NULL,
		selector jsonb NOT NULL,
		services jsonb NOT NULL,
		schedule text NOT NULL,
		from_at timestamptz NOT NULL,
		to_at timestamptz NOT NULL,
		created_by text NOT NULL,
		created_at timestamptz NOT NULL,
		ended_by text NOT NULL DEFAULT ''
	);
	CREATE INDEX maintenance_windows_to ON maintenance_windows (to_at);

	CREATE TABLE web_settings (
		name text PRIMARY KEY,
		value bytea NOT NULL
	);

	CREATE TABLE audit_log (
		id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
		at timestamptz NOT NULL,
		principal text NOT NULL,
		action text NOT NULL,
		object text NOT NULL,
		detail text NOT NULL
	);
	CREATE INDEX audit_log_at ON audit_log (at);`,
	// Each notification carries the incident as its event left it.
	`ALTER TABLE outbox ADD COLUMN incident text NOT NULL DEFAULT '';`,
	// Repeated refusals are one counted row (audit.Counter); sessions
	// ended by logout are refused until they expire.
	`ALTER TABLE audit_log ADD COLUMN count bigint NOT NULL DEFAULT 1;
	CREATE INDEX audit_log_repeat ON audit_log (principal, action, at);
	CREATE TABLE revoked_sessions (
		id text PRIMARY KEY,
		until_at timestamptz NOT NULL
	);`,
	// The HA pair's fencing epoch: raised by each collector that takes
	// the leader lock (see Locker), checked by every incident, outbox and
	// ticket write (see fencedTx).
	`CREATE TABLE leader (
		id integer PRIMARY KEY CHECK (id = 1),
		epoch bigint NOT NULL,
		holder text NOT NULL,
		since timestamptz
	);
	INSERT INTO leader VALUES (1, 0, '', NULL);`,
	// Sharded probing (collector/shard): a run that stopped is no longer
	// a member; what each member probed, for the others.
	`ALTER TABLE collector_runs ADD COLUMN ended boolean NOT NULL DEFAULT false;
	CREATE INDEX collector_runs_alive ON collector_runs (last_alive_at);
	CREATE TABLE probe_batches (
		run_id bigint NOT NULL,
		seq bigint NOT NULL,
		at timestamptz NOT NULL,
		body bytea NOT NULL,
		PRIMARY KEY (run_id, seq)
	);
	CREATE INDEX probe_batches_at ON probe_batches (at);`,
}

// Advisory lock classes, in the two-int form (class, object), which
// never meets a single-bigint key another component (a leader lease)
// takes.
const (
	lockMigrate = 0x6e696e01 // "nin\x01", object 0
	lockAlerts  = 0x6e696e02 // object hashtext(group); see SaveAlerts
)

// migrate applies the migrations this database lacks. Collectors that
// start together take turns on an advisory lock, so each migration runs
// once; a schema newer than this binary knows is refused untouched.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1, 0)`, lockMigrate); err != nil {
		return err
	}
	defer func() {
		// Closing the connection would release it too; a failed unlock
		// leaves the lock to the session, so drop the connection then.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1, 0)`, lockMigrate); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	var enc string
	if err := conn.QueryRow(ctx, `SHOW server_encoding`).Scan(&enc); err != nil {
		return err
	}
	if enc != "UTF8" {
		return fmt.Errorf("database encoding is %s, not UTF8: create the database WITH ENCODING 'UTF8'", enc)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
		return err
	}
	var v int
	err = conn.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		if _, err := conn.Exec(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if v > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this binary knows (%d)", v, len(migrations))
	}
	for i := v; i < len(migrations); i++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// No arguments: pgx sends it with the simple protocol, which
			// runs several statements.
			if _, err := tx.Exec(ctx, migrations[i]); err != nil {
				return fmt.Errorf("migration %d: %w", i+1, err)
			}
			_, err := tx.Exec(ctx, `UPDATE schema_version SET version = $1`, i+1)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs f in a transaction, committed when f returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx cleaned) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return f(cleaned{tx}) })
}

// SetFence makes every incident, outbox and ticket write check, in its
// own transaction, that fence's epoch is the database's current one (see
// collector/leader): a write of a collector that is not the leader, or
// was deposed since, fails with alerting.ErrFenced. Call it before the
// store is used concurrently; without it nothing is fenced (a collector
// alone on the database).
func (s *Store) SetFence(fence func() (epoch int64, leader bool)) { s.fence = fence }

// fencedTx is inTx for the leader's writes: the transaction first reads
// the epoch FOR SHARE, so a takeover (which raises it) waits for the
// write to commit, and a write after the takeover sees the new epoch and
// is refused.
func (s *Store) fencedTx(ctx context.Context, f func(tx cleaned) error) error {
	if s.fence == nil {
		return s.inTx(ctx, f)
	}
	mine, ok := s.fence()
	if !ok {
		return fmt.Errorf("%w: this collector does not lead the pair", alerting.ErrFenced)
	}
	// A leader frozen here believes it leads (TestHAFencing).
	failpoint.Hit("fence.before_check")
	return s.inTx(ctx, func(tx cleaned) error {
		var cur int64
		if err := tx.QueryRow(ctx, `SELECT epoch FROM leader WHERE id = 1 FOR SHARE`).Scan(&cur); err != nil {
			return fmt.Errorf("read the fencing epoch: %w", err)
		}
		if cur != mine {
			return fmt.Errorf("%w: epoch %d is over, the database is at %d", alerting.ErrFenced, mine, cur)
		}
		// A leader frozen here holds the epoch's row lock: the server
		// ends its session after IdleInTransaction (TestHAFencing).
		failpoint.Hit("fence.after_check")
		return f(tx)
	})
}

// ms is t truncated to the millisecond, the precision the store keeps
// (as SQLite's *_ms columns do).
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// optMs is ms(t), or NULL for the zero time.
func optMs(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	m := ms(t)
	return &m
}

// utcPtr returns a nullable timestamp in UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// js is v as JSON for a jsonb column: pgx would send a nil map or
// slice as SQL NULL, this sends JSON null, as the SQLite store stores it
// (it reads back as nil). v is a map or slice of strings, which always
// marshals; its strings are cleaned (see clean).
func js(v any) string {
	b, _ := json.Marshal(cleanJSON(v))
	return string(b)
}

// isUnique reports whether err is a unique violation of the named index.
func isUnique(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == constraint
}

const saveTarget = `INSERT INTO targets (name, kind, agent_id, labels, interval_ms, metrics_address, goodbye)
	VALUES ($1, $2, $3, $4, $5, $6, $7)
	ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, agent_id = excluded.agent_id, labels = excluded.labels,
	interval_ms = excluded.interval_ms, metrics_address = excluded.metrics_address, goodbye = excluded.goodbye`

func targetArgs(in state.Info) []any {
	return []any{in.Name, string(in.Kind), in.ID, js(in.Labels), in.Interval.Milliseconds(), in.MetricsAddress, in.Goodbye}
}

// SaveTarget implements state.Store.
func (s *Store) SaveTarget(ctx context.Context, in state.Info) error {
	_, err := s.db.Exec(ctx, saveTarget, targetArgs(in)...)
	return err
}

// SaveTargets implements state.TargetsSaver: one transaction, one round
// trip.
func (s *Store) SaveTargets(ctx context.Context, infos []state.Info) error {
	return s.inTx(ctx, func(tx cleaned) error {
		var b pgx.Batch
		for _, in := range infos {
			queue(&b, saveTarget, targetArgs(in)...)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

// Targets implements state.Store.
func (s *Store) Targets(ctx context.Context) ([]state.Info, error) {
	rows, err := s.db.Query(ctx, `SELECT name, kind, agent_id, labels, interval_ms, metrics_address, goodbye FROM targets ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []state.Info
	for rows.Next() {
		var in state.Info
		var kind string
		var ival int64
		if err := rows.Scan(&in.Name, &kind, &in.ID, &in.Labels, &ival, &in.MetricsAddress, &in.Goodbye); err != nil {
			return nil, fmt.Errorf("target: %w", err)
		}
		in.Kind, in.Interval = state.Kind(kind), time.Duration(ival)*time.Millisecond
		out = append(out, in)
	}
	return out, rows.Err()
}

const insertChange = `INSERT INTO state_changes (target, kind, from_state, to_state, at, cause) VALUES ($1, $2, $3, $4, $5, $6)`

func changeArgs(c state.Change) []any {
	return []any{c.Target, string(c.Kind), string(c.From), string(c.To), ms(c.At), c.Cause}
}

// RecordChange implements state.Store.
func (s *Store) RecordChange(ctx context.Context, c state.Change) error {
	_, err := s.db.Exec(ctx, insertChange, changeArgs(c)...)
	return err
}

// RecordChanges implements store.History: one transaction, one round
// trip.
func (s *Store) RecordChanges(ctx context.Context, changes []state.Change) error {
	return s.inTx(ctx, func(tx cleaned) error {
		var b pgx.Batch
		for _, c := range changes {
			queue(&b, insertChange, changeArgs(c)...)
		}
		return tx.SendBatch(ctx, &b).Close()
	})
}

// LatestChanges implements state.Store: each target's most recently
// recorded change.
func (s *Store) LatestChanges(ctx context.Context) ([]state.Change, error) {
	rows, err := s.db.Query(ctx, `SELECT DISTINCT ON (target) target, kind, from_state, to_state, at, cause
		FROM state_changes ORDER BY target, id DESC`)
	if err != nil {
		return nil, err
	}
	return scanChanges(rows)
}

// History implements store.History.
func (s *Store) History(ctx context.Context, target string, from, to time.Time) ([]state.Change, error) {
	var rows pgx.Rows
	var err error
	// Two statements, so that one target's history is read through the
	// (target, at) index.
	if target == "" {
		rows, err = s.db.Query(ctx, `SELECT target, kind, from_state, to_state, at, cause FROM state_changes
			WHERE at >= $1 AND at <= $2 ORDER BY at, id`, ms(from), ms(to))
	} else {
		rows, err = s.db.Query(ctx, `SELECT target, kind, from_state, to_state, at, cause FROM state_changes
			WHERE target = $1 AND at >= $2 AND at <= $3 ORDER BY at, id`, target, ms(from), ms(to))
	}
	if err != nil {
		return nil, err
	}
	return scanChanges(rows)
}

func scanChanges(rows pgx.Rows) ([]state.Change, error) {
	defer rows.Close()
	var out []state.Change
	for rows.Next() {
		var c state.Change
		var kind, from, to string
		if err := rows.Scan(&c.Target, &kind, &from, &to, &c.At, &c.Cause); err != nil {
			return nil, err
		}
		c.Kind, c.From, c.To, c.At = state.Kind(kind), state.State(from), state.State(to), c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// HistorySince implements store.History from the in-memory history
// (store.HistoryCache), which reads each target's tail from the
// database: changes another collector recorded are seen too.
func (s *Store) HistorySince(ctx context.Context, target string, from, to time.Time) (initial state.State, changes []state.Change, err error) {
	return s.hist.HistorySince(ctx, target, from, to)
}

// changeLog is what the history cache reads: a target's rows by id.
type changeLog struct{ db cleaned }

// ChangesAfter implements store.ChangeLog.
func (l changeLog) ChangesAfter(ctx context.Context, target string, seq int64) ([]store.Sequenced, error) {
	rows, err := l.db.Query(ctx, `SELECT id, to_state, at FROM state_changes WHERE target = $1 AND id > $2`, target, seq)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Sequenced
	for rows.Next() {
		var c store.Sequenced
		var to string
		if err := rows.Scan(&c.Seq, &to, &c.At); err != nil {
			return nil, err
		}
		c.To = state.State(to)
		out = append(out, c)
	}
	return out, rows.Err()
}

// StartRun implements store.Runs: the previous runs' last sign of life
// and the new run, read and written in one statement.
func (s *Store) StartRun(ctx context.Context, now time.Time) (id int64, prevAlive time.Time, err error) {
	var prev *time.Time
	err = s.db.QueryRow(ctx, `WITH prev AS (SELECT max(last_alive_at) AS at FROM collector_runs)
		INSERT INTO collector_runs (started_at, last_alive_at) VALUES ($1, $1)
		RETURNING id, (SELECT at FROM prev)`, ms(now)).Scan(&id, &prev)
	if err != nil {
		return 0, time.Time{}, err
	}
	if prev != nil {
		prevAlive = prev.UTC()
	}
	return id, prevAlive, nil
}

// Alive implements store.Runs.
func (s *Store) Alive(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE collector_runs SET last_alive_at = $1 WHERE id = $2`, ms(now), id)
	return err
}

// EndRun implements store.Shards.
func (s *Store) EndRun(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.Exec(ctx, `UPDATE collector_runs SET last_alive_at = $1, ended = true WHERE id = $2`, ms(now), id)
	return err
}

// LiveRuns implements store.Shards.
func (s *Store) LiveRuns(ctx context.Context, since time.Time) ([]int64, error) {
	rows, err := s.db.Query(ctx, `SELECT id FROM collector_runs WHERE last_alive_at >= $1 AND NOT ended ORDER BY id`, ms(since))
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// AddProbeBatch implements store.Shards.
func (s *Store) AddProbeBatch(ctx context.Context, b store.ProbeBatch) error {
	_, err := s.db.Exec(ctx, `INSERT INTO probe_batches (run_id, seq, at, body) VALUES ($1, $2, $3, $4)`, b.Run, b.Seq, ms(b.At), b.Body)
	return err
}

// ProbeBatches implements store.Shards: one statement with the cursor
// as two arrays (run, last seq read).
func (s *Store) ProbeBatches(ctx context.Context, self int64, after map[int64]int64) ([]store.ProbeBatch, error) {
	runs, seqs := make([]int64, 0, len(after)), make([]int64, 0, len(after))
	for r, q := range after {
		runs, seqs = append(runs, r), append(seqs, q)
	}
	rows, err := s.db.Query(ctx, `SELECT p.run_id, p.seq, p.at, p.body FROM probe_batches p
		LEFT JOIN unnest($2::bigint[], $3::bigint[]) AS c(run, seq) ON c.run = p.run_id
		WHERE p.run_id <> $1 AND p.seq > coalesce(c.seq, 0)
		ORDER BY p.run_id, p.seq`, self, runs, seqs)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ProbeBatch, error) {
		var b store.ProbeBatch
		err := r.Scan(&b.Run, &b.Seq, &b.At, &b.Body)
		b.At = b.At.UTC()
		return b, err
	})
}

// PruneProbeBatches implements store.Shards.
func (s *Store) PruneProbeBatches(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.db.Exec(ctx, `DELETE FROM probe_batches WHERE at < $1`, ms(before))
	return tag.RowsAffected(), err
}

// Gaps implements store.Runs: the spans when no collector run was
// observing, from one run's last sign of life to the next run's start,
// and from the newest heartbeat to `to` when that is more than
// store.StaleAfter ago (the collectors are stopped, or crashed). Runs that
// overlap (two collectors sharing the database) leave no gap between
// them.
func (s *Store) Gaps(ctx context.Context, from, to time.Time) ([][2]time.Time, error) {
	rows, err := s.db.Query(ctx, `SELECT started_at, last_alive_at FROM collector_runs ORDER BY started_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]time.Time
	var prevAlive time.Time
	seen := false
	for rows.Next() {
		var started, alive time.Time
		if err := rows.Scan(&started, &alive); err != nil {
			return nil, err
		}
		started, alive = started.UTC(), alive.UTC()
		if seen && started.After(prevAlive) {
			if g := [2]time.Time{prevAlive, started}; g[1].After(from) && g[0].Before(to) {
				out = append(out, g)
			}
		}
		if !seen || alive.After(prevAlive) {
			prevAlive = alive
		}
		seen = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if seen && to.Sub(prevAlive) > store.StaleAfter && prevAlive.Before(to) {
		out = append(out, [2]time.Time{prevAlive, to})
	}
	return out, nil
}
