package web

import "testing"

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
