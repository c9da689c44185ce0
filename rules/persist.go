package rules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/prometheus/model/labels"
)

// SavedAlert is a pending or firing alert as persisted, so that a restart
// or a reload keeps it: no resolved/fired pair, no duplicate incident, and
// a pending alert keeps its elapsed time.
type SavedAlert struct {
	Group    string
	Rule     string
	RuleHash string // the rule's definition; state only carries over to the same rule
	Labels   map[string]string
	State    AlertState
	ActiveAt time.Time
	FiredAt  time.Time
	Value    float64
}

// ErrNotSaved is what a StateStore's SaveAlerts returns when it did not
// write by design (a collector following its HA pair's leader leaves the
// alert state to the leader): the manager writes again at the next
// evaluation, and logs nothing.
var ErrNotSaved = errors.New("alert state left to another writer")

// StateStore persists alert state. SaveAlerts replaces everything stored
// for the group.
type StateStore interface {
	SaveAlerts(ctx context.Context, group string, alerts []SavedAlert) error
	LoadAlerts(ctx context.Context) ([]SavedAlert, error)
}

// definitionHash identifies a rule's definition: same group, name,
// expression, for and labels.
func (r *alertRule) definitionHash() string {
	h := sha256.New()
	h.Write([]byte(r.group + "\x00" + r.spec.Alert + "\x00" + r.spec.Expr + "\x00" + strconv.FormatInt(int64(r.spec.For), 10)))
	for _, sv := range r.spec.Severities {
		h.Write([]byte("\x00" + sv.Severity + ":" + sv.Expr))
	}
	for _, k := range slices.Sorted(maps.Keys(r.labels)) {
		h.Write([]byte("\x00" + k + "=" + r.labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// saved lists the group's pending and firing alerts for the store.
func (g *group) saved() []SavedAlert {
	var out []SavedAlert
	for _, r := range g.alerts {
		hash := r.definitionHash()
		for _, a := range r.active {
			if a.State == StateInactive {
				continue
			}
			out = append(out, SavedAlert{Group: g.name, Rule: r.spec.Alert, RuleHash: hash, Labels: a.Labels.Map(),
				State: a.State, ActiveAt: a.ActiveAt, FiredAt: a.FiredAt, Value: a.Value})
		}
	}
	return out
}

// digest summarises the group's pending and firing alerts, so that state
// is written only when it changed.
func digest(list []SavedAlert) string {
	keys := make([]string, 0, len(list))
	for _, a := range list {
		keys = append(keys, a.Rule+labels.FromMap(a.Labels).String()+a.State.String()+strconv.FormatInt(a.ActiveAt.UnixMilli(), 10))
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Restore loads persisted alerts into the current rules. away is how long
// alerts were not evaluated (the collector's own outage): beyond tolerance
// nothing is restored, since the world may have changed; otherwise pending
// alerts have their start moved by away, so the outage does not count
// towards 'for', and firing alerts stay firing.
func (m *Manager) Restore(ctx context.Context, away, tolerance time.Duration) (int, error) {
	if m.opts.StateStore == nil {
		return 0, nil
	}
	saved, err := m.opts.StateStore.LoadAlerts(ctx)
	if err != nil {
		return 0, err
	}
	if away > tolerance {
		m.opts.Logger.Warn("alert state not restored: the collector was away longer than the outage tolerance",
			"away", away.Round(time.Second), "tolerance", tolerance)
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, g := range m.groups {
		for _, r := range g.alerts {
			hash := r.definitionHash()
			for _, s := range saved {
				if s.Group != g.name || s.Rule != r.spec.Alert || s.RuleHash != hash {
					continue
				}
				lset := labels.FromMap(s.Labels)
				a := &Alert{Group: g.name, Rule: s.Rule, Labels: lset, State: s.State, ActiveAt: s.ActiveAt,
					FiredAt: s.FiredAt, Value: s.Value, LastSeenAt: s.ActiveAt}
				if a.State == StatePending {
					a.ActiveAt = a.ActiveAt.Add(away)
				}
				a.Annotations = r.annotations(ctx, lset, s.Value, s.ActiveAt, nil)
				r.active[r.identity(lset)] = a
				n++
			}
		}
		g.savedDigest = digest(g.saved())
	}
	return n, nil
}
