package alerting

import (
	"context"
	"errors"
	"testing"
	"time"
)

// refreshStore is an in-memory RefreshStore. recordingRefresher.onSend resolves an
// incident the first time a refresh is sent, as a resolution racing with
// the refresh would.
type refreshStore struct {
	incidents map[int64]*Incident
	told      map[int64][]string
}

func (s *refreshStore) Incidents(_ context.Context, f Filter) ([]Incident, error) {
	var out []Incident
	for _, inc := range s.incidents {
		for _, st := range f.Status {
			if inc.Status == st {
				out = append(out, *inc)
			}
		}
	}
	return out, nil
}

func (s *refreshStore) Incident(_ context.Context, id int64) (*Incident, error) {
	inc, ok := s.incidents[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := *inc
	return &c, nil
}

func (s *refreshStore) Told(_ context.Context, id int64) ([]string, error) { return s.told[id], nil }

type recordingRefresher struct {
	sent   [][]Incident
	onSend func()
	err    error
}

func (r *recordingRefresher) Notify(context.Context, Notification, *Incident) (bool, error) {
	return false, nil
}
func (r *recordingRefresher) RefreshEvery() time.Duration { return time.Minute }
func (r *recordingRefresher) Refresh(_ context.Context, _ string, incs []Incident, _ time.Time) (bool, error) {
	r.sent = append(r.sent, incs)
	if r.onSend != nil {
		r.onSend()
		r.onSend = nil
	}
	return true, r.err
}

func TestRefreshOnce(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	st := &refreshStore{
		incidents: map[int64]*Incident{
			1: {ID: 1, Status: StatusOpen},
			2: {ID: 2, Status: StatusAcknowledged},
			3: {ID: 3, Status: StatusResolved},
			4: {ID: 4, Status: StatusOpen}, // told to another receiver only
		},
		told: map[int64][]string{1: {"am", "mail"}, 2: {"am"}, 3: {"am"}, 4: {"mail"}},
	}
	r := &recordingRefresher{}
	n, err := RefreshOnce(context.Background(), st, "am", r, now)
	if err != nil || n != 2 {
		t.Fatalf("got %d, %v; want 2 refreshed", n, err)
	}
	if len(r.sent) != 1 || len(r.sent[0]) != 2 {
		t.Fatalf("sent %v, want one post of incidents 1 and 2", r.sent)
	}
	for _, inc := range r.sent[0] {
		if inc.ID != 1 && inc.ID != 2 {
			t.Errorf("refreshed incident %d: only active incidents told to am are", inc.ID)
		}
	}

	// Incident 1 resolves while the refresh is on its way: it is sent
	// again, resolved, so the peer does not keep the firing copy.
	r = &recordingRefresher{onSend: func() { st.incidents[1].Status = StatusResolved }}
	if _, err := RefreshOnce(context.Background(), st, "am", r, now); err != nil {
		t.Fatal(err)
	}
	if len(r.sent) != 2 || len(r.sent[1]) != 1 || r.sent[1][0].ID != 1 || r.sent[1][0].Status != StatusResolved {
		t.Fatalf("sent %v, want a second post with incident 1 resolved", r.sent)
	}

	// Nothing active: nothing sent. A failing peer: the error is returned.
	r = &recordingRefresher{err: errors.New("peer down")}
	if _, err := RefreshOnce(context.Background(), st, "mail", r, now); err == nil || len(r.sent) != 1 {
		t.Errorf("failing peer: got %v after %d posts, want the error", err, len(r.sent))
	}
	st.incidents[2].Status, st.incidents[4].Status = StatusResolved, StatusResolved
	r = &recordingRefresher{}
	if n, err := RefreshOnce(context.Background(), st, "am", r, now); n != 0 || err != nil || len(r.sent) != 0 {
		t.Errorf("nothing active: got %d, %v, %d posts", n, err, len(r.sent))
	}
}
