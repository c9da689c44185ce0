// Package redmine raises incidents as Redmine issues through its REST API,
// one issue per incident, never two: every call first looks the issue up
// by a fingerprint custom field ("nines-incident-<id>"), so a retry after a
// crash finds the issue it created instead of opening another. Updates
// (acknowledged, comments, severity) become notes, each tagged with its
// notification id and skipped when the issue already has it; resolve,
// close and reopen set the configured statuses.
package redmine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify"
	"github.com/ninesmon/nines/internal/failpoint"
)

// Ticket is the issue an incident is linked to.
type Ticket struct {
	ID  string
	URL string
}

// Notifier is one Redmine project.
type Notifier struct {
	URL     string // base URL, no trailing slash
	APIKey  string
	Project string // identifier
	// FingerprintField names the issue custom field (string, filterable)
	// that holds the fingerprint.
	FingerprintField string
	// Priorities map P1-P4 to Redmine priority names; missing ones use
	// Redmine's default priority.
	Priorities map[alerting.Priority]string
	// Statuses for resolved, closed and reopened incidents.
	ResolvedStatus, ClosedStatus, ReopenedStatus string
	Timeout                                      time.Duration
	Client                                       *http.Client
	// OnTicket is told the issue of an incident (to link it in the UI).
	OnTicket func(ctx context.Context, incidentID int64, t Ticket)

	mu      sync.Mutex
	fieldID int
	names   map[string]map[string]int // "priority"/"status": name -> id
	closed  map[int]bool              // status id -> is_closed
}

// Fingerprint is what identifies an incident's issue.
func Fingerprint(incidentID int64) string {
	return "nines-incident-" + strconv.FormatInt(incidentID, 10)
}

func (n *Notifier) do(ctx context.Context, method, path string, body any) ([]byte, bool, error) {
	return notify.DoJSON(ctx, n.Client, method, n.URL+path, "redmine", body, map[string]string{"X-Redmine-API-Key": n.APIKey}, n.Timeout)
}

// lookups resolves the custom field, priority and status names once.
func (n *Notifier) lookups(ctx context.Context) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.names != nil {
		return false, nil
	}
	var fields struct {
		CustomFields []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"custom_fields"`
	}
	var prios struct {
		IssuePriorities []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"issue_priorities"`
	}
	var statuses struct {
		IssueStatuses []struct {
			ID       int    `json:"id"`
			Name     string `json:"name"`
			IsClosed bool   `json:"is_closed"`
		} `json:"issue_statuses"`
	}
	for path, v := range map[string]any{"/custom_fields.json": &fields, "/enumerations/issue_priorities.json": &prios, "/issue_statuses.json": &statuses} {
		body, retry, err := n.do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return retry, err
		}
		if err := json.Unmarshal(body, v); err != nil {
			return true, fmt.Errorf("redmine %s: %w", path, err)
		}
	}
	for _, f := range fields.CustomFields {
		if f.Name == n.FingerprintField {
			n.fieldID = f.ID
		}
	}
	if n.fieldID == 0 {
		return false, fmt.Errorf("redmine has no issue custom field %q for the fingerprint", n.FingerprintField)
	}
	names := map[string]map[string]int{"priority": {}, "status": {}}
	for _, p := range prios.IssuePriorities {
		names["priority"][strings.ToLower(p.Name)] = p.ID
	}
	n.closed = map[int]bool{}
	for _, s := range statuses.IssueStatuses {
		names["status"][strings.ToLower(s.Name)] = s.ID
		n.closed[s.ID] = s.IsClosed
	}
	for _, st := range []string{n.ResolvedStatus, n.ClosedStatus, n.ReopenedStatus} {
		if _, ok := names["status"][strings.ToLower(st)]; !ok {
			return false, fmt.Errorf("redmine has no issue status %q", st)
		}
	}
	n.names = names
	return false, nil
}

type issue struct {
	ID     int `json:"id"`
	Status struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"status"`
	AssignedTo *struct {
		Name string `json:"name"`
	} `json:"assigned_to"`
	Journals []journal `json:"journals"`
}

type journal struct {
	Notes string `json:"notes"`
}

// find returns the incident's issue, or nil.
func (n *Notifier) find(ctx context.Context, fp string) (*issue, bool, error) {
	q := url.Values{"project_id": {n.Project}, "status_id": {"*"}, fmt.Sprintf("cf_%d", n.fieldID): {fp}}
	body, retry, err := n.do(ctx, http.MethodGet, "/issues.json?"+q.Encode(), nil)
	if err != nil {
		return nil, retry, err
	}
	var res struct {
		Issues []issue `json:"issues"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, true, fmt.Errorf("redmine issues: %w", err)
	}
	if len(res.Issues) == 0 {
		return nil, false, nil
	}
	return &res.Issues[0], false, nil
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	if retry, err := n.lookups(ctx); err != nil {
		return retry, err
	}
	fp := Fingerprint(inc.ID)
	is, retry, err := n.find(ctx, fp)
	if err != nil {
		return retry, err
	}
	if is == nil {
		failpoint.Hit("redmine.before_create")
		if is, retry, err = n.create(ctx, inc, fp); err != nil {
			return retry, err
		}
		failpoint.Hit("redmine.after_create") // created, its id not saved
	}
	if n.OnTicket != nil {
		n.OnTicket(ctx, inc.ID, Ticket{ID: "#" + strconv.Itoa(is.ID), URL: fmt.Sprintf("%s/issues/%d", n.URL, is.ID)})
	}
	if note.Action == "opened" {
		return false, nil
	}
	return n.update(ctx, is.ID, note, inc)
}

func (n *Notifier) create(ctx context.Context, inc *alerting.Incident, fp string) (*issue, bool, error) {
	fields := map[string]any{
		"project_id":    n.Project,
		"subject":       notify.Subject(inc, 255),
		"description":   notify.Description(inc, "* "),
		"custom_fields": []map[string]any{{"id": n.fieldID, "value": fp}},
	}
	if id, ok := n.names["priority"][strings.ToLower(n.Priorities[inc.Priority])]; ok {
		fields["priority_id"] = id
	}
	body, retry, err := n.do(ctx, http.MethodPost, "/issues.json", map[string]any{"issue": fields})
	if err != nil {
		return nil, retry, err
	}
	var res struct {
		Issue issue `json:"issue"`
	}
	if err := json.Unmarshal(body, &res); err != nil || res.Issue.ID == 0 {
		return nil, true, fmt.Errorf("redmine create issue: unexpected answer %.200s", body)
	}
	return &res.Issue, false, nil
}

func (n *Notifier) update(ctx context.Context, id int, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	text, marker := notify.UpdateText(note)
	body, retry, err := n.do(ctx, http.MethodGet, fmt.Sprintf("/issues/%d.json?include=journals", id), nil)
	if err != nil {
		return retry, err
	}
	var res struct {
		Issue issue `json:"issue"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return true, fmt.Errorf("redmine issue %d: %w", id, err)
	}
	for _, j := range res.Issue.Journals {
		if strings.Contains(j.Notes, marker) {
			return false, nil // delivered before a crash: not twice
		}
	}
	fields := map[string]any{"notes": text}
	alreadyClosed := n.closed[res.Issue.Status.ID]
	switch note.Action {
	case "resolved":
		if !alreadyClosed { // closed in Redmine first: leave it closed
			fields["status_id"] = n.names["status"][strings.ToLower(n.ResolvedStatus)]
		}
	case "closed":
		if !alreadyClosed {
			fields["status_id"] = n.names["status"][strings.ToLower(n.ClosedStatus)]
		}
	case "reopened":
		fields["status_id"] = n.names["status"][strings.ToLower(n.ReopenedStatus)]
	case "severity":
		if pid, ok := n.names["priority"][strings.ToLower(n.Priorities[inc.Priority])]; ok {
			fields["priority_id"] = pid
		}
	}
	_, retry, err = n.do(ctx, http.MethodPut, fmt.Sprintf("/issues/%d.json", id), map[string]any{"issue": fields})
	return retry, err
}

// AcknowledgingStatuses are the statuses that acknowledge an incident
// (besides an assignee).
var AcknowledgingStatuses = []string{"in progress", "feedback"}

func issueID(ticket string) (int, error) {
	id, err := strconv.Atoi(strings.TrimPrefix(ticket, "#"))
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("redmine: %q is not an issue number", ticket)
	}
	return id, nil
}

var _ alerting.TwoWay = (*Notifier)(nil)

// State implements alerting.TwoWay.
func (n *Notifier) State(ctx context.Context, ticket string) (alerting.TicketState, error) {
	if _, err := n.lookups(ctx); err != nil {
		return alerting.TicketState{}, err
	}
	id, err := issueID(ticket)
	if err != nil {
		return alerting.TicketState{}, err
	}
	body, _, err := n.do(ctx, http.MethodGet, fmt.Sprintf("/issues/%d.json", id), nil)
	if err != nil {
		return alerting.TicketState{}, err
	}
	var res struct {
		Issue issue `json:"issue"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return alerting.TicketState{}, fmt.Errorf("redmine issue %d: %w", id, err)
	}
	st := alerting.TicketState{Status: res.Issue.Status.Name, Closed: n.done(res.Issue.Status.ID)}
	if res.Issue.AssignedTo != nil {
		st.Assignee = res.Issue.AssignedTo.Name
	}
	st.InProgress = st.Assignee != "" || slices.Contains(AcknowledgingStatuses, strings.ToLower(st.Status))
	return st, nil
}

// done tells whether an issue status means the incident is over: one
// Redmine counts as closed, or the configured resolved or closed status
// (Redmine's default "Resolved" is not a closed status, yet setting it is
// how Nines resolves an issue).
func (n *Notifier) done(statusID int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.names["status"]
	return n.closed[statusID] || statusID == st[strings.ToLower(n.ResolvedStatus)] || statusID == st[strings.ToLower(n.ClosedStatus)]
}

// Resolve sets a linked issue to the resolved status with a note (the
// reconciler: no ticket left open by Nines). It is idempotent: an issue
// already resolved or closed is left alone, and a note already on the
// issue is never added again.
func (n *Notifier) Resolve(ctx context.Context, ticket, note string) error {
	if _, err := n.lookups(ctx); err != nil {
		return err
	}
	id, err := issueID(ticket)
	if err != nil {
		return err
	}
	body, _, err := n.do(ctx, http.MethodGet, fmt.Sprintf("/issues/%d.json?include=journals", id), nil)
	if err != nil {
		return err
	}
	var res struct {
		Issue issue `json:"issue"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return fmt.Errorf("redmine issue %d: %w", id, err)
	}
	if n.done(res.Issue.Status.ID) {
		return nil
	}
	fields := map[string]any{"status_id": n.names["status"][strings.ToLower(n.ResolvedStatus)]}
	if !slices.ContainsFunc(res.Issue.Journals, func(j journal) bool { return j.Notes == note }) {
		fields["notes"] = note
	}
	_, _, err = n.do(ctx, http.MethodPut, fmt.Sprintf("/issues/%d.json", id), map[string]any{"issue": fields})
	return err
}
