package ticketsync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/redmine"
	"github.com/ninesmon/nines/alerting/notify/redmine/redminetest"
	"github.com/ninesmon/nines/alerting/ticketsync"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/rules"
)

type redmineClient struct {
	t                  *testing.T
	base, key, project string
}

func (r redmineClient) call(method, path string, body any, v any) {
	r.t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, r.base+path, rd)
	req.Header.Set("X-Redmine-API-Key", r.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		r.t.Fatalf("%s %s: %s", method, path, resp.Status)
	}
	if v != nil {
		json.NewDecoder(resp.Body).Decode(v)
	}
}

type redmineIssue struct {
	ID      int
	Subject string
	Status  struct{ Name string }
}

func (r redmineClient) issues() []redmineIssue {
	var res struct{ Issues []redmineIssue }
	r.call("GET", "/issues.json?status_id=*&project_id="+r.project, nil, &res)
	return res.Issues
}

func (r redmineClient) setStatus(issue int, status string) {
	var st struct {
		IssueStatuses []struct {
			ID   int
			Name string
		} `json:"issue_statuses"`
	}
	r.call("GET", "/issue_statuses.json", nil, &st)
	for _, s := range st.IssueStatuses {
		if s.Name == status {
			r.call("PUT", fmt.Sprintf("/issues/%d.json", issue), map[string]any{"issue": map[string]any{"status_id": s.ID}}, nil)
			return
		}
	}
	r.t.Fatalf("no status %q", status)
}

func eventuallyTrue(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s (%s)", what, detail)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// linkStore adapts the SQLite store to ticketsync.Store, as the
// collector does.
type linkStore struct{ *sqlite.Store }

func (s linkStore) LinkedTickets(ctx context.Context, receiver string, since time.Time) ([]ticketsync.Link, error) {
	links, err := s.Store.LinkedTickets(ctx, receiver, since)
	out := make([]ticketsync.Link, len(links))
	for i, l := range links {
		out[i] = ticketsync.Link{IncidentID: l.IncidentID, Ticket: l.Ticket, Status: l.Status}
	}
	return out, err
}

// TestIncidentsInRedmine runs the incident manager, the dispatcher and a
// syncer with a Redmine receiver against a real Redmine: each incident
// raises one linked issue; the issue taken in progress in Redmine
// acknowledges the incident and closed there resolves it; an incident
// the rule resolves resolves its issue, and an issue reopened by hand
// after that is resolved again by the reconciler.
func TestIncidentsInRedmine(t *testing.T) {
	base, key, project := redminetest.Start(t)
	rm := redmineClient{t, base, key, project}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	m, err := alerting.NewManager(ctx, store, logger)
	if err != nil {
		t.Fatal(err)
	}
	m.SetReceivers([]string{"servicedesk"})
	m.SetRoutes([]alerting.Route{{Receiver: "servicedesk"}})
	notifier := &redmine.Notifier{URL: base, APIKey: key, Project: project, FingerprintField: "Alert fingerprint",
		Priorities:     map[alerting.Priority]string{"P1": "Immediate", "P2": "Urgent", "P3": "High", "P4": "Normal"},
		ResolvedStatus: "Resolved", ClosedStatus: "Closed", ReopenedStatus: "New", Timeout: 10 * time.Second,
		OnTicket: func(ctx context.Context, id int64, tk redmine.Ticket) {
			if err := store.LinkTicket(ctx, id, alerting.Ticket{Receiver: "servicedesk", ID: tk.ID, URL: tk.URL}); err != nil {
				t.Errorf("link ticket: %v", err)
			}
		}}
	d := alerting.NewDispatcher(store, map[string]alerting.Notifier{"servicedesk": notifier}, logger, nil)
	syncer := &ticketsync.Syncer{Receiver: "servicedesk", Every: 200 * time.Millisecond, System: notifier, Store: linkStore{store},
		Actions: m, Logger: logger}
	done := make(chan struct{}, 2)
	go func() { _ = d.Run(ctx, 100*time.Millisecond); done <- struct{}{} }()
	go func() { syncer.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		<-done
		<-done
		store.Close()
	})
	firing := map[string]bool{}
	put := func(host string, v float64) {
		firing[host] = v > 0
		var alerts []rules.Alert
		for _, h := range []string{"a", "b"} {
			if firing[h] {
				alerts = append(alerts, rules.Alert{Group: "g", Rule: "BackupFailed", State: rules.StateFiring, FiredAt: time.Now(),
					Labels:      labels.FromStrings("alertname", "BackupFailed", "host", h, "priority", "P2", "service", "erp"),
					Annotations: map[string]string{"summary": "Backup failed on " + h}})
			}
		}
		m.Alerts(ctx, time.Now(), "g", alerts)
	}
	put("a", 1)
	put("b", 1)
	byHost := map[string]alerting.Incident{}
	eventuallyTrue(t, "two incidents, each with a linked issue", func() (bool, string) {
		list, _ := store.Incidents(ctx, alerting.Filter{})
		linked := 0
		for _, inc := range list {
			byHost[inc.Labels["host"]] = inc
			if ts, _ := store.Tickets(ctx, inc.ID); len(ts) == 1 && strings.HasPrefix(ts[0].URL, base+"/issues/") {
				linked++
			}
		}
		return len(list) == 2 && linked == 2, fmt.Sprintf("%d incidents, %d linked", len(list), linked)
	})
	issueOf := func(host string) int {
		ts, _ := store.Tickets(ctx, byHost[host].ID)
		var id int
		fmt.Sscanf(ts[0].ID, "#%d", &id)
		return id
	}
	if is := rm.issues(); len(is) != 2 || !slices.ContainsFunc(is, func(i redmineIssue) bool { return i.Subject == "[P2] Backup failed on a" }) {
		t.Fatalf("issues %+v", is)
	}
	incident := func(host string) *alerting.Incident {
		inc, _ := store.Incident(ctx, byHost[host].ID)
		return inc
	}

	// Taken in progress in Redmine: acknowledged in Nines, by Redmine.
	rm.setStatus(issueOf("a"), "In Progress")
	eventuallyTrue(t, "incident a acknowledged from Redmine", func() (bool, string) {
		inc := incident("a")
		return inc.Status == alerting.StatusAcknowledged && inc.AcknowledgedBy == "ticket:servicedesk", string(inc.Status) + " by " + inc.AcknowledgedBy
	})
	// Closed in Redmine: resolved in Nines.
	rm.setStatus(issueOf("a"), "Closed")
	eventuallyTrue(t, "incident a resolved from Redmine", func() (bool, string) {
		evs, _ := store.Events(ctx, byHost["a"].ID)
		for _, e := range evs {
			if e.Action == "resolved" && e.Actor == "ticket:servicedesk" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", evs)
	})

	// b clears: the rule resolves the incident, the issue follows.
	put("b", 0)
	issueStatus := func(id int) string {
		for _, i := range rm.issues() {
			if i.ID == id {
				return i.Status.Name
			}
		}
		return "missing"
	}
	eventuallyTrue(t, "issue b resolved after the incident", func() (bool, string) {
		s := issueStatus(issueOf("b"))
		inc := incident("b")
		evs, _ := store.Events(ctx, inc.ID)
		ds, _ := store.Deliveries(ctx, inc.ID)
		return s == "Resolved", fmt.Sprintf("issue %s, incident %s, events %+v, deliveries %+v", s, inc.Status, evs, ds)
	})
	// Reopened by hand in Redmine although the incident is over: the
	// reconciler resolves it again.
	rm.setStatus(issueOf("b"), "New")
	eventuallyTrue(t, "issue b reconciled", func() (bool, string) {
		s := issueStatus(issueOf("b"))
		return s == "Resolved", s
	})
	if n := len(rm.issues()); n != 2 {
		t.Errorf("issues in the end: %d, want 2", n)
	}
}
