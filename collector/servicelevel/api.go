package servicelevel

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/rules"
)

// API serves the service level endpoints of the REST API; the caller
// mounts them behind the viewer role.
type API struct {
	Sources Sources
	// SLA gives /api/v1/services its availability figures (nil: none).
	SLA    *SLA
	Logger *slog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time

	reports chan struct{} // the reports being made (MaxConcurrentReports)
	once    sync.Once
}

// MaxConcurrentReports bounds the reports made at once: each reads the
// history of every component over its period.
const MaxConcurrentReports = 2

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Report serves GET /api/v1/reports/sla?month=YYYY-MM&tz=&service=&format=
// (or from= and to=): the service level report as JSON, CSV or HTML.
func (a *API) Report() http.Handler { return http.HandlerFunc(a.serveReport) }

// Services serves GET /api/v1/services and /api/v1/services/{name}: the
// catalogue with each service's live state, components and availability.
func (a *API) Services() http.Handler { return http.HandlerFunc(a.serveServices) }

func (a *API) serveReport(w http.ResponseWriter, r *http.Request) {
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
	a.once.Do(func() { a.reports = make(chan struct{}, MaxConcurrentReports) })
	select {
	case a.reports <- struct{}{}:
		defer func() { <-a.reports }()
	default:
		w.Header().Set("Retry-After", "5")
		api.WriteError(w, http.StatusTooManyRequests, fmt.Sprintf("%d reports are being made; try again shortly", MaxConcurrentReports))
		return
	}
	rep, err := a.Sources.Report(r.Context(), from, to, req.Services, a.now())
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, rep, req.Format); err != nil {
		a.Logger.Error("render report", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not render the report")
		return
	}
	w.Header().Set("Content-Type", report.ContentType(req.Format))
	if req.Format == "csv" {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="sla-%s-%s.csv"`, from.Format("20060102"), to.Format("20060102")))
	}
	_, _ = w.Write(buf.Bytes())
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
	// ComputedAt is the instant the figures are for (omitted before the
	// first computation): the collectors of an HA pair compute at the
	// same instants, so figures with the same computed_at are the same.
	ComputedAt *time.Time `json:"computed_at,omitempty"`
	// AtRisk: the 30-day budget is exhausted or burning fast (BurnRate,
	// the fastest over 1 h, 6 h and 24 h); see Figures.AtRisk.
	AtRisk   bool    `json:"at_risk"`
	BurnRate float64 `json:"burn_rate"`
}

type componentInfo struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`
	State string `json:"state"`
}

func newServiceInfo(sv *config.Service, live map[string]*LiveService, figures map[string]Figures) serviceInfo {
	l := live[sv.Name]
	info := serviceInfo{Name: sv.Name, Description: sv.Description, Owner: sv.Owner, Criticality: sv.Criticality, Group: sv.Group,
		Schedule: cmp.Or(sv.Schedule, "24x7"), Combine: sv.Combine, Objective: sv.ObjectiveRatio(), State: l.State, Components: []componentInfo{}}
	for _, comp := range l.Components {
		info.Components = append(info.Components, componentInfo(comp))
	}
	if f, ok := figures[sv.Name]; ok {
		info.Availability, info.Downtime = map[string]float64{}, map[string]float64{}
		info.AtRisk, info.BurnRate = f.AtRisk()
		at := f.At.UTC()
		info.ComputedAt = &at
		for _, w := range SLAWindows {
			if res := f.Windows[w]; res.Eligible() > 0 {
				info.Availability[rules.WindowLabel(w)] = res.Availability()
				info.Downtime[rules.WindowLabel(w)] = res.Down.Seconds()
			}
		}
	}
	return info
}

func (a *API) serveServices(w http.ResponseWriter, r *http.Request) {
	cfg := a.Sources.Config()
	live := Live(cfg, a.Sources.Targets())
	figures := map[string]Figures{}
	if a.SLA != nil {
		figures = a.SLA.ByService()
	}
	if name := r.PathValue("name"); name != "" {
		sv := cfg.Service(name)
		if sv == nil {
			api.WriteError(w, http.StatusNotFound, fmt.Sprintf("service %q not found", name))
			return
		}
		api.WriteJSON(w, http.StatusOK, newServiceInfo(sv, live, figures))
		return
	}
	out := make([]serviceInfo, 0, len(cfg.Services))
	for i := range cfg.Services {
		out = append(out, newServiceInfo(&cfg.Services[i], live, figures))
	}
	api.WriteJSON(w, http.StatusOK, out)
}
