package alerting_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/rules"
)

// flakyTicketing is down until a time, then raises one ticket per incident
// and records the order of what it was told.
type flakyTicketing struct {
	downUntil time.Time
	now       *time.Time
	tickets   map[int64]int
	got       []string
}

func (f *flakyTicketing) Notify(_ context.Context, n alerting.Notification, inc *alerting.Incident) (bool, error) {
	if f.now.Before(f.downUntil) {
		return true, errors.New("503 Service Unavailable")
	}
	if n.Action == "opened" || f.tickets[inc.ID] == 0 {
		f.tickets[inc.ID]++
	}
	f.got = append(f.got, n.Action)
	return false, nil
}

// TestTicketingDownTenMinutes: the ticketing system fails for ten minutes
// while an incident opens and resolves; afterwards it has exactly one
// ticket, and the resolution arrived after the opening.
func TestTicketingDownTenMinutes(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	desk := &flakyTicketing{downUntil: t0.Add(10 * time.Minute), now: &now, tickets: map[int64]int{}}
	m, _ := alerting.NewManager(ctx, store, slog.New(slog.DiscardHandler))
	m.SetPolicy(alerting.DefaultPolicy())
	m.SetReceivers([]string{"desk"})
	d := alerting.NewDispatcher(store, map[string]alerting.Notifier{"desk": desk}, slog.New(slog.DiscardHandler), nil)
	d.Now = func() time.Time { return now }
	m.Alerts(ctx, t0, "g", []rules.Alert{{Group: "g", Rule: "R", State: rules.StateFiring, FiredAt: t0, Labels: labels.FromStrings("alertname", "R")}})
	for now = t0; now.Before(t0.Add(30 * time.Minute)); now = now.Add(time.Second) {
		if now.Equal(t0.Add(2 * time.Minute)) {
			m.Alerts(ctx, now, "g", nil) // resolved while the desk is still down
		}
		d.DeliverDue(ctx)
	}
	if len(desk.tickets) != 1 || desk.tickets[1] != 1 {
		t.Errorf("tickets %v, want one", desk.tickets)
	}
	if len(desk.got) != 2 || desk.got[0] != "opened" || desk.got[1] != "resolved" {
		t.Errorf("delivered %v, want opened then resolved", desk.got)
	}
}
