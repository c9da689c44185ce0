package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/store"
)

// ticketSync follows the tickets a two-way ticketing receiver (Redmine,
// Jira, ServiceNow) raised:
// a ticket closed there resolves its incident, one assigned or in
// progress acknowledges it; and, as a reconciler, a ticket still open for
// an incident Nines resolved is resolved. An incident whose notifications
// to that receiver are still queued is left alone until they are out, so
// a reopen on its way is not undone.
type ticketSync struct {
	receiver string
	every    time.Duration
	system   alerting.TwoWay
	store    store.Tickets
	actions  interface {
		Acknowledge(ctx context.Context, id int64, actor, text string, now time.Time) error
		Resolve(ctx context.Context, id int64, actor, text string, now time.Time) error
	}
	logger *slog.Logger
}

func (s *ticketSync) run(ctx context.Context) {
	t := time.NewTicker(s.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if err := s.once(ctx, now); err != nil && ctx.Err() == nil {
				s.logger.Warn("ticket sync", "receiver", s.receiver, "err", err)
			}
		}
	}
}

// once reads every linked ticket of active incidents and of those ended
// in the last week.
func (s *ticketSync) once(ctx context.Context, now time.Time) error {
	links, err := s.store.LinkedTickets(ctx, s.receiver, now.Add(-7*24*time.Hour))
	if err != nil {
		return err
	}
	actor := "ticket:" + s.receiver
	var errs []error
	for _, l := range links {
		if n, err := s.store.Pending(ctx, l.IncidentID, s.receiver); err != nil || n > 0 {
			continue
		}
		st, err := s.system.State(ctx, l.Ticket)
		if err != nil {
			errs = append(errs, fmt.Errorf("incident %d, issue %s: %w", l.IncidentID, l.Ticket, err))
			continue
		}
		active := l.Status == alerting.StatusOpen || l.Status == alerting.StatusAcknowledged
		switch {
		case active && st.Closed:
			err = s.actions.Resolve(ctx, l.IncidentID, actor, fmt.Sprintf("ticket %s set to %s", l.Ticket, st.Status), now)
		case l.Status == alerting.StatusOpen && st.InProgress:
			why := "in progress"
			if st.Assignee != "" {
				why = "assigned to " + st.Assignee
			}
			err = s.actions.Acknowledge(ctx, l.IncidentID, actor, fmt.Sprintf("ticket %s %s", l.Ticket, why), now)
		case !active && !st.Closed:
			err = s.system.Resolve(ctx, l.Ticket, fmt.Sprintf("Incident %d is %s in Nines; resolving the issue it left open.", l.IncidentID, l.Status))
			if err == nil {
				s.logger.Info("reconciled an open ticket of an ended incident", "incident_id", l.IncidentID, "ticket", l.Ticket)
			}
		}
		if err != nil && !errors.Is(err, alerting.ErrConflict) {
			errs = append(errs, fmt.Errorf("incident %d: %w", l.IncidentID, err))
		}
	}
	return errors.Join(errs...)
}
