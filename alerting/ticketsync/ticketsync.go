// Package ticketsync follows the tickets two-way ticketing receivers
// (Redmine, Jira, ServiceNow) raised for incidents: a ticket closed there
// resolves its incident, one assigned or in progress acknowledges it;
// and, as a reconciler, a ticket still open for an incident Nines
// resolved is resolved. An incident whose notifications to that receiver
// are still queued is left alone until they are out, so a reopen on its
// way is not undone.
package ticketsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// Link is a ticket a receiver raised, with its incident's status now.
type Link struct {
	IncidentID int64
	Ticket     string
	Status     alerting.Status
}

// Store is what a Syncer reads. Implementations must be safe for
// concurrent use.
type Store interface {
	// LinkedTickets lists the receiver's tickets whose incidents are
	// active, or ended since the given time, newest first.
	LinkedTickets(ctx context.Context, receiver string, since time.Time) ([]Link, error)
	// Pending counts the incident's notifications to the receiver not
	// yet delivered nor given up.
	Pending(ctx context.Context, incidentID int64, receiver string) (int, error)
}

// Actions change incidents on behalf of the ticketing system (the
// incident manager).
type Actions interface {
	Acknowledge(ctx context.Context, id int64, actor, text string, now time.Time) error
	Resolve(ctx context.Context, id int64, actor, text string, now time.Time) error
}

// Syncer follows one receiver's tickets. Its fields are set before Run
// and not changed after.
type Syncer struct {
	Receiver string
	Every    time.Duration
	System   alerting.TwoWay
	Store    Store
	Actions  Actions
	Logger   *slog.Logger
	// Leads, when set, says whether this collector leads its HA pair;
	// only the leader follows tickets.
	Leads func() bool
}

// Run syncs every Every until ctx is done.
func (s *Syncer) Run(ctx context.Context) {
	t := time.NewTicker(s.Every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if s.Leads != nil && !s.Leads() {
				continue
			}
			if err := s.Once(ctx, now); err != nil && ctx.Err() == nil {
				s.Logger.Warn("ticket sync", "receiver", s.Receiver, "err", err)
			}
		}
	}
}

// Once reads every linked ticket of active incidents and of those ended
// in the last week, and acts on what changed.
func (s *Syncer) Once(ctx context.Context, now time.Time) error {
	links, err := s.Store.LinkedTickets(ctx, s.Receiver, now.Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	actor := "ticket:" + s.Receiver
	var errs []error
	for _, l := range links {
		if n, err := s.Store.Pending(ctx, l.IncidentID, s.Receiver); err != nil || n > 0 {
			continue
		}
		st, err := s.System.State(ctx, l.Ticket)
		if err != nil {
			errs = append(errs, fmt.Errorf("incident %d, issue %s: %w", l.IncidentID, l.Ticket, err))
			continue
		}
		active := l.Status == alerting.StatusOpen || l.Status == alerting.StatusAcknowledged
		switch {
		case active && st.Closed:
			err = s.Actions.Resolve(ctx, l.IncidentID, actor, fmt.Sprintf("ticket %s set to %s", l.Ticket, st.Status), now)
		case l.Status == alerting.StatusOpen && st.InProgress:
			why := "in progress"
			if st.Assignee != "" {
				why = "assigned to " + st.Assignee
			}
			err = s.Actions.Acknowledge(ctx, l.IncidentID, actor, fmt.Sprintf("ticket %s %s", l.Ticket, why), now)
		case !active && !st.Closed:
			err = s.System.Resolve(ctx, l.Ticket, fmt.Sprintf("Incident %d is %s in Nines; resolving the issue it left open.", l.IncidentID, l.Status))
			if err == nil {
				s.Logger.Info("reconciled an open ticket of an ended incident", "incident_id", l.IncidentID, "ticket", l.Ticket)
			}
		}
		if err != nil && !errors.Is(err, alerting.ErrConflict) {
			errs = append(errs, fmt.Errorf("incident %d: %w", l.IncidentID, err))
		}
	}
	return errors.Join(errs...)
}
