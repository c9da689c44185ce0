package servicelevel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ninesmon/nines/collector/report"
	"log/slog"
)

// Mailer sends a report by mail (the email receiver).
type Mailer interface {
	SendReport(ctx context.Context, subject, text string, attachment []byte, filename, contentType string) error
}

// Monthly writes each month's service level report once it is over.
type Monthly struct {
	Sources Sources
	// Mailer is the receiver of that name when it can mail reports.
	Mailer func(receiver string) (Mailer, bool)
	Logger *slog.Logger
}

// Write writes last month's service level report once the month is over
// (in the configured time zone): each format once, as
// sla-YYYY-MM.<format> in the directory, and mails it once when an email
// receiver is named (a .sent marker remembers). Safe to call often.
func (m *Monthly) Write(ctx context.Context, now time.Time) error {
	cfg := m.Sources.Config()
	mr := cfg.Reports.Monthly
	if mr == nil || len(cfg.Services) == 0 {
		return nil
	}
	loc := time.UTC
	if mr.TimeZone != "" {
		l, err := time.LoadLocation(mr.TimeZone)
		if err != nil {
			return err
		}
		loc = l
	}
	ln := now.In(loc)
	to := time.Date(ln.Year(), ln.Month(), 1, 0, 0, 0, 0, loc)
	from := to.AddDate(0, -1, 0)
	if now.Sub(to) < 5*time.Minute {
		return nil // let the month's last state changes land
	}
	if err := os.MkdirAll(mr.Directory, 0o750); err != nil {
		return err
	}
	name := "sla-" + from.Format("2006-01")
	var rep *report.Report
	build := func() (*report.Report, error) {
		if rep != nil {
			return rep, nil
		}
		r, err := m.Sources.Report(ctx, from, to, nil, now)
		rep = r
		return r, err
	}
	var errs []error
	for _, format := range mr.Formats {
		path := filepath.Join(mr.Directory, name+"."+format)
		if _, err := os.Stat(path); err == nil {
			continue
		}
		r, err := build()
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if err := report.Write(&buf, r, format); err != nil {
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, buf.Bytes(), 0o640); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Rename(tmp, path); err != nil {
			errs = append(errs, err)
			continue
		}
		m.Logger.Info("monthly service level report written", "path", path)
	}
	if mr.Email != "" {
		marker := filepath.Join(mr.Directory, name+".sent")
		if _, err := os.Stat(marker); err != nil {
			var n Mailer
			ok := false
			if m.Mailer != nil {
				n, ok = m.Mailer(mr.Email)
			}
			if !ok {
				return errors.Join(append(errs, fmt.Errorf("reports.monthly.email: %q is not an email receiver", mr.Email))...)
			}
			r, err := build()
			if err != nil {
				return err
			}
			var html bytes.Buffer
			if err := report.Write(&html, r, "html"); err != nil {
				return err
			}
			text := fmt.Sprintf("Service level report for %s: %d services met their objective, %d breached.\n", from.Format("January 2006"), r.Met, r.Breached)
			for _, s := range r.Services {
				status := "no data"
				if s.Known {
					status = report.Pct(s.Ratio) + " of " + report.Pct(s.Objective)
					if !s.Met {
						status += " BREACHED"
					}
				}
				text += fmt.Sprintf("  %-24s %s\n", s.Name, status)
			}
			if err := n.SendReport(ctx, "Nines service level report "+from.Format("2006-01"), text, html.Bytes(), name+".html", "text/html; charset=utf-8"); err != nil {
				errs = append(errs, fmt.Errorf("mail the monthly report: %w", err))
			} else if err := os.WriteFile(marker, []byte(now.Format(time.RFC3339)+"\n"), 0o640); err != nil {
				errs = append(errs, err)
			} else {
				m.Logger.Info("monthly service level report mailed", "receiver", mr.Email)
			}
		}
	}
	return errors.Join(errs...)
}
