package config

import (
	"fmt"
	"sort"
	"time"

	"github.com/ninesmon/nines/collector/calendar"
	"github.com/ninesmon/nines/internal/yamlconf"
)

// Calendar is a schedule: working hours by weekday in a time zone.
type Calendar struct {
	Name string `yaml:"name"`
	// TimeZone is an IANA name ("Europe/Berlin"); default UTC.
	TimeZone string `yaml:"time_zone"`
	// Hours maps days ("mon", "mon-fri", "sat-sun") to time ranges
	// ("08:00-12:00", "13:00-17:00"; "00:00-24:00" for the whole day).
	Hours map[string][]string `yaml:"hours"`
	// Holidays are dates (YYYY-MM-DD) not worked.
	Holidays []string `yaml:"holidays"`
	// ExtraWorkingDays are dates worked although their weekday is not,
	// with ExtraDayHours (default: Monday's hours).
	ExtraWorkingDays []string `yaml:"extra_working_days"`
	ExtraDayHours    []string `yaml:"extra_day_hours"`

	built *calendar.Calendar // by Load, once the configuration is valid
}

// Calendar returns the named schedule, nil for "" (24x7) or an unknown
// name (validation refuses those). The schedules are built by Load (and
// LoadFile): a Config put together by hand has none.
func (c *Config) Calendar(name string) *calendar.Calendar {
	for i := range c.Calendars {
		if c.Calendars[i].Name == name {
			return c.Calendars[i].built
		}
	}
	return nil
}

// validateCalendars checks each calendar and that names are unique.
func validateCalendars(p *yamlconf.Problems, cals []Calendar) {
	seen := map[string]bool{}
	for i := range cals {
		cp := fmt.Sprintf("calendars[%d]", i)
		p.Name(seen, cp, "calendar", cals[i].Name)
		cals[i].compile(p, cp)
	}
}

// build makes the schedule Config.Calendar returns, from a calendar
// validation has passed.
func (cal *Calendar) build() {
	cal.built = cal.compile(nil, "")
}

// compile turns the calendar into a schedule. Problems go to p, at key
// path cp; with p nil the calendar must be valid (build). It changes
// nothing, so validation and building share one reading of the keys.
func (cal *Calendar) compile(p *yamlconf.Problems, cp string) *calendar.Calendar {
	addf := func(path, format string, args ...any) {
		if p != nil {
			p.Addf(path, format, args...)
		}
	}
	b := &calendar.Calendar{Name: cal.Name, Location: time.UTC, Holidays: map[string]bool{}, Extra: map[string]bool{}}
	if cal.TimeZone != "" {
		loc, err := time.LoadLocation(cal.TimeZone)
		if err != nil {
			addf(cp+".time_zone", "calendar %q: unknown time zone %q", cal.Name, cal.TimeZone)
		} else {
			b.Location = loc
		}
	}
	if len(cal.Hours) == 0 {
		addf(cp+".hours", "calendar %q: no working hours", cal.Name)
	}
	ranges := func(path string, specs []string) []calendar.Range {
		var out []calendar.Range
		for j, spec := range specs {
			r, err := calendar.ParseRange(spec)
			if err != nil {
				addf(fmt.Sprintf("%s[%d]", path, j), "calendar %q: %v", cal.Name, err)
				continue
			}
			out = append(out, r)
		}
		return out
	}
	days := make([]string, 0, len(cal.Hours))
	for d := range cal.Hours {
		days = append(days, d)
	}
	sort.Strings(days)
	for _, d := range days {
		wds, err := calendar.ParseDays(d)
		if err != nil {
			addf(cp+".hours."+d, "calendar %q: %v", cal.Name, err)
			continue
		}
		rs := ranges(cp+".hours."+d, cal.Hours[d])
		for _, wd := range wds {
			b.Hours[wd] = append(b.Hours[wd], rs...)
		}
	}
	for j, day := range cal.Holidays {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			addf(fmt.Sprintf("%s.holidays[%d]", cp, j), "calendar %q: want a date YYYY-MM-DD, got %q", cal.Name, day)
		}
		b.Holidays[day] = true
	}
	for j, day := range cal.ExtraWorkingDays {
		if _, err := time.Parse(time.DateOnly, day); err != nil {
			addf(fmt.Sprintf("%s.extra_working_days[%d]", cp, j), "calendar %q: want a date YYYY-MM-DD, got %q", cal.Name, day)
		}
		b.Extra[day] = true
	}
	b.ExtraHours = b.Hours[time.Monday]
	if len(cal.ExtraDayHours) > 0 {
		b.ExtraHours = ranges(cp+".extra_day_hours", cal.ExtraDayHours)
	}
	b.Sort()
	return b
}
