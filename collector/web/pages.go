package web

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/state"
)

// TargetView is a target's page.
type TargetView struct {
	Target       state.Target
	History      []state.Change // newest first
	Availability []WindowFigure
	Charts       []Chart
	Incidents    []alerting.Incident
}

// ServiceView is a service's page.
type ServiceView struct {
	// ThisMonth and LastMonth are YYYY-MM, for the report links.
	ThisMonth, LastMonth string
	TZ                   string // the schedule's time zone
	Tile                 ServiceTile
	Description          string
	Owner                string
	Combine              string
	Components           []Component
	// Windows is the SLA report: availability per rolling window.
	Windows   []WindowFigure
	Incidents []alerting.Incident
}

// IncidentDetail is what an incident's page shows besides the incident
// and its timeline.
type IncidentDetail struct {
	// Services are the services it hits, with their state now.
	Services []ServiceTile
	// Target is its target now (nil when there is none, or it is gone).
	Target *state.Target
	// RespondDue and ResolveDue are the priority's deadlines (nil once
	// met or without a target).
	RespondDue, ResolveDue *time.Time
}

// Component is one part of a service.
type Component struct {
	Name  string
	Kind  string // host, device, check or service
	State string
	Link  string
}

// WindowFigure is availability over one window.
type WindowFigure struct {
	Window       string
	Span         time.Duration // the window's length
	Known        bool          // false until computed, or with no eligible time
	Availability float64
	Downtime     time.Duration
	// Eligible is the time the figure covers: the data there is of the
	// window, less maintenance and time outside the schedule.
	Eligible time.Duration
	Budget   servicelevel.Budget
	Met      bool
}

// Coverage says how much of the window a figure covers: "2m 0s of
// data", or "all 30 d".
func (w WindowFigure) Coverage() string {
	if w.Span > 0 && w.Eligible >= w.Span-time.Second {
		return "all " + w.Window
	}
	return humanDuration(w.Eligible) + " of data in " + w.Window
}

// BudgetText is the error budget in words: "62.5 % left (27m 0s of 43m
// 12s)", or "exhausted: 23.9s over the 120ms allowed".
func (w WindowFigure) BudgetText() string {
	b := w.Budget
	if b.Exhausted() {
		return "exhausted: " + fineDuration(b.Overrun()) + " over the " + fineDuration(b.Allowed) + " allowed"
	}
	return fmt.Sprintf("%.1f %% left (%s of %s)", b.Remaining()*100, fineDuration(b.Allowed-b.Spent), fineDuration(b.Allowed))
}

// fineDuration is humanDuration, with milliseconds under a minute.
func fineDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return humanDuration(d)
}

// incidentSorts are the orders of the incident list: by priority (then
// oldest first, the default, so a P1 is always on the first page), by
// age (newest first), by status or by target.
var incidentSorts = map[string]func(a, b alerting.Incident) int{
	"priority": func(a, b alerting.Incident) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	},
	"newest": func(a, b alerting.Incident) int {
		return cmp.Or(b.OpenedAt.Compare(a.OpenedAt), cmp.Compare(b.ID, a.ID))
	},
	"oldest": func(a, b alerting.Incident) int {
		return cmp.Or(a.OpenedAt.Compare(b.OpenedAt), cmp.Compare(a.ID, b.ID))
	},
	"status": func(a, b alerting.Incident) int {
		return cmp.Or(cmp.Compare(statusOrder(a.Status), statusOrder(b.Status)), cmp.Compare(a.Priority, b.Priority), a.OpenedAt.Compare(b.OpenedAt))
	},
	"target": func(a, b alerting.Incident) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Priority, b.Priority), a.OpenedAt.Compare(b.OpenedAt))
	},
}

func statusOrder(s alerting.Status) int {
	return slices.Index([]alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged, alerting.StatusResolved, alerting.StatusClosed}, s)
}

// incidentsPerPage is the incident list's page size; listLimit bounds
// what one listing reads.
const incidentsPerPage, listLimit = 50, 5000

func (u *UI) incidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := alerting.Filter{Limit: listLimit}
	status := q.Get("status")
	switch status {
	case "", "active":
		status = "active"
		f.Status = []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	case "all":
	default:
		st := alerting.Status(status)
		if statusOrder(st) < 0 {
			u.errorPage(w, r, http.StatusBadRequest, "status: unknown value "+strconv.Quote(status)+" (want active, open, acknowledged, resolved, closed or all)")
			return
		}
		f.Status = []alerting.Status{st}
	}
	prio := strings.ToUpper(q.Get("priority"))
	if prio != "" {
		if !slices.Contains(alerting.Priorities, alerting.Priority(prio)) {
			u.errorPage(w, r, http.StatusBadRequest, "priority: unknown value "+strconv.Quote(prio)+" (want P1 to P4)")
			return
		}
		f.Priority = []alerting.Priority{alerting.Priority(prio)}
	}
	sortBy := cmp.Or(q.Get("sort"), "priority")
	order, ok := incidentSorts[sortBy]
	if !ok {
		u.errorPage(w, r, http.StatusBadRequest, "sort: unknown value "+strconv.Quote(sortBy)+" (want priority, newest, oldest, status or target)")
		return
	}
	pageNo := 1
	if p := q.Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			u.errorPage(w, r, http.StatusBadRequest, "page: want a page number from 1, got "+strconv.Quote(p))
			return
		}
		pageNo = n
	}
	list, err := u.opts.Incidents.Incidents(r.Context(), f)
	if err != nil {
		u.opts.Logger.Error("list incidents", "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not read incidents.")
		return
	}
	truncated := len(list) >= listLimit
	affected := u.opts.Data.Affected(list)
	service := strings.TrimSpace(q.Get("service"))
	if service != "" {
		// The incidents that hit the service, host incidents included.
		list = slices.DeleteFunc(list, func(i alerting.Incident) bool { return !slices.Contains(affected[i.ID], service) })
	}
	slices.SortStableFunc(list, order)
	total := len(list)
	pages := max(1, (total+incidentsPerPage-1)/incidentsPerPage)
	pageNo = min(pageNo, pages)
	from := (pageNo - 1) * incidentsPerPage
	shown := list[from:min(total, from+incidentsPerPage)]
	// link keeps the filters and the order in the address.
	link := func(change ...string) string {
		v := url.Values{}
		for k, val := range map[string]string{"status": status, "priority": prio, "service": service, "sort": sortBy} {
			if val != "" && !(k == "status" && val == "active") && !(k == "sort" && val == "priority") {
				v.Set(k, val)
			}
		}
		for i := 0; i+1 < len(change); i += 2 {
			v.Del(change[i])
			if change[i+1] != "" {
				v.Set(change[i], change[i+1])
			}
		}
		if len(v) == 0 {
			return "/ui/incidents"
		}
		return "/ui/incidents?" + v.Encode()
	}
	type sortLink struct {
		Label, Link string
		Current     bool
	}
	var sorts []sortLink
	for _, s := range []struct{ key, label string }{{"priority", "priority, then oldest"}, {"newest", "newest"}, {"oldest", "oldest"}, {"status", "status"}, {"target", "target"}} {
		sorts = append(sorts, sortLink{s.label, link("sort", s.key, "page", ""), s.key == sortBy})
	}
	data := map[string]any{
		"Incidents": shown, "Affected": affected, "Status": status, "Priority": prio, "Service": service, "Sort": sortBy, "Sorts": sorts,
		"Statuses": []string{"active", "open", "acknowledged", "resolved", "closed", "all"}, "Priorities": alerting.Priorities,
		"Total": total, "Page": pageNo, "Pages": pages, "First": from + 1, "Last": from + len(shown), "Truncated": truncated,
	}
	if pageNo > 1 {
		data["Prev"] = link("page", strconv.Itoa(pageNo-1))
	}
	if pageNo < pages {
		data["Next"] = link("page", strconv.Itoa(pageNo+1))
	}
	u.render(w, r, http.StatusOK, "incidents", data)
}

func (u *UI) incidentID(w http.ResponseWriter, r *http.Request) (*alerting.Incident, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.errorPage(w, r, http.StatusBadRequest, "An incident id is a number.")
		return nil, false
	}
	inc, err := u.opts.Incidents.Incident(r.Context(), id)
	switch {
	case errors.Is(err, alerting.ErrNotFound):
		u.errorPage(w, r, http.StatusNotFound, "Incident "+strconv.FormatInt(id, 10)+" does not exist.")
		return nil, false
	case err != nil:
		u.opts.Logger.Error("read incident", "incident_id", id, "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not read the incident.")
		return nil, false
	}
	return inc, true
}

func (u *UI) incident(w http.ResponseWriter, r *http.Request) {
	inc, ok := u.incidentID(w, r)
	if !ok {
		return
	}
	evs, err := u.opts.Incidents.Events(r.Context(), inc.ID)
	if err != nil {
		u.opts.Logger.Error("incident timeline", "incident_id", inc.ID, "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not read the timeline.")
		return
	}
	deliveries, err := u.opts.Data.Deliveries(r.Context(), inc.ID)
	if err != nil {
		u.opts.Logger.Error("incident notifications", "incident_id", inc.ID, "err", err)
	}
	tickets, err := u.opts.Data.Tickets(r.Context(), inc.ID)
	if err != nil {
		u.opts.Logger.Error("incident tickets", "incident_id", inc.ID, "err", err)
	}
	detail, err := u.opts.Data.Incident(r.Context(), inc, u.now())
	if err != nil {
		u.opts.Logger.Error("incident context", "incident_id", inc.ID, "err", err)
		detail = &IncidentDetail{}
	}
	actions := map[alerting.Status][]string{
		alerting.StatusOpen:         {"acknowledge", "assign", "comment", "resolve"},
		alerting.StatusAcknowledged: {"assign", "comment", "resolve"},
		alerting.StatusResolved:     {"comment", "close", "reopen"},
		alerting.StatusClosed:       {"comment"},
	}[inc.Status]
	u.render(w, r, http.StatusOK, "incident", map[string]any{
		"Incident": inc, "Detail": detail, "Events": evs, "Actions": actions, "Deliveries": deliveries, "Tickets": tickets, "Flash": r.URL.Query().Get("done"),
	})
}

func (u *UI) incidentAction(w http.ResponseWriter, r *http.Request) {
	inc, ok := u.incidentID(w, r)
	if !ok {
		return
	}
	p, _ := auth.FromContext(r.Context())
	action := r.PostFormValue("action")
	text := strings.TrimSpace(r.PostFormValue("comment"))
	ctx, now := r.Context(), u.now()
	detail := text
	var do func() error
	switch action {
	case "acknowledge":
		do = func() error { return u.opts.Actions.Acknowledge(ctx, inc.ID, p.Name, text, now) }
	case "assign":
		who := strings.TrimSpace(r.PostFormValue("assignee"))
		if who == "" {
			u.errorPage(w, r, http.StatusBadRequest, "Assign to whom? Fill in the assignee.")
			return
		}
		detail = who
		do = func() error { return u.opts.Actions.Assign(ctx, inc.ID, p.Name, who, now) }
	case "comment":
		if text == "" {
			u.errorPage(w, r, http.StatusBadRequest, "A comment needs some text.")
			return
		}
		do = func() error { return u.opts.Actions.Comment(ctx, inc.ID, p.Name, text, now) }
	case "resolve":
		do = func() error { return u.opts.Actions.Resolve(ctx, inc.ID, p.Name, text, now) }
	case "close":
		do = func() error { return u.opts.Actions.Close(ctx, inc.ID, p.Name, text, now) }
	case "reopen":
		do = func() error { return u.opts.Actions.Reopen(ctx, inc.ID, p.Name, text, now) }
	default:
		u.errorPage(w, r, http.StatusBadRequest, "Unknown action "+strconv.Quote(action)+".")
		return
	}
	// Audited first: a change the audit log cannot record is not made.
	entry := audit.Entry{At: now, Principal: p.Name, Action: "incident." + action, Object: "incident/" + strconv.FormatInt(inc.ID, 10), Detail: detail}
	if !u.auditFirst(w, r, entry) {
		return
	}
	err := do()
	if err != nil {
		u.auditFailed(r, entry, err)
	}
	switch {
	case errors.Is(err, alerting.ErrConflict):
		u.errorPage(w, r, http.StatusConflict, err.Error())
		return
	case errors.Is(err, alerting.ErrFenced):
		u.errorPage(w, r, http.StatusServiceUnavailable, "This collector follows its HA pair's leader, which alone changes incidents: open this page on the leader. Nothing was changed.")
		return
	case err != nil:
		u.opts.Logger.Error("incident action", "incident_id", inc.ID, "action", action, "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not change the incident.")
		return
	}
	http.Redirect(w, r, "/ui/incidents/"+strconv.FormatInt(inc.ID, 10)+"?done="+action, http.StatusSeeOther)
}

func (u *UI) target(w http.ResponseWriter, r *http.Request) {
	v, err := u.opts.Data.Target(r.Context(), r.PathValue("name"), u.now())
	viewPage(u, w, r, "target", v, err)
}

func (u *UI) service(w http.ResponseWriter, r *http.Request) {
	v, err := u.opts.Data.Service(r.Context(), r.PathValue("name"), u.now())
	viewPage(u, w, r, "service", v, err)
}

// viewPage renders a target's or a service's page: 404 for an unknown
// name, 500 when it could not be read.
func viewPage[V any](u *UI, w http.ResponseWriter, r *http.Request, kind string, v *V, err error) {
	name := r.PathValue("name")
	switch {
	case err != nil:
		u.opts.Logger.Error(kind+" page", kind, name, "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not read the "+kind+".")
	case v == nil:
		u.errorPage(w, r, http.StatusNotFound, "No "+kind+" is called "+strconv.Quote(name)+".")
	default:
		u.render(w, r, http.StatusOK, kind, v)
	}
}

func (u *UI) maintenance(w http.ResponseWriter, r *http.Request) {
	u.maintenancePage(w, r, http.StatusOK, "", api.MaintenanceRequest{Duration: "2h"})
}

func (u *UI) maintenancePage(w http.ResponseWriter, r *http.Request, code int, problem string, form api.MaintenanceRequest) {
	now := u.now()
	list, err := u.opts.Maintenance.Windows(r.Context(), now.Add(-7*24*time.Hour))
	if err != nil {
		u.opts.Logger.Error("list maintenance windows", "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not read maintenance windows.")
		return
	}
	type row struct {
		state.Window
		Status string
	}
	var rows []row
	for _, m := range list {
		st := "scheduled"
		switch {
		case m.Active(now):
			st = "active"
		case !m.To.After(now):
			st = "over"
		}
		rows = append(rows, row{m, st})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return b.From.Compare(a.From) })
	u.render(w, r, code, "maintenance", map[string]any{
		"Windows": rows, "Problem": problem, "Form": form,
		"FormTargets": strings.Join(form.Targets, ", "), "FormSelector": selectorString(form.Selector),
		"FormServices": strings.Join(form.Services, ", "),
	})
}

func (u *UI) createMaintenance(w http.ResponseWriter, r *http.Request) {
	form := api.MaintenanceRequest{Name: r.PostFormValue("name"), Duration: strings.TrimSpace(r.PostFormValue("duration")),
		Schedule: strings.TrimSpace(r.PostFormValue("schedule"))}
	for _, sv := range strings.Split(r.PostFormValue("services"), ",") {
		if sv = strings.TrimSpace(sv); sv != "" {
			form.Services = append(form.Services, sv)
		}
	}
	if s := strings.TrimSpace(r.PostFormValue("start")); s != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", s, u.opts.Location())
		if err != nil {
			u.maintenancePage(w, r, http.StatusBadRequest, "start: want a date and time (YYYY-MM-DDTHH:MM), got "+strconv.Quote(s), form)
			return
		}
		form.Start = t.Format(time.RFC3339)
	}
	for _, t := range strings.Split(r.PostFormValue("targets"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			form.Targets = append(form.Targets, t)
		}
	}
	for _, kv := range strings.Split(r.PostFormValue("selector"), ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			u.maintenancePage(w, r, http.StatusBadRequest, "selector: want label=value, got "+strconv.Quote(kv), form)
			return
		}
		if form.Selector == nil {
			form.Selector = map[string]string{}
		}
		form.Selector[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	p, _ := auth.FromContext(r.Context())
	win, err := form.Window(p.Name, u.now())
	if err != nil {
		u.maintenancePage(w, r, http.StatusBadRequest, err.Error(), form)
		return
	}
	if err := u.opts.Maintenance.Create(r.Context(), &win); errors.Is(err, api.ErrMaintenanceInvalid) {
		u.maintenancePage(w, r, http.StatusBadRequest, err.Error(), form)
		return
	} else if err != nil {
		u.opts.Logger.Error("create maintenance window", "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not store the maintenance window.")
		return
	}
	entry := audit.Entry{At: u.now(), Principal: p.Name, Action: "maintenance.create", Object: "maintenance/" + strconv.FormatInt(win.ID, 10), Detail: win.Name}
	if err := u.recordAudit(r, entry); err != nil {
		// Not audited, so not kept: the window ends at once.
		u.opts.Logger.Error("audit record: the new maintenance window is ended", "id", win.ID, "err", err)
		if err := u.opts.Maintenance.End(r.Context(), win.ID, p.Name, u.now()); err != nil {
			u.opts.Logger.Error("end the unaudited maintenance window", "id", win.ID, "err", err)
		}
		u.errorPage(w, r, http.StatusServiceUnavailable, "The audit log cannot be written, so the window was not kept. Try again later.")
		return
	}
	u.opts.Logger.Info("maintenance window created", "id", win.ID, "name", win.Name, "by", p.Name)
	http.Redirect(w, r, "/ui/maintenance", http.StatusSeeOther)
}

func (u *UI) endMaintenance(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		u.errorPage(w, r, http.StatusBadRequest, "A maintenance window id is a number.")
		return
	}
	p, _ := auth.FromContext(r.Context())
	entry := audit.Entry{At: u.now(), Principal: p.Name, Action: "maintenance.end", Object: "maintenance/" + strconv.FormatInt(id, 10)}
	if !u.auditFirst(w, r, entry) {
		return
	}
	err = u.opts.Maintenance.End(r.Context(), id, p.Name, u.now())
	if err != nil {
		u.auditFailed(r, entry, err)
	}
	switch {
	case errors.Is(err, api.ErrMaintenanceNotFound):
		u.errorPage(w, r, http.StatusNotFound, err.Error())
	case errors.Is(err, api.ErrMaintenanceFixed):
		u.errorPage(w, r, http.StatusConflict, err.Error())
	case err != nil:
		u.opts.Logger.Error("end maintenance window", "id", id, "err", err)
		u.errorPage(w, r, http.StatusInternalServerError, "Could not end the maintenance window.")
	default:
		u.opts.Logger.Info("maintenance window ended", "id", id, "by", p.Name)
		http.Redirect(w, r, "/ui/maintenance", http.StatusSeeOther)
	}
}

func selectorString(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	slices.Sort(parts)
	return strings.Join(parts, ", ")
}

// report serves the service level report to a logged-in browser, with the
// API's parameters (month or from/to, tz, service, format).
func (u *UI) report(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := report.Request{Month: q.Get("month"), From: q.Get("from"), To: q.Get("to"), TZ: q.Get("tz"), Format: q.Get("format"), Services: q["service"]}
	if req.Format == "" {
		req.Format = "html"
	}
	if err := req.CheckFormat(); err != nil {
		u.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := u.opts.Data.Report(r.Context(), req, u.now())
	if err != nil {
		u.errorPage(w, r, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", report.ContentType(req.Format))
	if err := report.Write(w, rep, req.Format); err != nil {
		u.opts.Logger.Error("render report", "err", err)
	}
}
