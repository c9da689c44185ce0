package web

import (
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/availability"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/servicelevel"
)

func TestGroupState(t *testing.T) {
	for _, tc := range []struct {
		counts map[string]int
		want   string
	}{
		{map[string]int{"up": 3, "down": 1}, "degraded"},
		{map[string]int{"down": 2}, "down"},
		{map[string]int{"up": 2, "unknown": 1}, "up"},
		{map[string]int{"maintenance": 1, "unknown": 1}, "maintenance"},
		{map[string]int{"shutdown": 1}, "shutdown"},
		{map[string]int{}, "unknown"},
	} {
		if got := groupState(tc.counts); got != tc.want {
			t.Errorf("groupState(%v): got %s, want %s", tc.counts, got, tc.want)
		}
	}
}

// TestWindowFigureWords: an overspent budget reads as exhausted and by
// how much, and every figure says how much of its window it covers.
func TestWindowFigureWords(t *testing.T) {
	res := availability.Result{Up: 96 * time.Second, Down: 24 * time.Second}
	w := WindowFigure{Window: "30d", Span: 30 * 24 * time.Hour, Known: true, Availability: res.Availability(), Eligible: res.Eligible(),
		Budget: servicelevel.BudgetOf(res, 0.999)}
	if got, want := w.BudgetText(), "exhausted: 23.9s over the 120ms allowed"; got != want {
		t.Errorf("BudgetText = %q, want %q", got, want)
	}
	if got, want := w.Coverage(), "2m 0s of data in 30d"; got != want {
		t.Errorf("Coverage = %q, want %q", got, want)
	}
	full := availability.Result{Up: 30*24*time.Hour - 21*time.Minute - 36*time.Second, Down: 21*time.Minute + 36*time.Second}
	w = WindowFigure{Window: "30d", Span: 30 * 24 * time.Hour, Eligible: full.Eligible(), Budget: servicelevel.BudgetOf(full, 0.999)}
	if got, want := w.BudgetText(), "50.0 % left (21m 36s of 43m 12s)"; got != want {
		t.Errorf("BudgetText = %q, want %q", got, want)
	}
	if got, want := w.Coverage(), "all 30d"; got != want {
		t.Errorf("Coverage = %q, want %q", got, want)
	}
	s := report.Service{Known: true, BudgetOverrun: report.Seconds(62 * time.Minute)}
	if got, want := s.Budget(), "exhausted, 1h 2m 0s over"; got != want {
		t.Errorf("report Budget = %q, want %q", got, want)
	}
}
