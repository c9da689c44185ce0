package postgres

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// PostgreSQL's text holds neither NUL nor invalid UTF-8, which SQLite
// stores as given: a ticketing system's error body, a check's cause or a
// rule's description with such a byte would make the write fail, and an
// incident, a state change or a delivery outcome would be lost for one
// bad byte. So every string argument of a statement (through cleaned
// and queue) and every string in a jsonb value (see js) has them
// replaced by U+FFFD, the same way on writes and on lookups: a target
// whose name holds a NUL is still found by that name. (The database must
// be UTF8; Open refuses another encoding.)

// clean replaces NUL bytes and invalid UTF-8 in s with U+FFFD.
func clean(s string) string {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// querier is what the store sends statements through: the pool or a
// transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// cleaned sends statements through q with their string arguments
// cleaned. (pgx sends a string in text format without asking a codec, so
// a codec cannot do this.)
type cleaned struct{ q querier }

func (c cleaned) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return c.q.Exec(ctx, sql, cleanArgs(args)...)
}

func (c cleaned) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return c.q.Query(ctx, sql, cleanArgs(args)...)
}

func (c cleaned) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return c.q.QueryRow(ctx, sql, cleanArgs(args)...)
}

// SendBatch sends b, whose statements were queued with queue.
func (c cleaned) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return c.q.SendBatch(ctx, b)
}

// queue queues a statement on b with its string arguments cleaned.
func queue(b *pgx.Batch, sql string, args ...any) { b.Queue(sql, cleanArgs(args)...) }

// cleanArgs cleans the strings among args, in place.
func cleanArgs(args []any) []any {
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = clean(s)
		}
	}
	return args
}

// cleanJSON returns v with its strings cleaned, for the value types the
// store keeps as jsonb (json.Marshal keeps a NUL as \u0000, which jsonb
// refuses).
func cleanJSON(v any) any {
	switch v := v.(type) {
	case map[string]string:
		if v == nil {
			return v
		}
		out := make(map[string]string, len(v))
		for k, x := range v {
			out[clean(k)] = clean(x)
		}
		return out
	case []string:
		if v == nil {
			return v
		}
		out := make([]string, len(v))
		for i, x := range v {
			out[i] = clean(x)
		}
		return out
	}
	return v
}
