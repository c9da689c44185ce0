package ticketsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

type fakeStore struct {
	links   []Link
	pending map[int64]int
}

func (f *fakeStore) LinkedTickets(context.Context, string, time.Time) ([]Link, error) {
	return f.links, nil
}
func (f *fakeStore) Pending(_ context.Context, id int64, _ string) (int, error) {
	return f.pending[id], nil
}

type fakeSystem struct {
	states   map[string]alerting.TicketState
	resolved []string
}

func (f *fakeSystem) State(_ context.Context, ticket string) (alerting.TicketState, error) {
	st, ok := f.states[ticket]
	if !ok {
		return st, errors.New("no such ticket")
	}
	return st, nil
}

func (f *fakeSystem) Resolve(_ context.Context, ticket, _ string) error {
	f.resolved = append(f.resolved, ticket)
	return nil
}

type fakeActions struct{ did []string }

func (f *fakeActions) Acknowledge(_ context.Context, id int64, actor, text string, _ time.Time) error {
	f.did = append(f.did, fmt.Sprintf("ack %d by %s: %s", id, actor, text))
	return nil
}

func (f *fakeActions) Resolve(_ context.Context, id int64, actor, text string, _ time.Time) error {
	f.did = append(f.did, fmt.Sprintf("resolve %d by %s: %s", id, actor, text))
	return alerting.ErrConflict // resolved meanwhile: not an error for the sync
}

// TestOnce: a closed ticket resolves its active incident, one in progress
// acknowledges an open one, a ticket left open for an ended incident is
// resolved, and an incident with notifications still queued is left
// alone; a ticket that cannot be read is an error that names it.
func TestOnce(t *testing.T) {
	st := &fakeStore{links: []Link{
		{1, "#1", alerting.StatusOpen},
		{2, "#2", alerting.StatusOpen},
		{3, "#3", alerting.StatusResolved},
		{4, "#4", alerting.StatusOpen}, // a reopen still queued
		{5, "#5", alerting.StatusAcknowledged},
		{6, "#gone", alerting.StatusOpen},
	}, pending: map[int64]int{4: 1}}
	sys := &fakeSystem{states: map[string]alerting.TicketState{
		"#1": {Closed: true, Status: "Closed"},
		"#2": {InProgress: true, Assignee: "alice"},
		"#3": {Status: "New"},
		"#4": {Closed: true},
		"#5": {InProgress: true}, // already acknowledged: nothing to do
	}}
	act := &fakeActions{}
	s := &Syncer{Receiver: "desk", System: sys, Store: st, Actions: act, Logger: slog.New(slog.DiscardHandler)}
	err := s.Once(context.Background(), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if err == nil || fmt.Sprint(err) != "incident 6, issue #gone: no such ticket" {
		t.Errorf("error: got %v", err)
	}
	want := []string{"resolve 1 by ticket:desk: ticket #1 set to Closed", "ack 2 by ticket:desk: ticket #2 assigned to alice"}
	if !slices.Equal(act.did, want) {
		t.Errorf("actions: got %q, want %q", act.did, want)
	}
	if !slices.Equal(sys.resolved, []string{"#3"}) {
		t.Errorf("tickets resolved by the reconciler: got %v, want [#3]", sys.resolved)
	}
}
