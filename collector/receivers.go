package collector

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/alertmanager"
	"github.com/ninesmon/nines/alerting/notify/email"
	"github.com/ninesmon/nines/alerting/notify/jira"
	"github.com/ninesmon/nines/alerting/notify/pagerduty"
	"github.com/ninesmon/nines/alerting/notify/redmine"
	"github.com/ninesmon/nines/alerting/notify/servicenow"
	"github.com/ninesmon/nines/alerting/notify/webhook"
	"github.com/ninesmon/nines/alerting/ticketsync"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// receivers is what the configured receivers build into: a notifier per
// receiver, and a ticket syncer per two-way receiver that asks for one.
type receivers struct {
	notifiers map[string]alerting.Notifier
	names     []string
	syncers   []*ticketsync.Syncer
}

// buildReceivers builds every configured receiver, and checks that each
// route names one of them, so a reload swaps in a complete set or none.
func buildReceivers(cfg *config.Config, st store.Tickets, actions ticketsync.Actions, logger *slog.Logger) (receivers, error) {
	rs := receivers{notifiers: map[string]alerting.Notifier{}}
	link := func(ctx context.Context, receiver string, incidentID int64, id, url string) {
		if err := st.LinkTicket(ctx, incidentID, alerting.Ticket{Receiver: receiver, ID: id, URL: url}); err != nil {
			logger.Error("link ticket", "incident_id", incidentID, "receiver", receiver, "err", err)
		}
	}
	sync := func(receiver string, system alerting.TwoWay, every *yamlconf.Duration) {
		if every == nil || every.D() <= 0 {
			return
		}
		rs.syncers = append(rs.syncers, &ticketsync.Syncer{Receiver: receiver, Every: every.D(), System: system,
			Store: ticketStore{st}, Actions: actions, Logger: logger.With("component", "ticket-sync")})
	}
	for _, r := range cfg.Receivers {
		name := r.Name
		switch {
		case r.Webhook != nil:
			wh := &webhook.Notifier{URL: r.Webhook.URL, Secret: []byte(r.Webhook.Secret.Reveal()), Timeout: r.Webhook.Timeout.D(),
				ContentType: r.Webhook.ContentType}
			if r.Webhook.Template != "" {
				tmpl, err := webhook.ParseTemplate(name, r.Webhook.Template)
				if err != nil {
					return receivers{}, fmt.Errorf("receiver %q: %w", name, err)
				}
				wh.Template = tmpl
			}
			rs.notifiers[name] = wh
		case r.Alertmanager != nil:
			am := r.Alertmanager
			rs.notifiers[name] = &alertmanager.Notifier{URL: strings.TrimRight(am.URL, "/"), Mode: alertmanager.Mode(am.Mode),
				BearerToken: am.BearerToken.Reveal(), Timeout: am.Timeout.D(), ExternalURL: am.ExternalURL}
		case r.PagerDuty != nil:
			rs.notifiers[name] = &pagerduty.Notifier{URL: r.PagerDuty.URL, RoutingKey: r.PagerDuty.RoutingKey.Reveal(), Timeout: r.PagerDuty.Timeout.D()}
		case r.ServiceNow != nil:
			sn := r.ServiceNow
			sno := &servicenow.Notifier{URL: strings.TrimRight(sn.URL, "/"), User: sn.User, Password: sn.Password.Reveal(),
				AssignmentGroup: sn.AssignmentGroup, CloseCode: sn.CloseCode, Timeout: sn.Timeout.D(),
				OnTicket: func(ctx context.Context, id int64, t servicenow.Ticket) { link(ctx, name, id, t.ID, t.URL) }}
			rs.notifiers[name] = sno
			sync(name, sno, sn.SyncInterval)
		case r.Email != nil:
			e := r.Email
			rs.notifiers[name] = &email.Notifier{Address: e.SMTP, From: e.From, To: e.To, Username: e.Username,
				Password: e.Password.Reveal(), TLS: e.TLS, Link: e.Link, Timeout: e.Timeout.D()}
		case r.Jira != nil:
			j := r.Jira
			prios := map[alerting.Priority]string{}
			for p, v := range j.Priorities {
				prios[alerting.Priority(p)] = v
			}
			jn := &jira.Notifier{URL: strings.TrimRight(j.URL, "/"), User: j.User, Token: j.Token.Reveal(), Project: j.Project,
				IssueType: j.IssueType, Priorities: prios, ResolvedStatus: j.ResolvedStatus, ClosedStatus: j.ClosedStatus,
				ReopenedStatus: j.ReopenedStatus, Timeout: j.Timeout.D(),
				OnTicket: func(ctx context.Context, id int64, t jira.Ticket) { link(ctx, name, id, t.ID, t.URL) }}
			rs.notifiers[name] = jn
			sync(name, jn, j.SyncInterval)
		case r.Redmine != nil:
			rm := r.Redmine
			prios := map[alerting.Priority]string{}
			for p, v := range rm.Priorities {
				prios[alerting.Priority(p)] = v
			}
			rn := &redmine.Notifier{URL: strings.TrimRight(rm.URL, "/"), APIKey: rm.APIKey.Reveal(), Project: rm.Project,
				FingerprintField: rm.FingerprintField, Priorities: prios, ResolvedStatus: rm.ResolvedStatus,
				ClosedStatus: rm.ClosedStatus, ReopenedStatus: rm.ReopenedStatus, Timeout: rm.Timeout.D(),
				OnTicket: func(ctx context.Context, id int64, t redmine.Ticket) { link(ctx, name, id, t.ID, t.URL) }}
			rs.notifiers[name] = rn
			sync(name, rn, rm.SyncInterval)
		default:
			return receivers{}, fmt.Errorf("receiver %q: no integration configured", name)
		}
		rs.names = append(rs.names, name)
	}
	for i, rt := range cfg.Routes {
		if rs.notifiers[rt.Receiver] == nil {
			return receivers{}, fmt.Errorf("routes[%d]: unknown receiver %q", i, rt.Receiver)
		}
	}
	if mr := cfg.Reports.Monthly; mr != nil && mr.Email != "" {
		if _, ok := rs.notifiers[mr.Email].(*email.Notifier); !ok {
			return receivers{}, fmt.Errorf("reports.monthly.email: %q is not an email receiver", mr.Email)
		}
	}
	return rs, nil
}

// ticketStore adapts the store to ticketsync.Store.
type ticketStore struct{ st store.Tickets }

func (t ticketStore) LinkedTickets(ctx context.Context, receiver string, since time.Time) ([]ticketsync.Link, error) {
	links, err := t.st.LinkedTickets(ctx, receiver, since)
	out := make([]ticketsync.Link, len(links))
	for i, l := range links {
		out[i] = ticketsync.Link{IncidentID: l.IncidentID, Ticket: l.Ticket, Status: l.Status}
	}
	return out, err
}

func (t ticketStore) Pending(ctx context.Context, incidentID int64, receiver string) (int, error) {
	return t.st.Pending(ctx, incidentID, receiver)
}

func routes(cfg *config.Config) []alerting.Route {
	out := make([]alerting.Route, 0, len(cfg.Routes))
	for _, r := range cfg.Routes {
		rt := alerting.Route{Receiver: r.Receiver, Match: r.Match, Repeat: r.RepeatInterval.D()}
		if r.Schedule != "" {
			rt.Schedule = cfg.Calendar(r.Schedule)
		}
		for _, p := range r.Priorities {
			rt.Priorities = append(rt.Priorities, alerting.Priority(p))
		}
		out = append(out, rt)
	}
	return out
}

// schedules are the configured calendars, for rules and routes.
func schedules(cfg *config.Config) map[string]alerting.Schedule {
	out := map[string]alerting.Schedule{}
	for _, c := range cfg.Calendars {
		out[c.Name] = cfg.Calendar(c.Name)
	}
	return out
}
