package report

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is what a report is asked for, from the API's query or the
// CLI's flags.
type Request struct {
	// Month is YYYY-MM in TZ; or From and To (RFC 3339).
	Month    string
	From, To string
	TZ       string
	Services []string
	Format   string
}

// Period resolves the request's period; the error names the field.
func (r Request) Period() (time.Time, time.Time, error) {
	loc := time.UTC
	if r.TZ != "" {
		l, err := time.LoadLocation(r.TZ)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("tz: unknown time zone %q", r.TZ)
		}
		loc = l
	}
	switch {
	case r.Month != "" && (r.From != "" || r.To != ""):
		return time.Time{}, time.Time{}, errors.New("month, from and to: give a month or a from/to pair, not both")
	case r.Month != "":
		return Month(r.Month, loc)
	case r.From == "" || r.To == "":
		return time.Time{}, time.Time{}, errors.New("month or from and to: required (month=2026-10, or from= and to= as RFC 3339 times)")
	}
	from, err := time.Parse(time.RFC3339, r.From)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("from: want an RFC 3339 time, got %q", r.From)
	}
	to, err := time.Parse(time.RFC3339, r.To)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("to: want an RFC 3339 time, got %q", r.To)
	}
	if !to.After(from) {
		return time.Time{}, time.Time{}, errors.New("to: must be after from")
	}
	if to.Sub(from) > MaxPeriod {
		return time.Time{}, time.Time{}, fmt.Errorf("to: the period is longer than %d days; ask for at most a year at a time", MaxPeriod/(24*time.Hour))
	}
	return from, to, nil
}

// MaxPeriod bounds a report's period: a report reads every state change
// of every component in it, and one from year 1 to 9999 took 103 MB.
const MaxPeriod = 400 * 24 * time.Hour

// CheckFormat validates the format, defaulting to json.
func (r *Request) CheckFormat() error {
	if r.Format == "" {
		r.Format = "json"
	}
	r.Format = strings.ToLower(r.Format)
	if !slices.Contains(Formats, r.Format) {
		return fmt.Errorf("format: unknown %q (want json, csv or html)", r.Format)
	}
	return nil
}
