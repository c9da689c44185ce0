// Package servicenow raises incidents in ServiceNow through the Table API
// (table incident): one ServiceNow incident per Nines incident, found
// again by its correlation_id before one is created, so a retry after a
// crash never makes a second. Updates become work notes; resolving sets
// state 6 (Resolved) with a close code and notes, closing state 7,
// reopening state 2 (In Progress).
package servicenow

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify"
	"github.com/ninesmon/nines/internal/failpoint"
)

// Ticket is the ServiceNow incident an incident is linked to.
type Ticket struct{ ID, URL string }

// Notifier is one ServiceNow instance.
type Notifier struct {
	URL      string // https://<instance>.service-now.com
	User     string
	Password string
	// AssignmentGroup, when set, is the sys_id or name given to new
	// incidents.
	AssignmentGroup string
	CloseCode       string // default "Solved (Permanently)"
	Timeout         time.Duration
	Client          *http.Client
	OnTicket        func(ctx context.Context, incidentID int64, t Ticket)
}

// Fingerprint is the correlation_id of an incident.
func Fingerprint(incidentID int64) string { return notify.Fingerprint(incidentID) }

// impactUrgency is the ServiceNow impact and urgency (1 high ... 3 low)
// giving each priority through ServiceNow's default priority lookup.
var impactUrgency = map[alerting.Priority][2]string{
	alerting.P1: {"1", "1"}, alerting.P2: {"1", "2"}, alerting.P3: {"2", "2"}, alerting.P4: {"2", "3"},
}

func (n *Notifier) do(ctx context.Context, method, path string, body any) ([]byte, bool, error) {
	auth := base64.StdEncoding.EncodeToString([]byte(n.User + ":" + n.Password))
	return notify.DoJSON(ctx, n.Client, method, n.URL+path, "servicenow", body,
		map[string]string{"Authorization": "Basic " + auth, "Accept": "application/json"}, n.Timeout)
}

type record struct {
	SysID  string `json:"sys_id"`
	Number string `json:"number"`
	State  string `json:"state"`
}

// Notify implements alerting.Notifier.
func (n *Notifier) Notify(ctx context.Context, note alerting.Notification, inc *alerting.Incident) (bool, error) {
	fp := Fingerprint(inc.ID)
	q := url.Values{"sysparm_query": {"correlation_id=" + fp}, "sysparm_limit": {"1"}, "sysparm_fields": {"sys_id,number,state"}}
	body, retry, err := n.do(ctx, http.MethodGet, "/api/now/table/incident?"+q.Encode(), nil)
	if err != nil {
		return retry, err
	}
	var found struct {
		Result []record `json:"result"`
	}
	if err := json.Unmarshal(body, &found); err != nil {
		return true, fmt.Errorf("servicenow lookup: %w", err)
	}
	var rec record
	if len(found.Result) > 0 {
		rec = found.Result[0]
	} else {
		iu := impactUrgency[inc.Priority]
		if iu[0] == "" {
			iu = [2]string{"2", "2"}
		}
		fields := map[string]string{
			"short_description":   notify.Subject(inc, 160),
			"description":         notify.Description(inc, ""),
			"impact":              iu[0],
			"urgency":             iu[1],
			"correlation_id":      fp,
			"correlation_display": "Nines",
		}
		if n.AssignmentGroup != "" {
			fields["assignment_group"] = n.AssignmentGroup
		}
		failpoint.Hit("servicenow.before_create")
		body, retry, err := n.do(ctx, http.MethodPost, "/api/now/table/incident", fields)
		if err != nil {
			return retry, err
		}
		var created struct {
			Result record `json:"result"`
		}
		if err := json.Unmarshal(body, &created); err != nil || created.Result.SysID == "" {
			return true, fmt.Errorf("servicenow create: unexpected answer %.200s", body)
		}
		rec = created.Result
	}
	if n.OnTicket != nil {
		n.OnTicket(ctx, inc.ID, Ticket{ID: rec.Number, URL: n.URL + "/nav_to.do?uri=incident.do?sys_id=" + rec.SysID})
	}
	if note.Action == "opened" {
		return false, nil
	}
	text, _ := notify.UpdateText(note)
	update := map[string]string{"work_notes": text}
	switch note.Action {
	case "resolved":
		update["state"], update["close_code"], update["close_notes"] = "6", cmp.Or(n.CloseCode, "Solved (Permanently)"), "Resolved in Nines: "+text
	case "closed":
		update["state"] = "7"
	case "reopened":
		update["state"] = "2"
	case "severity":
		iu := impactUrgency[inc.Priority]
		update["impact"], update["urgency"] = iu[0], iu[1]
	}
	_, retry, err = n.do(ctx, http.MethodPatch, "/api/now/table/incident/"+rec.SysID, update)
	return retry, err
}

var _ alerting.TwoWay = (*Notifier)(nil)

// byNumber finds an incident by its number (the ticket id Nines keeps).
func (n *Notifier) byNumber(ctx context.Context, number string) (map[string]any, error) {
	q := url.Values{"sysparm_query": {"number=" + number}, "sysparm_limit": {"1"}, "sysparm_fields": {"sys_id,number,state,assigned_to"},
		"sysparm_display_value": {"all"}}
	body, _, err := n.do(ctx, http.MethodGet, "/api/now/table/incident?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	var res struct {
		Result []map[string]any `json:"result"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("servicenow incident %s: %w", number, err)
	}
	if len(res.Result) == 0 {
		return nil, fmt.Errorf("servicenow has no incident %s", number)
	}
	return res.Result[0], nil
}

// field reads a sysparm_display_value=all field: {"value", "display_value"}.
func field(rec map[string]any, name string) (value, display string) {
	f, _ := rec[name].(map[string]any)
	value, _ = f["value"].(string)
	display, _ = f["display_value"].(string)
	return value, display
}

// State implements alerting.TwoWay: states 6 (Resolved), 7 (Closed) and 8
// (Canceled) are closed; 2 (In Progress) or an assignee is taken.
func (n *Notifier) State(ctx context.Context, ticket string) (alerting.TicketState, error) {
	rec, err := n.byNumber(ctx, ticket)
	if err != nil {
		return alerting.TicketState{}, err
	}
	state, stateName := field(rec, "state")
	_, assignee := field(rec, "assigned_to")
	st := alerting.TicketState{Status: cmp.Or(stateName, state), Closed: state == "6" || state == "7" || state == "8", Assignee: assignee}
	st.InProgress = assignee != "" || state == "2"
	return st, nil
}

// Resolve implements alerting.TwoWay.
func (n *Notifier) Resolve(ctx context.Context, ticket, note string) error {
	rec, err := n.byNumber(ctx, ticket)
	if err != nil {
		return err
	}
	sysID, _ := field(rec, "sys_id")
	_, _, err = n.do(ctx, http.MethodPatch, "/api/now/table/incident/"+sysID, map[string]string{
		"state": "6", "close_code": cmp.Or(n.CloseCode, "Solved (Permanently)"), "close_notes": note, "work_notes": note})
	return err
}
