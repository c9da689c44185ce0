package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ninesmon/nines/collector/leader"
)

// lockLeader is the HA pair's leader lock, a single-bigint advisory key
// ("nines"), which never meets the store's two-int keys.
const lockLeader = 0x6e696e6573

// Locker is the HA pair's leader lock (a leader.Locker): a session-level
// advisory lock held on a connection of its own, outside the store's
// pool. The connection is opened with idle_session_timeout set to the
// takeover delay, so the server ends the session of a holder that stays
// silent that long (a frozen process, a cut-off network) and frees the
// lock; a holder that dies outright frees it at once (its socket
// closes). The lease's TTL must be shorter than the takeover delay.
type Locker struct {
	cfg    *pgx.ConnConfig
	holder string
	conn   *pgx.Conn
}

var _ leader.Locker = (*Locker)(nil)

// NewLocker returns the lock on the database of dsn (as Open takes it).
// holder names this collector in the leader table; takeover is the
// silence after which the server frees the lock.
func NewLocker(dsn, holder string, takeover time.Duration) (*Locker, error) {
	pc, err := pgxpool.ParseConfig(dsn) // accepts the pool_* parameters Open does
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	cfg := pc.ConnConfig.Copy()
	cfg.RuntimeParams["application_name"] = "nines-collector leader lock"
	cfg.RuntimeParams["idle_session_timeout"] = strconv.FormatInt(takeover.Milliseconds(), 10)
	return &Locker{cfg: cfg, holder: holder}, nil
}

// Acquire implements leader.Locker: it tries the lock and, when taken,
// raises the fencing epoch.
func (l *Locker) Acquire(ctx context.Context) (int64, bool, error) {
	if l.conn == nil || l.conn.IsClosed() {
		conn, err := pgx.ConnectConfig(ctx, l.cfg)
		if err != nil {
			return 0, false, err
		}
		l.conn = conn
	}
	// The pair's epoch is read with the attempt: a follower's
	// nines_leader_epoch and /-/ready name it without a query of their own.
	var ok bool
	var epoch int64
	if err := l.conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1), (SELECT epoch FROM leader WHERE id = 1)`, int64(lockLeader)).Scan(&ok, &epoch); err != nil {
		l.drop()
		return 0, false, err
	}
	if !ok {
		return epoch, false, nil
	}
	err := l.conn.QueryRow(ctx, `UPDATE leader SET epoch = epoch + 1, holder = $1, since = now() WHERE id = 1 RETURNING epoch`,
		clean(l.holder)).Scan(&epoch)
	if err != nil {
		l.drop() // and with it the lock
		return 0, false, fmt.Errorf("raise the fencing epoch: %w", err)
	}
	return epoch, true, nil
}

// Renew implements leader.Locker: a round trip on the lock's session,
// which fails once the server has ended it.
func (l *Locker) Renew(ctx context.Context) error {
	if l.conn == nil {
		return fmt.Errorf("no session holds the lock")
	}
	if _, err := l.conn.Exec(ctx, `SELECT 1`); err != nil {
		l.drop()
		return err
	}
	return nil
}

// Release implements leader.Locker: closing the session frees the lock.
func (l *Locker) Release(ctx context.Context) error {
	if l.conn == nil {
		return nil
	}
	// Unlocked first, so the lock is free when Release returns (the
	// server ends a closed session a moment later).
	_, _ = l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, int64(lockLeader))
	err := l.conn.Close(ctx)
	l.conn = nil
	return err
}

func (l *Locker) drop() {
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		l.conn.Close(ctx)
		l.conn = nil
	}
}
