// Package report is the service level report: per service and for the
// whole catalogue over a calendar period, objective against achieved,
// every outage, incidents and their response and resolution figures, the
// components that cost most, and a day-by-day strip; as JSON, CSV or a
// printable HTML page. The collector fills it from the durable history;
// this package holds the shape and the formats.
package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Report covers a period.
type Report struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	GeneratedAt time.Time `json:"generated_at"`
	Services    []Service `json:"services"`
	// Met and Breached count the services with eligible time.
	Met      int `json:"met"`
	Breached int `json:"breached"`
}

// Service is one service's figures over the period.
type Service struct {
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Owner       string  `json:"owner,omitempty"`
	Criticality string  `json:"criticality"`
	Schedule    string  `json:"schedule"`  // calendar name, or 24x7
	TimeZone    string  `json:"time_zone"` // the days of the strip
	NoData      string  `json:"no_data_policy"`
	Objective   float64 `json:"objective"` // ratio
	// Ratio is up / eligible; Known is false when nothing was eligible.
	Known bool    `json:"known"`
	Ratio float64 `json:"availability"`
	Met   bool    `json:"met"`

	Eligible        Seconds `json:"eligible_seconds"`
	Downtime        Seconds `json:"downtime_seconds"`
	AllowedDowntime Seconds `json:"allowed_downtime_seconds"`
	// BudgetRemaining is the share of the allowed downtime left, 0 once
	// exhausted; BudgetOverrun is then the downtime beyond it.
	BudgetRemaining float64 `json:"error_budget_remaining"`
	BudgetOverrun   Seconds `json:"error_budget_overrun_seconds"`
	NoDataTime      Seconds `json:"no_data_seconds"`
	Planned         Seconds `json:"maintenance_seconds"`
	NotObserved     Seconds `json:"not_observed_seconds"`
	OutsideSchedule Seconds `json:"outside_schedule_seconds"`

	Outages    []Outage      `json:"outages"`
	Incidents  IncidentStats `json:"incidents"`
	Components []Component   `json:"top_components"`
	Days       []Day         `json:"days"`
}

// Seconds is a duration shown in whole seconds (JSON, CSV).
type Seconds time.Duration

// MarshalJSON writes the number of seconds.
func (s Seconds) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(time.Duration(s).Seconds(), 'f', -1, 64)), nil
}

// Minutes is the duration in minutes with two decimals.
func (s Seconds) Minutes() string { return fmt.Sprintf("%.2f", time.Duration(s).Minutes()) }

// String is a short human form: 43m 12s.
func (s Seconds) String() string {
	d := time.Duration(s).Round(time.Second)
	h, m, sec := d/time.Hour, d/time.Minute%60, d/time.Second%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

// Outage is one stretch of downtime inside the schedule.
type Outage struct {
	From     time.Time `json:"start"`
	To       time.Time `json:"end"`
	Duration Seconds   `json:"duration_seconds"`
	// Cause names the components that were down when it began.
	Cause     string  `json:"cause"`
	Incidents []int64 `json:"incidents"`
}

// IncidentStats are the service's incidents opened in the period.
type IncidentStats struct {
	Total      int            `json:"total"`
	ByPriority map[string]int `json:"by_priority"`
	// Mean time to acknowledge and to resolve, over those that were.
	MTTA Seconds `json:"mtta_seconds"`
	MTTR Seconds `json:"mttr_seconds"`
	// RespondMet and ResolveMet are the shares (0-1) that met their
	// priority's targets, of those whose target was due or met; -1 when
	// none was.
	RespondMet float64 `json:"response_compliance"`
	ResolveMet float64 `json:"resolution_compliance"`
}

// Component is a component's downtime inside the service's schedule.
type Component struct {
	Name     string  `json:"name"`
	Downtime Seconds `json:"downtime_seconds"`
}

// Day is one local day of the strip.
type Day struct {
	Date     string  `json:"date"`
	Known    bool    `json:"known"`
	Ratio    float64 `json:"availability"`
	Downtime Seconds `json:"downtime_seconds"`
}

// Class is the strip colour class of a day.
func (d Day) Class(objective float64) string {
	switch {
	case !d.Known:
		return "none"
	case d.Ratio >= objective:
		return "met"
	case d.Ratio >= 1-(1-objective)*10:
		return "near"
	}
	return "breached"
}

// Pct prints a ratio as a percentage with three decimals.
func Pct(r float64) string { return strconv.FormatFloat(r*100, 'f', 3, 64) + " %" }

// Month returns the calendar month "2026-10" in loc.
func Month(s string, loc *time.Location) (time.Time, time.Time, error) {
	t, err := time.ParseInLocation("2006-01", strings.TrimSpace(s), loc)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("month: want YYYY-MM, got %q", s)
	}
	return t, t.AddDate(0, 1, 0), nil
}

// Budget says where the error budget stands: "62.5 % left" or
// "exhausted, 1h 2m over".
func (s Service) Budget() string {
	if !s.Known {
		return "—"
	}
	if s.BudgetOverrun > 0 {
		return "exhausted, " + s.BudgetOverrun.String() + " over"
	}
	return fmt.Sprintf("%.1f %% left", s.BudgetRemaining*100)
}

// Coverage says how much of the period the figures cover: the eligible
// time, as "12d 4h of 30d 0h".
func (r *Report) Coverage(s Service) string {
	return s.Eligible.String() + " of " + Seconds(r.To.Sub(r.From)).String()
}
