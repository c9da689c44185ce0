package report

import (
	"embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"time"
)

// Formats are the report formats.
var Formats = []string{"json", "csv", "html"}

// ContentType is the MIME type of a format.
func ContentType(format string) string {
	return map[string]string{"json": "application/json", "csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8"}[format]
}

// Write renders r in format (json, csv or html).
func Write(w io.Writer, r *Report, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case "csv":
		return writeCSV(w, r)
	case "html":
		return page.Execute(w, r)
	}
	return fmt.Errorf("unknown format %q (want json, csv or html)", format)
}

// writeCSV writes one row per service, then one per outage.
func writeCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	sec := func(s Seconds) string { return strconv.FormatFloat(time.Duration(s).Seconds(), 'f', -1, 64) }
	ratio := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	share := func(v float64) string { // -1: nothing to measure
		if v < 0 {
			return ""
		}
		return ratio(v)
	}
	_ = cw.Write([]string{"service", "from", "to", "objective", "availability", "met", "eligible_seconds", "downtime_seconds",
		"allowed_downtime_seconds", "no_data_seconds", "maintenance_seconds", "not_observed_seconds", "outages", "incidents",
		"mtta_seconds", "mttr_seconds", "response_compliance", "resolution_compliance"})
	for _, s := range r.Services {
		avail, met := "", ""
		if s.Known {
			avail, met = ratio(s.Ratio), strconv.FormatBool(s.Met)
		}
		_ = cw.Write([]string{s.Name, ts(r.From), ts(r.To), ratio(s.Objective), avail, met, sec(s.Eligible), sec(s.Downtime),
			sec(s.AllowedDowntime), sec(s.NoDataTime), sec(s.Planned), sec(s.NotObserved), strconv.Itoa(len(s.Outages)),
			strconv.Itoa(s.Incidents.Total), sec(s.Incidents.MTTA), sec(s.Incidents.MTTR),
			share(s.Incidents.RespondMet), share(s.Incidents.ResolveMet)})
	}
	_ = cw.Write(nil)
	_ = cw.Write([]string{"service", "outage_start", "outage_end", "duration_seconds", "cause", "incidents"})
	for _, s := range r.Services {
		for _, o := range s.Outages {
			ids := ""
			for i, id := range o.Incidents {
				if i > 0 {
					ids += " "
				}
				ids += strconv.FormatInt(id, 10)
			}
			_ = cw.Write([]string{s.Name, ts(o.From), ts(o.To), sec(o.Duration), o.Cause, ids})
		}
	}
	cw.Flush()
	return cw.Error()
}

//go:embed report.html
var files embed.FS

var page = template.Must(template.New("report.html").Funcs(template.FuncMap{
	"pct":  Pct,
	"ts":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"compliance": func(v float64) string {
		if v < 0 {
			return "—"
		}
		return Pct(v)
	},
	"x": func(i, n int) string { return strconv.FormatFloat(float64(i)*1000/float64(max(n, 1)), 'f', 1, 64) },
	"w": func(n int) string { return strconv.FormatFloat(1000/float64(max(n, 1))-1, 'f', 1, 64) },
}).ParseFS(files, "report.html"))
