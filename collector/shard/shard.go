// Package shard spreads SNMP devices and active checks over the live
// collectors that share one PostgreSQL: each name belongs to the member
// with the highest rendezvous (HRW) score for it, so a member joining or
// leaving moves only the names it takes or held, about 1/n of them.
// Membership is read from the collectors' heartbeats (collector_runs).
// A Feed shares what each member probed (outcomes and samples) with the
// others through the store, so every member's tracker and window see
// every probe, whoever made it.
package shard

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Owner returns the member of members that owns name: the one with the
// highest score hash(member, name), ties to the lower id. members must
// not be empty.
func Owner(name string, members []int64) int64 {
	best, bestScore := members[0], score(members[0], name)
	for _, m := range members[1:] {
		if s := score(m, name); s > bestScore || (s == bestScore && m < best) {
			best, bestScore = m, s
		}
	}
	return best
}

// score is FNV-1a over the member id and the name, mixed by a 64-bit
// finaliser so that close ids (consecutive run ids) give independent
// scores.
func score(member int64, name string) uint64 {
	h := fnv.New64a()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(member))
	h.Write(b[:])
	h.Write([]byte(name))
	return mix(h.Sum64())
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Lister reads the ids of the members whose last heartbeat is at or after
// since (store.Shards.LiveRuns).
type Lister func(ctx context.Context, since time.Time) ([]int64, error)

// Options configure a Membership.
type Options struct {
	// Self is this collector's member id (its run id); it is always a
	// member in its own view.
	Self int64
	// List reads the live members; nil means Self alone (SQLite).
	List Lister
	// Fresh is how recent a member's heartbeat must be for it to count
	// as live.
	Fresh time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// OnChange is called after a refresh that changed the members.
	OnChange func(members []int64)
	Logger   *slog.Logger
}

// Membership is one member's view of the live members, refreshed from
// the heartbeats. Safe for concurrent use.
type Membership struct {
	opts Options

	mu      sync.Mutex
	members []int64
}

// New returns a membership of Self alone until the first Refresh.
func New(o Options) *Membership {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Membership{opts: o, members: []int64{o.Self}}
}

// Refresh reads the live members. When the read fails the last view is
// kept: a member cut off from the database goes on polling what it owned
// (the others take it over once its heartbeat is stale, so a device is
// polled twice for a while rather than not at all).
func (m *Membership) Refresh(ctx context.Context) error {
	if m.opts.List == nil {
		return nil
	}
	live, err := m.opts.List(ctx, m.opts.Now().Add(-m.opts.Fresh))
	if err != nil {
		return err
	}
	if !slices.Contains(live, m.opts.Self) {
		live = append(live, m.opts.Self)
	}
	slices.Sort(live)
	live = slices.Compact(live)
	m.mu.Lock()
	changed := !slices.Equal(live, m.members)
	old := m.members
	m.members = live
	m.mu.Unlock()
	if changed {
		m.opts.Logger.Info("shard members changed", "from", old, "to", live)
		if m.opts.OnChange != nil {
			m.opts.OnChange(live)
		}
	}
	return nil
}

// Members returns the live members, ascending.
func (m *Membership) Members() []int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.members)
}

// Owns reports whether this member owns name.
func (m *Membership) Owns(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Owner(name, m.members) == m.opts.Self
}
