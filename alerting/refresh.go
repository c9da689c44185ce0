package alerting

import (
	"context"
	"slices"
	"time"
)

// Refresher is a Notifier whose peer forgets a firing alert unless it is
// told again: Alertmanager's API resolves an alert once its endsAt has
// passed (or after its resolve_timeout when none was given), so
// Prometheus re-sends every firing alert every minute with endsAt a few
// intervals ahead. A Refresher is re-sent the active incidents it was
// told of every RefreshEvery, until they are resolved.
type Refresher interface {
	Notifier
	// RefreshEvery is how often the firing incidents are sent again
	// (positive).
	RefreshEvery() time.Duration
	// Refresh sends the incidents as they are now: the active ones as
	// firing, any resolved meanwhile as resolved. The bool says whether a
	// retry can help.
	Refresh(ctx context.Context, receiver string, incidents []Incident, now time.Time) (retry bool, err error)
}

// RefreshStore is what refreshing reads: the active incidents and whom
// each was told of.
type RefreshStore interface {
	Incidents(ctx context.Context, f Filter) ([]Incident, error)
	Incident(ctx context.Context, id int64) (*Incident, error)
	Told(ctx context.Context, incidentID int64) ([]string, error)
}

// RefreshOnce sends a receiver the active incidents it was told of, then
// re-reads them: one resolved between the read and the send (its
// resolution may have been delivered before this firing copy) is sent
// again as resolved, so the peer never keeps a firing copy of an ended
// incident. It returns how many incidents were refreshed.
func RefreshOnce(ctx context.Context, st RefreshStore, receiver string, r Refresher, now time.Time) (int, error) {
	active, err := st.Incidents(ctx, Filter{Status: []Status{StatusOpen, StatusAcknowledged}})
	if err != nil {
		return 0, err
	}
	var firing []Incident
	for _, inc := range active {
		told, err := st.Told(ctx, inc.ID)
		if err != nil {
			return 0, err
		}
		if slices.Contains(told, receiver) {
			firing = append(firing, inc)
		}
	}
	if len(firing) == 0 {
		return 0, nil
	}
	if _, err := r.Refresh(ctx, receiver, firing, now); err != nil {
		return 0, err
	}
	var ended []Incident
	for _, inc := range firing {
		cur, err := st.Incident(ctx, inc.ID)
		if err != nil {
			return len(firing), err
		}
		if !cur.Status.Active() {
			ended = append(ended, *cur)
		}
	}
	if len(ended) > 0 {
		if _, err := r.Refresh(ctx, receiver, ended, now); err != nil {
			return len(firing), err
		}
	}
	return len(firing), nil
}
