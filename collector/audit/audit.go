// Package audit is the append-only record of what people and programs
// changed through the API, the web UI or a reload: who, when, what. The
// store keeps it (sqlite.Store implements Log); GET /api/v1/audit reads
// it.
package audit

import (
	"context"
	"time"
)

// Entry is one change.
type Entry struct {
	At        time.Time `json:"at"`
	Principal string    `json:"principal"` // token name, "signal", or the address of a failed login
	Action    string    `json:"action"`    // e.g. incident.acknowledge, maintenance.create, config.reload
	Object    string    `json:"object"`    // e.g. incident/42, maintenance/3, config
	Detail    string    `json:"detail,omitempty"`
	// Count is how many times it happened: repeated refusals (failed
	// logins from one address) are one row per minute with a count
	// (Counter). Record stores 1 for 0.
	Count int64 `json:"count"`
}

// Filter selects entries; zero fields match all.
type Filter struct {
	Since     time.Time
	Principal string
	Action    string // a prefix: "incident." matches every incident action
	Limit     int
}

// Counter collapses repeats: Count adds one to the newest entry with e's
// principal, action and object recorded at or after since, or records e
// with count 1 when there is none. Callers pass the start of the current
// minute, so an address failing a thousand times a minute costs one row.
type Counter interface {
	Count(ctx context.Context, e Entry, since time.Time) error
}

// Log records and reads entries.
type Log interface {
	Record(ctx context.Context, e Entry) error
	Entries(ctx context.Context, f Filter) ([]Entry, error)
}
