package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// MaxMaintenance bounds a window created through the API, and
// MaxRecurring the span of a recurring one.
const (
	MaxMaintenance = 31 * 24 * time.Hour
	MaxRecurring   = 366 * 24 * time.Hour
)

// Errors a Maintenance implementation returns for the API to map.
var (
	ErrMaintenanceNotFound = errors.New("maintenance window not found")
	ErrMaintenanceFixed    = errors.New("maintenance window cannot be ended")
	ErrMaintenanceInvalid  = errors.New("maintenance window refused")
)

// MaintenanceRequest is the body of POST /api/v1/maintenance.
type MaintenanceRequest struct {
	Name     string            `json:"name"`
	Targets  []string          `json:"targets"`
	Selector map[string]string `json:"selector"`
	// Services stand for all their targets.
	Services []string `json:"services"`
	// Schedule (a calendar) makes the window recurring between Start and
	// End: in force whenever the calendar is.
	Schedule string `json:"schedule"`
	// Start is RFC 3339; empty means now.
	Start string `json:"start"`
	// End is RFC 3339, or Duration a Go duration ("2h30m") from Start.
	End      string `json:"end"`
	Duration string `json:"duration"`
}

// Window validates the request into a window created by actor at now; the
// error names the field.
func (m MaintenanceRequest) Window(actor string, now time.Time) (state.Window, error) {
	w := state.Window{Name: strings.TrimSpace(m.Name), Targets: m.Targets, Selector: m.Selector, Services: m.Services, Schedule: m.Schedule,
		CreatedBy: actor, CreatedAt: now, From: now}
	if w.Name == "" {
		return w, errors.New("name: required")
	}
	for i, t := range w.Targets {
		if strings.TrimSpace(t) == "" {
			return w, fmt.Errorf("targets[%d]: empty target name", i)
		}
	}
	if len(w.Targets) == 0 && len(w.Selector) == 0 && len(w.Services) == 0 {
		return w, errors.New("targets, selector or services: name at least one target, label or service")
	}
	if m.Start != "" {
		t, err := time.Parse(time.RFC3339, m.Start)
		if err != nil {
			return w, fmt.Errorf("start: want an RFC 3339 time (2026-11-28T22:00:00+01:00): %v", err)
		}
		w.From = t
	}
	switch {
	case m.End != "" && m.Duration != "":
		return w, errors.New("end and duration: set one, not both")
	case m.End != "":
		t, err := time.Parse(time.RFC3339, m.End)
		if err != nil {
			return w, fmt.Errorf("end: want an RFC 3339 time: %v", err)
		}
		w.To = t
	case m.Duration != "":
		d, err := yamlconf.ParseDuration(m.Duration) // as in the configuration: 90m, 2d, 1w
		if err != nil {
			return w, fmt.Errorf("duration: %v", err)
		}
		w.To = w.From.Add(d)
	default:
		return w, errors.New("end or duration: required")
	}
	if !w.To.After(w.From) {
		return w, errors.New("end: must be after start")
	}
	if !w.To.After(now) {
		return w, errors.New("end: the window would be over already")
	}
	switch span := w.To.Sub(w.From); {
	case w.Schedule != "" && span > MaxRecurring:
		return w, fmt.Errorf("end: a recurring window may last at most %s", MaxRecurring)
	case w.Schedule == "" && span > MaxMaintenance:
		return w, fmt.Errorf("end: a window may last at most %s", MaxMaintenance)
	}
	return w, nil
}

func (a *API) listMaintenance(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	since := now.Add(-24 * time.Hour)
	if s := r.URL.Query().Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			WriteError(w, http.StatusBadRequest, "since: want an RFC 3339 time")
			return
		}
		since = t
	}
	list, err := a.Maintenance.Windows(r.Context(), since)
	if err != nil {
		a.Logger.Error("list maintenance windows", "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read maintenance windows")
		return
	}
	if list == nil {
		list = []state.Window{}
	}
	if r.URL.Query().Get("active") == "true" {
		var act []state.Window
		for _, m := range list {
			if m.Active(now) {
				act = append(act, m)
			}
		}
		list = append([]state.Window{}, act...)
	}
	WriteJSON(w, http.StatusOK, list)
}

func (a *API) createMaintenance(w http.ResponseWriter, r *http.Request) {
	var req MaintenanceRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		WriteError(w, http.StatusBadRequest, "body: "+err.Error())
		return
	}
	p, _ := auth.FromContext(r.Context())
	win, err := req.Window(p.Name, time.Now())
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := a.Maintenance.Create(r.Context(), &win); errors.Is(err, ErrMaintenanceInvalid) {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	} else if err != nil {
		a.Logger.Error("create maintenance window", "err", err)
		WriteError(w, http.StatusInternalServerError, "could not store the maintenance window")
		return
	}
	// The row names the new window's id, so it is written after; a window
	// whose row cannot be written is ended at once (cancelled when it has
	// not started) and the request refused.
	e := audit.Entry{At: time.Now(), Principal: p.Name, Action: "maintenance.create",
		Object: fmt.Sprintf("maintenance/%d", win.ID), Detail: fmt.Sprintf("%s: %s to %s", win.Name, win.From.Format(time.RFC3339), win.To.Format(time.RFC3339))}
	if a.Audit != nil {
		if err := a.Audit.Record(r.Context(), e); err != nil {
			if uerr := a.Maintenance.End(r.Context(), win.ID, p.Name, time.Now()); uerr != nil {
				a.Logger.Error("maintenance window created without its audit row and not ended", "id", win.ID, "err", err, "end_err", uerr)
			} else {
				a.Logger.Error("change refused: the audit log cannot be written", "action", e.Action, "object", e.Object, "principal", p.Name, "err", err)
			}
			WriteError(w, http.StatusServiceUnavailable, "the audit log cannot be written, so changes are refused for now; the window was ended")
			return
		}
	}
	a.Logger.Info("maintenance window created", "id", win.ID, "name", win.Name, "by", p.Name,
		"start", win.From.Format(time.RFC3339), "end", win.To.Format(time.RFC3339))
	WriteJSON(w, http.StatusCreated, win)
}

func (a *API) endMaintenance(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		WriteError(w, http.StatusBadRequest, "maintenance window id must be a number")
		return
	}
	p, _ := auth.FromContext(r.Context())
	e := audit.Entry{At: time.Now(), Principal: p.Name, Action: "maintenance.end", Object: fmt.Sprintf("maintenance/%d", id)}
	if !a.recordFirst(w, r, e) {
		return
	}
	switch err := a.Maintenance.End(r.Context(), id, p.Name, time.Now()); {
	case errors.Is(err, ErrMaintenanceNotFound):
		a.recordFailed(r.Context(), e, "not found")
		WriteError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, ErrMaintenanceFixed):
		a.recordFailed(r.Context(), e, err.Error())
		WriteError(w, http.StatusConflict, err.Error())
	case err != nil:
		a.Logger.Error("end maintenance window", "id", id, "err", err)
		a.recordFailed(r.Context(), e, "could not end the maintenance window")
		WriteError(w, http.StatusInternalServerError, "could not end the maintenance window")
	default:
		a.Logger.Info("maintenance window ended", "id", id, "by", p.Name)
		WriteJSON(w, http.StatusOK, map[string]any{"id": id, "status": "ended"})
	}
}
