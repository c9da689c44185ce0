package collector

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/report"
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
