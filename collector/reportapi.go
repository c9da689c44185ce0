package collector

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/rules"
)

// serveReport is GET /api/v1/reports/sla?month=YYYY-MM&tz=&service=&format=
// (or from= and to=): the service level report as JSON, CSV or HTML.
func (c *Collector) serveReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := report.Request{Month: q.Get("month"), From: q.Get("from"), To: q.Get("to"), TZ: q.Get("tz"), Format: q.Get("format")}
	for _, s := range q["service"] {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				req.Services = append(req.Services, p)
			}
		}
	}
	if err := req.CheckFormat(); err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	from, to, err := req.Period()
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	rep, err := c.report(r.Context(), from, to, req.Services, time.Now())
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, req.Format); err != nil {
		c.logger.Error("render report", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not render the report")
		return
	}
	w.Header().Set("Content-Type", report.ContentType(req.Format))
	if req.Format == "csv" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sla-%s-%s.csv"`, from.Format("20060102"), to.Format("20060102")))
	}
	_, _ = w.Write(buf.Bytes())
}

func (c *Collector) report(ctx context.Context, from, to time.Time, services []string, now time.Time) (*report.Report, error) {
	cfg := c.config()
	return BuildReport(ctx, c.store, ReportInput{Config: cfg, Policy: IncidentPolicy(cfg), Targets: c.tracker.Snapshot(),
		From: from, To: to, Now: now, Services: services})
}

// Report implements web.Data.
func (b boardData) Report(ctx context.Context, req report.Request, now time.Time) (*report.Report, error) {
	from, to, err := req.Period()
	if err != nil {
		return nil, err
	}
	return b.c.report(ctx, from, to, req.Services, now)
}

// Deliveries implements web.Data.
func (b boardData) Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error) {
	return b.c.store.Deliveries(ctx, incidentID)
}

// Tickets implements web.Data.
func (b boardData) Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error) {
	return b.c.store.Tickets(ctx, incidentID)
}

// serviceInfo is a catalogue service as GET /api/v1/services shows it.
type serviceInfo struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Owner       string          `json:"owner,omitempty"`
	Criticality string          `json:"criticality"`
	Group       string          `json:"group,omitempty"`
	Schedule    string          `json:"schedule"`
	Combine     string          `json:"combine"`
	Objective   float64         `json:"objective"`
	State       string          `json:"state"`
	Components  []componentInfo `json:"components"`
	// Availability by rolling window, once computed.
	Availability map[string]float64 `json:"availability,omitempty"`
	Downtime     map[string]float64 `json:"downtime_seconds,omitempty"`
}

type componentInfo struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	State string `json:"state"`
}

func (c *Collector) serviceInfo(cfg *config.Config, sv *config.Service, live map[string]*liveService, figures map[string]serviceFigures) serviceInfo {
	l := live[sv.Name]
	info := serviceInfo{Name: sv.Name, Description: sv.Description, Owner: sv.Owner, Criticality: sv.Criticality, Group: sv.Group,
		Schedule: cmp.Or(sv.Schedule, "24x7"), Combine: sv.Combine, Objective: sv.ObjectiveRatio(), State: l.state, Components: []componentInfo{}}
	for _, comp := range l.components {
		info.Components = append(info.Components, componentInfo{Name: comp.Name, Kind: comp.Kind, State: comp.State})
	}
	if f, ok := figures[sv.Name]; ok {
		info.Availability, info.Downtime = map[string]float64{}, map[string]float64{}
		for _, w := range SLAWindows {
			if res := f.Windows[w]; res.Eligible() > 0 {
				info.Availability[rules.WindowLabel(w)] = res.Availability()
				info.Downtime[rules.WindowLabel(w)] = res.Down.Seconds()
			}
		}
	}
	return info
}

// serveServices is GET /api/v1/services and /api/v1/services/{name}: the
// catalogue with each service's live state, components and availability.
func (c *Collector) serveServices(w http.ResponseWriter, r *http.Request) {
	cfg := c.config()
	live := liveServices(cfg, c.tracker.Snapshot())
	figures := boardData{c}.figures()
	if name := r.PathValue("name"); name != "" {
		sv := cfg.Service(name)
		if sv == nil {
			api.WriteError(w, http.StatusNotFound, fmt.Sprintf("service %q not found", name))
			return
		}
		api.WriteJSON(w, http.StatusOK, c.serviceInfo(cfg, sv, live, figures))
		return
	}
	out := make([]serviceInfo, 0, len(cfg.Services))
	for i := range cfg.Services {
		out = append(out, c.serviceInfo(cfg, &cfg.Services[i], live, figures))
	}
	api.WriteJSON(w, http.StatusOK, out)
}
