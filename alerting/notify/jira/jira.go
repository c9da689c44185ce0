// Package jira raises incidents as Jira issues through the REST API v2:
// one issue per incident, labelled with the incident's fingerprint and
// found again by a JQL search on that label before one is created, so a
// retry after a crash never makes a second. Updates become comments
// (tagged with the notification id and not added twice); resolving,
// closing and reopening apply the first transition whose target status
// has the configured name.
package jira

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify"
	"github.com/ninesmon/nines/internal/failpoint"
)

// Ticket is the Jira issue an incident is linked to.
type Ticket struct{ ID, URL string }

// Notifier is one Jira project.
type Notifier struct {
	URL string // base URL
	// User and Token: basic auth (Jira Cloud: e-mail and API token);
	// Token alone: a bearer personal access token (Data Center).
	User, Token string
	Project     string // key, e.g. OPS
	IssueType   string // default Task
	// Priorities map P1-P4 to Jira priority names; unmapped ones keep
	// the project's default.
	Priorities map[alerting.Priority]string
	// Statuses the transitions of resolved, closed and reopened
	// incidents lead to (default Done, Done, To Do).
	ResolvedStatus, ClosedStatus, ReopenedStatus string
	Timeout                                      time.Duration
	Client                                       *http.Client
	OnTicket                                     func(ctx context.Context, incidentID int64, t Ticket)
}

// Fingerprint is the label that identifies an incident's issue.
func Fingerprint(incidentID int64) string { return notify.Fingerprint(incidentID) }

func (n *Notifier) do(ctx context.Context, method, path string, body any) ([]byte, bool, error) {
	auth := "Bearer " + n.Token
	if n.User != "" {
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(n.User+":"+n.Token))
	}
	return notify.DoJSON(ctx, n.Client, method, n.URL+path, "jira", body, map[string]string{"Authorization": auth, "Accept": "application/json"}, n.Timeout)
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	fp := Fingerprint(inc.ID)
	jql := fmt.Sprintf(`project = "%s" AND labels = "%s"`, n.Project, fp)
	body, retry, err := n.do(ctx, http.MethodGet, "/rest/api/2/search?"+url.Values{"jql": {jql}, "maxResults": {"1"}, "fields": {"status"}}.Encode(), nil)
	if err != nil {
		return retry, err
	}
	var found struct {
		Issues []struct {
			Key string `json:"key"`
		} `json:"issues"`
	}
	if err := json.Unmarshal(body, &found); err != nil {
		return true, fmt.Errorf("jira search: %w", err)
	}
	var key string
	if len(found.Issues) > 0 {
		key = found.Issues[0].Key
	} else {
		fields := map[string]any{
			"project":     map[string]string{"key": n.Project},
			"summary":     notify.Subject(inc, 250),
			"description": notify.Description(inc, "* "),
			"issuetype":   map[string]string{"name": cmp.Or(n.IssueType, "Task")},
			"labels":      []string{fp, "nines"},
		}
		if p := n.Priorities[inc.Priority]; p != "" {
			fields["priority"] = map[string]string{"name": p}
		}
		failpoint.Hit("jira.before_create")
		body, retry, err := n.do(ctx, http.MethodPost, "/rest/api/2/issue", map[string]any{"fields": fields})
		if err != nil {
			return retry, err
		}
		var created struct {
			Key string `json:"key"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.Key == "" {
			return true, fmt.Errorf("jira create: unexpected answer %.200s", body)
		}
		key = created.Key
	}
	if n.OnTicket != nil {
		n.OnTicket(ctx, inc.ID, Ticket{ID: key, URL: n.URL + "/browse/" + key})
	}
	if note.Action == "opened" {
		return false, nil
	}
	if retry, err := n.comment(ctx, key, note); err != nil {
		return retry, err
	}
	status := map[string]string{"resolved": cmp.Or(n.ResolvedStatus, "Done"), "closed": cmp.Or(n.ClosedStatus, "Done"),
		"reopened": cmp.Or(n.ReopenedStatus, "To Do")}[note.Action]
	if status == "" {
		return false, nil
	}
	return n.transition(ctx, key, status)
}

// comment adds the update once: a redelivery finds its marker.
func (n *Notifier) comment(ctx context.Context, key string, note alerting.Notification) (bool, error) {
	text, marker := notify.UpdateText(note)
	return n.commentOnce(ctx, key, text, func(body string) bool { return strings.Contains(body, marker) })
}

// commentOnce adds text unless a comment already matches seen.
func (n *Notifier) commentOnce(ctx context.Context, key, text string, seen func(body string) bool) (bool, error) {
	body, retry, err := n.do(ctx, http.MethodGet, "/rest/api/2/issue/"+key+"/comment", nil)
	if err != nil {
		return retry, err
	}
	var res struct {
		Comments []struct {
			Body string `json:"body"`
		} `json:"comments"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return true, fmt.Errorf("jira comments of %s: %w", key, err)
	}
	for _, c := range res.Comments {
		if seen(c.Body) {
			return false, nil
		}
	}
	_, retry, err = n.do(ctx, http.MethodPost, "/rest/api/2/issue/"+key+"/comment", map[string]string{"body": text})
	return retry, err
}

// transition moves the issue to status, unless it is there already.
func (n *Notifier) transition(ctx context.Context, key, status string) (bool, error) {
	body, retry, err := n.do(ctx, http.MethodGet, "/rest/api/2/issue/"+key+"?fields=status", nil)
	if err != nil {
		return retry, err
	}
	var issue struct {
		Fields struct {
			Status struct {
				Name string `json:"name"`
			} `json:"status"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(body, &issue); err != nil {
		return true, fmt.Errorf("jira issue %s: %w", key, err)
	}
	if strings.EqualFold(issue.Fields.Status.Name, status) {
		return false, nil
	}
	body, retry, err = n.do(ctx, http.MethodGet, "/rest/api/2/issue/"+key+"/transitions", nil)
	if err != nil {
		return retry, err
	}
	var ts struct {
		Transitions []struct {
			ID string `json:"id"`
			To struct {
				Name string `json:"name"`
			} `json:"to"`
		} `json:"transitions"`
	}
	if err := json.Unmarshal(body, &ts); err != nil {
		return true, fmt.Errorf("jira transitions of %s: %w", key, err)
	}
	for _, tr := range ts.Transitions {
		if strings.EqualFold(tr.To.Name, status) {
			_, retry, err := n.do(ctx, http.MethodPost, "/rest/api/2/issue/"+key+"/transitions", map[string]any{"transition": map[string]string{"id": tr.ID}})
			return retry, err
		}
	}
	return false, fmt.Errorf("jira issue %s (%s): no transition to %q", key, issue.Fields.Status.Name, status)
}

var _ alerting.TwoWay = (*Notifier)(nil)

// State implements alerting.TwoWay: the issue's status category says
// whether it is done or in progress.
func (n *Notifier) State(ctx context.Context, ticket string) (alerting.TicketState, error) {
	body, _, err := n.do(ctx, http.MethodGet, "/rest/api/2/issue/"+url.PathEscape(ticket)+"?fields=status,assignee", nil)
	if err != nil {
		return alerting.TicketState{}, err
	}
	var issue struct {
		Fields struct {
			Status struct {
				Name           string `json:"name"`
				StatusCategory struct {
					Key string `json:"key"` // new, indeterminate, done
				} `json:"statusCategory"`
			} `json:"status"`
			Assignee *struct {
				DisplayName string `json:"displayName"`
			} `json:"assignee"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(body, &issue); err != nil {
		return alerting.TicketState{}, fmt.Errorf("jira issue %s: %w", ticket, err)
	}
	name := issue.Fields.Status.Name
	// The configured resolved and closed statuses count as done even in a
	// workflow that files them elsewhere: otherwise the reconciler would
	// resolve the issue again at every sync.
	done := issue.Fields.Status.StatusCategory.Key == "done" ||
		strings.EqualFold(name, cmp.Or(n.ResolvedStatus, "Done")) || (n.ClosedStatus != "" && strings.EqualFold(name, n.ClosedStatus))
	st := alerting.TicketState{Status: name, Closed: done}
	if a := issue.Fields.Assignee; a != nil {
		st.Assignee = a.DisplayName
	}
	st.InProgress = st.Assignee != "" || issue.Fields.Status.StatusCategory.Key == "indeterminate"
	return st, nil
}

// Resolve implements alerting.TwoWay: a comment (never twice), then the
// transition to the resolved status.
func (n *Notifier) Resolve(ctx context.Context, ticket, note string) error {
	if _, err := n.commentOnce(ctx, url.PathEscape(ticket), note, func(body string) bool { return body == note }); err != nil {
		return err
	}
	_, err := n.transition(ctx, ticket, cmp.Or(n.ResolvedStatus, "Done"))
	return err
}
