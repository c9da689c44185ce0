package calendar

import (
	"testing"
	"time"
)

func total(c *Calendar, from, to time.Time) time.Duration {
	var d time.Duration
	for _, s := range c.Spans(from, to) {
		d += s.To.Sub(s.From)
	}
	return d
}

func mustLoad(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func weekdays(r Range, days ...time.Weekday) [7][]Range {
	var h [7][]Range
	for _, d := range days {
		h[d] = []Range{r}
	}
	return h
}

var monFri = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

// TestBerlinDST: a 24x7 calendar in Europe/Berlin over October 2026 has
// the 25-hour Sunday (clocks go back on the 25th) and March 2026 the
// 23-hour one; office hours are 8 h on those days too.
func TestBerlinDST(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	all := &Calendar{Location: berlin}
	for d := range all.Hours {
		all.Hours[d] = []Range{{0, 24 * 60}}
	}
	oct := time.Date(2026, 10, 1, 0, 0, 0, 0, berlin)
	nov := time.Date(2026, 11, 1, 0, 0, 0, 0, berlin)
	if got, want := total(all, oct, nov), (31*24+1)*time.Hour; got != want {
		t.Errorf("October 24x7: %v, want %v", got, want)
	}
	mar := time.Date(2026, 3, 29, 0, 0, 0, 0, berlin)
	if got, want := total(all, mar, mar.AddDate(0, 0, 1)), 23*time.Hour; got != want {
		t.Errorf("29 March 24x7: %v, want %v", got, want)
	}
	office := &Calendar{Location: berlin, Hours: weekdays(Range{8 * 60, 16 * 60}, time.Sunday)}
	sun := time.Date(2026, 10, 25, 0, 0, 0, 0, berlin)
	if got := total(office, sun, sun.AddDate(0, 0, 1)); got != 8*time.Hour {
		t.Errorf("office hours on the DST Sunday: %v, want 8h", got)
	}
	// 24x7 spans of that Sunday are one span of 25 hours, in UTC 22:00 to 23:00 next day.
	spans := all.Spans(sun, sun.AddDate(0, 0, 1))
	if len(spans) != 1 || !spans[0].From.Equal(time.Date(2026, 10, 24, 22, 0, 0, 0, time.UTC)) || !spans[0].To.Equal(time.Date(2026, 10, 25, 23, 0, 0, 0, time.UTC)) {
		t.Errorf("spans %v", spans)
	}
}

// TestShanghaiBusinessHours: Mon-Fri 09:00-18:00 in Asia/Shanghai (UTC+8)
// is 45 h a week; a holiday takes 9 h off and an extra Saturday adds 9.
func TestShanghaiBusinessHours(t *testing.T) {
	sh := mustLoad(t, "Asia/Shanghai")
	c := &Calendar{Location: sh, Hours: weekdays(Range{9 * 60, 18 * 60}, monFri...),
		Holidays: map[string]bool{"2026-11-04": true}, Extra: map[string]bool{"2026-11-07": true}, ExtraHours: []Range{{9 * 60, 18 * 60}}}
	mon := time.Date(2026, 11, 2, 0, 0, 0, 0, sh)
	if got := total(c, mon, mon.AddDate(0, 0, 7)); got != 45*time.Hour {
		t.Errorf("week: %v, want 45h (Wednesday off, Saturday worked)", got)
	}
	// Monday 00:00-03:00 UTC is 08:00-11:00 local: 2 h inside.
	if got := total(c, time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)); got != 2*time.Hour {
		t.Errorf("Monday 08:00-11:00 local: %v in schedule, want 2h", got)
	}
	if !c.Contains(time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)) || c.Contains(time.Date(2026, 11, 4, 3, 0, 0, 0, time.UTC)) || !c.Contains(time.Date(2026, 11, 7, 2, 0, 0, 0, time.UTC)) {
		t.Error("Contains: want Monday 09:00 in, the holiday out, the extra Saturday in")
	}
	var nilCal *Calendar
	if got := total(nilCal, mon, mon.Add(time.Hour)); got != time.Hour || !nilCal.Contains(mon) {
		t.Errorf("nil calendar (24x7): %v", got)
	}
}

func TestParse(t *testing.T) {
	days, err := ParseDays("fri-mon")
	if err != nil || len(days) != 4 || days[0] != time.Friday || days[3] != time.Monday {
		t.Errorf("fri-mon = %v, %v", days, err)
	}
	for _, bad := range []string{"moon", "mon-xyz"} {
		if _, err := ParseDays(bad); err == nil {
			t.Errorf("ParseDays(%q): no error", bad)
		}
	}
	r, err := ParseRange("08:30-24:00")
	if err != nil || r != (Range{510, 1440}) {
		t.Errorf("ParseRange = %v, %v", r, err)
	}
	for _, bad := range []string{"8-17", "18:00-08:00", "25:00-26:00", "08:00-24:30", "08:60-09:00"} {
		if _, err := ParseRange(bad); err == nil {
			t.Errorf("ParseRange(%q): no error", bad)
		}
	}
}

func TestPeriodStart(t *testing.T) {
	berlin := mustLoad(t, "Europe/Berlin")
	at := time.Date(2026, 11, 22, 0, 30, 0, 0, time.UTC) // Sunday 01:30 in Berlin
	for period, want := range map[string]time.Time{
		"day":     time.Date(2026, 11, 22, 0, 0, 0, 0, berlin),
		"week":    time.Date(2026, 11, 16, 0, 0, 0, 0, berlin),
		"month":   time.Date(2026, 11, 1, 0, 0, 0, 0, berlin),
		"quarter": time.Date(2026, 10, 1, 0, 0, 0, 0, berlin),
		"year":    time.Date(2026, 1, 1, 0, 0, 0, 0, berlin),
	} {
		got, err := PeriodStart(period, at, berlin)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v %v, want %v", period, got, err, want)
		}
	}
	// 23:30 UTC on Saturday is already Sunday in Berlin.
	if got, _ := PeriodStart("day", time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC), berlin); !got.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, berlin)) {
		t.Errorf("day in Berlin of 23:30 UTC: %v", got)
	}
	if _, err := PeriodStart("fortnight", at, berlin); err == nil {
		t.Error("unknown period: no error")
	}
}
