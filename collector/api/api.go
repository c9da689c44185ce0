// Package api is the collector's REST API (JSON, /api/v1/...). Every
// endpoint needs a bearer token; see package auth for roles.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

// Targets lists tracked targets.
type Targets interface {
	// Select returns the targets keep accepts (all when nil), sorted by
	// name; keep must only read its target (state.Tracker.Select).
	Select(keep func(*state.Target) bool) []state.Target
}

// Alerts lists the rules' pending and firing alerts.
type Alerts interface {
	Alerts() []rules.Alert
}

// Actions are what operators do to incidents.
type Actions interface {
	Acknowledge(ctx context.Context, id int64, actor, text string, now time.Time) error
	Resolve(ctx context.Context, id int64, actor, text string, now time.Time) error
	Close(ctx context.Context, id int64, actor, text string, now time.Time) error
	Reopen(ctx context.Context, id int64, actor, text string, now time.Time) error
	Comment(ctx context.Context, id int64, actor, text string, now time.Time) error
	Assign(ctx context.Context, id int64, actor, assignee string, now time.Time) error
}

// Maintenance lists, creates and ends maintenance windows.
type Maintenance interface {
	// Windows lists the configured windows and those created through
	// the API that end after since.
	Windows(ctx context.Context, since time.Time) ([]state.Window, error)
	Create(ctx context.Context, w *state.Window) error
	// End ends an API-created window at now.
	End(ctx context.Context, id int64, by string, now time.Time) error
}

// Notifications tell what receivers were told of an incident and the
// tickets they raised.
type Notifications interface {
	Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error)
	Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error)
}

// API serves /api/v1.
type API struct {
	Incidents     alerting.Store
	Actions       Actions
	Targets       Targets
	Alerts        Alerts
	Maintenance   Maintenance
	Audit         audit.Log
	Notifications Notifications
	Auth          *auth.Authenticator
	Logger        *slog.Logger
}

// Register adds the API routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/incidents", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.listIncidents)))
	mux.Handle("GET /api/v1/incidents/{id}", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.getIncident)))
	mux.Handle("GET /api/v1/incidents/{id}/timeline", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.timeline)))
	mux.Handle("GET /api/v1/incidents/{id}/notifications", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.notifications)))
	mux.Handle("POST /api/v1/incidents/{id}/{action}", a.Auth.Require(config.RoleOperator, http.HandlerFunc(a.incidentAction)))
	mux.Handle("GET /api/v1/targets", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.listTargets)))
	mux.Handle("GET /api/v1/alerts", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.listAlerts)))
	mux.Handle("GET /api/v1/maintenance", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.listMaintenance)))
	mux.Handle("POST /api/v1/maintenance", a.Auth.Require(config.RoleOperator, http.HandlerFunc(a.createMaintenance)))
	mux.Handle("POST /api/v1/maintenance/{id}/end", a.Auth.Require(config.RoleOperator, http.HandlerFunc(a.endMaintenance)))
	mux.Handle("GET /api/v1/audit", a.Auth.Require(config.RoleAdmin, http.HandlerFunc(a.listAudit)))
	mux.Handle("GET /api/v1/sd/prometheus", a.Auth.Require(config.RoleViewer, http.HandlerFunc(a.prometheusSD)))
	// Every other path under /api answers as the API does, in JSON (a
	// path that exists under another method lands here too: 404, not 405).
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "no API endpoint "+r.Method+" "+r.URL.Path)
	})
}

type envelope struct {
	Data  any    `json:"data,omitempty"`
	Error string `json:"error,omitempty"`
}

// WriteJSON writes v as the data of a JSON response.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(envelope{Data: v})
}

// WriteError writes a JSON error response.
func WriteError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(envelope{Error: msg})
}

func (a *API) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f alerting.Filter
	for _, s := range splitList(q["status"]) {
		st := alerting.Status(s)
		switch st {
		case alerting.StatusOpen, alerting.StatusAcknowledged, alerting.StatusResolved, alerting.StatusClosed:
			f.Status = append(f.Status, st)
		case "active":
			f.Status = append(f.Status, alerting.StatusOpen, alerting.StatusAcknowledged)
		default:
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("status: unknown value %q (want open, acknowledged, resolved, closed or active)", s))
			return
		}
	}
	for _, s := range splitList(q["priority"]) {
		p := alerting.Priority(strings.ToUpper(s))
		if !slices.Contains(alerting.Priorities, p) {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("priority: unknown value %q (want P1 to P4)", s))
			return
		}
		f.Priority = append(f.Priority, p)
	}
	var ok bool
	if f.Limit, ok = limit(w, q, 500); !ok {
		return
	}
	list, err := a.Incidents.Incidents(r.Context(), f)
	if err != nil {
		a.Logger.Error("list incidents", "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read incidents")
		return
	}
	if list == nil {
		list = []alerting.Incident{}
	}
	WriteJSON(w, http.StatusOK, list)
}

func (a *API) getIncident(w http.ResponseWriter, r *http.Request) {
	if inc, ok := a.incident(w, r); ok {
		WriteJSON(w, http.StatusOK, inc)
	}
}

// incident reads the incident the path's {id} names, or answers 400
// (not a number), 404 (no such incident) or 500.
func (a *API) incident(w http.ResponseWriter, r *http.Request) (*alerting.Incident, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "incident id must be a number")
		return nil, false
	}
	inc, err := a.Incidents.Incident(r.Context(), id)
	switch {
	case errors.Is(err, alerting.ErrNotFound):
		WriteError(w, http.StatusNotFound, fmt.Sprintf("incident %d not found", id))
		return inc, false
	case err != nil:
		a.Logger.Error("get incident", "incident_id", id, "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read incident")
		return inc, false
	}
	return inc, true
}

func (a *API) timeline(w http.ResponseWriter, r *http.Request) {
	inc, ok := a.incident(w, r)
	if !ok {
		return
	}
	id := inc.ID
	evs, err := a.Incidents.Events(r.Context(), id)
	if err != nil {
		a.Logger.Error("incident timeline", "incident_id", id, "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read the timeline")
		return
	}
	if evs == nil {
		evs = []alerting.Event{}
	}
	WriteJSON(w, http.StatusOK, evs)
}

// notifications serves GET /api/v1/incidents/{id}/notifications: every
// notification with its delivery state (failures stay visible) and the
// tickets raised.
func (a *API) notifications(w http.ResponseWriter, r *http.Request) {
	inc, ok := a.incident(w, r)
	if !ok {
		return
	}
	id := inc.ID
	ds, err := a.Notifications.Deliveries(r.Context(), id)
	if err != nil {
		a.Logger.Error("incident notifications", "incident_id", id, "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read the notifications")
		return
	}
	ts, err := a.Notifications.Tickets(r.Context(), id)
	if err != nil {
		a.Logger.Error("incident tickets", "incident_id", id, "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read the tickets")
		return
	}
	type delivery struct {
		alerting.Delivery
		Status string `json:"status"`
	}
	out := struct {
		Notifications []delivery        `json:"notifications"`
		Tickets       []alerting.Ticket `json:"tickets"`
	}{Notifications: []delivery{}, Tickets: []alerting.Ticket{}}
	for _, d := range ds {
		out.Notifications = append(out.Notifications, delivery{d, d.Status()})
	}
	out.Tickets = append(out.Tickets, ts...)
	WriteJSON(w, http.StatusOK, out)
}

// incidentAction serves POST /api/v1/incidents/{id}/{acknowledge,
// comment, resolve, close, reopen} with an optional JSON body
// {"comment": "..."}; the actor is the token's name.
func (a *API) incidentAction(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "incident id must be a number")
		return
	}
	var body struct {
		Comment  string `json:"comment"`
		Assignee string `json:"assignee"`
	}
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			WriteError(w, http.StatusBadRequest, "body: want {\"comment\": \"...\"} (and \"assignee\" to assign): "+err.Error())
			return
		}
	}
	p, _ := auth.FromContext(r.Context())
	act := map[string]func(context.Context, int64, string, string, time.Time) error{
		"acknowledge": a.Actions.Acknowledge, "resolve": a.Actions.Resolve, "close": a.Actions.Close,
		"reopen": a.Actions.Reopen, "comment": a.Actions.Comment, "assign": a.Actions.Assign,
	}[r.PathValue("action")]
	if act == nil {
		WriteError(w, http.StatusNotFound, fmt.Sprintf("unknown action %q (want acknowledge, assign, comment, resolve, close or reopen)", r.PathValue("action")))
		return
	}
	arg := body.Comment
	if r.PathValue("action") == "assign" {
		if body.Assignee == "" {
			WriteError(w, http.StatusBadRequest, "assignee: required, e.g. {\"assignee\": \"network-team\"}")
			return
		}
		arg = body.Assignee
	}
	e := audit.Entry{At: time.Now(), Principal: p.Name, Action: "incident." + r.PathValue("action"),
		Object: fmt.Sprintf("incident/%d", id), Detail: arg}
	if !a.recordFirst(w, r, e) {
		return
	}
	switch err := act(r.Context(), id, p.Name, arg, time.Now()); {
	case errors.Is(err, alerting.ErrNotFound):
		a.recordFailed(r.Context(), e, "not found")
		WriteError(w, http.StatusNotFound, fmt.Sprintf("incident %d not found", id))
		return
	case errors.Is(err, alerting.ErrConflict):
		a.recordFailed(r.Context(), e, err.Error())
		WriteError(w, http.StatusConflict, err.Error())
		return
	case errors.Is(err, alerting.ErrFenced):
		// The follower of an HA pair: incidents are the leader's to
		// change (GET /-/leader answers 200 there).
		a.recordFailed(r.Context(), e, "not the leader")
		WriteError(w, http.StatusServiceUnavailable, "this collector follows its HA pair's leader, which alone changes incidents; act on the leader (GET /-/leader answers 200 there); nothing was changed")
		return
	case err != nil:
		a.Logger.Error("incident action", "incident_id", id, "action", r.PathValue("action"), "err", err)
		a.recordFailed(r.Context(), e, "could not change the incident")
		WriteError(w, http.StatusInternalServerError, "could not change the incident")
		return
	}
	inc, err := a.Incidents.Incident(r.Context(), id)
	if err != nil {
		WriteError(w, http.StatusInternalServerError, "could not read the incident")
		return
	}
	WriteJSON(w, http.StatusOK, inc)
}

// recordFirst writes the audit row of a change before the change is made,
// so that nothing changes unaudited: when the row cannot be written (a
// full disk), the request is refused with 503, logged, and nothing
// changes. A change that then fails is recorded again by recordFailed.
func (a *API) recordFirst(w http.ResponseWriter, r *http.Request, e audit.Entry) bool {
	if a.Audit == nil {
		return true
	}
	if err := a.Audit.Record(r.Context(), e); err != nil {
		a.Logger.Error("change refused: the audit log cannot be written", "action", e.Action, "object", e.Object, "principal", e.Principal, "err", err)
		WriteError(w, http.StatusServiceUnavailable, "the audit log cannot be written, so changes are refused for now; nothing was changed")
		return false
	}
	return true
}

// recordFailed records that the change e, recorded first, did not happen:
// action <action>.failed with the reason.
func (a *API) recordFailed(ctx context.Context, e audit.Entry, why string) {
	e.At, e.Action, e.Detail = time.Now(), e.Action+".failed", why
	Record(ctx, a.Audit, a.Logger, e)
}

// Record writes an audit entry; a failure is logged, not fatal to the
// change it records (which is already done).
func Record(ctx context.Context, log audit.Log, logger *slog.Logger, e audit.Entry) {
	if log == nil {
		return
	}
	if err := log.Record(ctx, e); err != nil {
		logger.Error("audit record", "action", e.Action, "object", e.Object, "err", err)
	}
}

// listAudit serves GET /api/v1/audit?since=&principal=&action=&limit=.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := audit.Filter{Principal: q.Get("principal"), Action: q.Get("action"), Limit: 500, Since: time.Now().Add(-30 * 24 * time.Hour)}
	if s := q.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "since: want an RFC 3339 time")
			return
		}
		f.Since = t
	}
	var ok bool
	if f.Limit, ok = limit(w, q, 500); !ok {
		return
	}
	list, err := a.Audit.Entries(r.Context(), f)
	if err != nil {
		a.Logger.Error("read the audit log", "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read the audit log")
		return
	}
	if list == nil {
		list = []audit.Entry{}
	}
	WriteJSON(w, http.StatusOK, list)
}

func (a *API) listTargets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	states := splitList(q["state"])
	kinds := splitList(q["kind"])
	for _, s := range states {
		if !slices.Contains(state.AllStates, state.State(s)) {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("state: unknown value %q (want up, down, unknown, maintenance or shutdown)", s))
			return
		}
	}
	want := map[string]string{}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			WriteError(w, http.StatusBadRequest, fmt.Sprintf("label: want name=value, got %q", l))
			return
		}
		want[k] = v
	}
	out := a.Targets.Select(func(t *state.Target) bool {
		return (len(states) == 0 || slices.Contains(states, string(t.State))) &&
			(len(kinds) == 0 || slices.Contains(kinds, string(t.Kind))) && hasLabels(t.Labels, want)
	})
	if out == nil {
		out = []state.Target{}
	}
	WriteJSON(w, http.StatusOK, out)
}

// alertView is an alert as the API shows it (Prometheus's /api/v1/alerts
// shape, plus the group and when it fired or resolved).
type alertView struct {
	Group       string            `json:"group"`
	Name        string            `json:"name"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	State       string            `json:"state"`
	ActiveAt    time.Time         `json:"activeAt"`
	FiredAt     *time.Time        `json:"firedAt,omitempty"`
	ResolvedAt  *time.Time        `json:"resolvedAt,omitempty"`
	Value       string            `json:"value"`
}

func (a *API) listAlerts(w http.ResponseWriter, _ *http.Request) {
	out := []alertView{}
	for _, al := range a.Alerts.Alerts() {
		v := alertView{Group: al.Group, Name: al.Rule, Labels: al.Labels.Map(), Annotations: al.Annotations,
			State: al.State.String(), ActiveAt: al.ActiveAt, Value: rules.FormatValue(al.Value)}
		if !al.FiredAt.IsZero() {
			t := al.FiredAt
			v.FiredAt = &t
		}
		if al.Resolved() {
			t := al.ResolvedAt
			v.ResolvedAt = &t
			v.State = "resolved"
		}
		out = append(out, v)
	}
	WriteJSON(w, http.StatusOK, out)
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

// sdGroup is one entry of Prometheus's http_sd_configs format.
type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// prometheusSD lists every agent's /metrics address with its labels, in
// the http_sd_configs format, so one Prometheus job scrapes the fleet.
// Hosts whose agent announced no address are left out. It is a bare JSON
// array, as Prometheus expects.
func (a *API) prometheusSD(w http.ResponseWriter, _ *http.Request) {
	out := []sdGroup{}
	for _, t := range a.Targets.Select(func(t *state.Target) bool { return t.Kind == state.KindHost && t.MetricsAddress != "" }) {
		ls := map[string]string{"host": t.Name, "__meta_nines_state": string(t.State)}
		for k, v := range t.Labels {
			ls[k] = v
		}
		out = append(out, sdGroup{Targets: []string{t.MetricsAddress}, Labels: ls})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// limit reads ?limit= (1 to 10000, default def); on a bad value it has
// answered 400 and returns false.
func limit(w http.ResponseWriter, q url.Values, def int) (int, bool) {
	s := q.Get("limit")
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 10000 {
		WriteError(w, http.StatusBadRequest, "limit: want a number from 1 to 10000")
		return 0, false
	}
	return n, true
}

// splitList accepts both ?a=x&a=y and ?a=x,y.
func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
