// Package calendar is a service's schedule: the hours that count, in a
// time zone, by weekday, without holidays and with one-off extra working
// days. A schedule turns into the exact spans of time it covers in any
// period, across DST changes (a day of 23 or 25 hours is what the clock on
// the wall says it is).
package calendar

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ninesmon/nines/collector/availability"
)

// Range is a stretch of a day in minutes from local midnight, [From, To);
// To may be 24*60.
type Range struct{ From, To int }

// Calendar is a weekly schedule. The zero value covers nothing; use nil
// for 24x7.
type Calendar struct {
	Name     string
	Location *time.Location
	// Hours per weekday (time.Sunday = 0).
	Hours [7][]Range
	// Holidays are dates (YYYY-MM-DD) that are not worked.
	Holidays map[string]bool
	// Extra are dates worked although their weekday is not, with
	// ExtraHours.
	Extra      map[string]bool
	ExtraHours []Range
}

// Day names as configuration spells them.
var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseDays parses "mon", "mon-fri", "sat-sun" or "sun-sat" (wrapping
// ranges allowed: "fri-mon").
func ParseDays(s string) ([]time.Weekday, error) {
	a, b, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	from, ok := dayNames[a]
	if !ok {
		return nil, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun, or a range like mon-fri)", a)
	}
	if !isRange {
		return []time.Weekday{from}, nil
	}
	to, ok := dayNames[b]
	if !ok {
		return nil, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", b)
	}
	var out []time.Weekday
	for d := from; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == to {
			return out, nil
		}
	}
}

// ParseRange parses "08:00-18:00" (end "24:00" allowed).
func ParseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Range{}, fmt.Errorf("want HH:MM-HH:MM, got %q", s)
	}
	from, err := clock(a)
	if err != nil {
		return Range{}, err
	}
	to, err := clock(b)
	if err != nil {
		return Range{}, err
	}
	if to <= from {
		return Range{}, fmt.Errorf("%q: the end must be after the start (a night shift is two ranges on two days)", s)
	}
	return Range{from, to}, nil
}

func clock(s string) (int, error) {
	var h, m int
	if n, err := fmt.Sscanf(strings.TrimSpace(s), "%d:%d", &h, &m); err != nil || n != 2 || h < 0 || m < 0 || m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("want a time HH:MM from 00:00 to 24:00, got %q", s)
	}
	return h*60 + m, nil
}

// Spans returns the parts of [from, to) the calendar covers, in time
// order, adjacent parts merged. A nil calendar covers everything.
func (c *Calendar) Spans(from, to time.Time) []availability.Span {
	if c == nil {
		return []availability.Span{{From: from, To: to}}
	}
	var out []availability.Span
	lf := from.In(c.Location)
	day := time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, c.Location)
	for !day.After(to) {
		y, m, d := day.Date()
		for _, r := range c.rangesOn(day) {
			s := time.Date(y, m, d, r.From/60, r.From%60, 0, 0, c.Location)
			e := time.Date(y, m, d, r.To/60, r.To%60, 0, 0, c.Location)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			if !e.After(s) {
				continue
			}
			if n := len(out); n > 0 && !s.After(out[n-1].To) {
				if e.After(out[n-1].To) {
					out[n-1].To = e
				}
				continue
			}
			out = append(out, availability.Span{From: s, To: e})
		}
		day = time.Date(y, m, d+1, 0, 0, 0, 0, c.Location)
	}
	return out
}

func (c *Calendar) rangesOn(day time.Time) []Range {
	key := day.Format(time.DateOnly)
	switch {
	case c.Holidays[key]:
		return nil
	case c.Extra[key]:
		return c.ExtraHours
	}
	return c.Hours[day.Weekday()]
}

// Sort puts every day's ranges in order; call it once after filling Hours.
func (c *Calendar) Sort() {
	for i := range c.Hours {
		sort.Slice(c.Hours[i], func(a, b int) bool { return c.Hours[i][a].From < c.Hours[i][b].From })
	}
	sort.Slice(c.ExtraHours, func(a, b int) bool { return c.ExtraHours[a].From < c.ExtraHours[b].From })
}

// Contains reports whether t is inside the schedule (for rules and
// notification routes that act only in business hours).
func (c *Calendar) Contains(t time.Time) bool {
	if c == nil {
		return true
	}
	lt := t.In(c.Location)
	min := lt.Hour()*60 + lt.Minute()
	for _, r := range c.rangesOn(lt) {
		if min >= r.From && min < r.To {
			return true
		}
	}
	return false
}

// Periods are the calendar periods PeriodStart knows.
var Periods = []string{"day", "week", "month", "quarter", "year"}

// PeriodStart is the start of the calendar period (day, week from Monday,
// month, quarter or year) that contains t, in loc.
func PeriodStart(period string, t time.Time, loc *time.Location) (time.Time, error) {
	lt := t.In(loc)
	y, m, d := lt.Date()
	switch period {
	case "day":
		return time.Date(y, m, d, 0, 0, 0, 0, loc), nil
	case "week":
		back := (int(lt.Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc), nil
	case "month":
		return time.Date(y, m, 1, 0, 0, 0, 0, loc), nil
	case "quarter":
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, loc), nil
	case "year":
		return time.Date(y, 1, 1, 0, 0, 0, 0, loc), nil
	}
	return time.Time{}, fmt.Errorf("unknown period %q (want day, week, month, quarter or year)", period)
}
