package web

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/servicelevel"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

type noFigures struct{}

func (noFigures) ByService() map[string]servicelevel.Figures { return nil }

type respondIn15m struct{}

func (respondIn15m) TargetsFor(alerting.Priority) (alerting.Targets, bool) {
	return alerting.Targets{Respond: 15 * time.Minute}, true
}

// TestBoardIncidentsByPriorityThenAge: with more active incidents than
// the board carries, an old P1 and the oldest P2s are on it and the newest
// P4s are the ones left out, counted by priority.
func TestBoardIncidentsByPriorityThenAge(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	add := func(key string, p alerting.Priority, opened time.Time) {
		t.Helper()
		inc := &alerting.Incident{DedupKey: key, Group: "g", Rule: "R", Title: key, Target: "web1", Priority: p,
			Status: alerting.StatusOpen, OpenedAt: opened}
		if err := st.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	add("old-p1", alerting.P1, t0)
	for i := range 3 {
		add(fmt.Sprintf("p2-%d", i), alerting.P2, t0.Add(time.Duration(i+1)*time.Minute))
	}
	for i := range MaxBoardIncidents + 50 {
		add(fmt.Sprintf("p4-%d", i), alerting.P4, t0.Add(time.Hour+time.Duration(i)*time.Second))
	}
	cfg := config.Default()
	d := NewData(Sources{Config: func() *config.Config { return cfg }, Targets: func() []state.Target { return nil },
		SLA: noFigures{}, Store: st, Policy: respondIn15m{}})
	b, err := d.Board(ctx, t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := len(b.Incidents); got != MaxBoardIncidents {
		t.Fatalf("board carries %d incidents, want %d", got, MaxBoardIncidents)
	}
	var got []string
	for _, r := range b.Incidents[:5] {
		got = append(got, r.Title)
	}
	if want := []string{"old-p1", "p2-0", "p2-1", "p2-2", "p4-0"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("first incidents on the board: got %v, want %v", got, want)
	}
	if last := b.Incidents[len(b.Incidents)-1].Title; last != fmt.Sprintf("p4-%d", MaxBoardIncidents-5) {
		t.Errorf("last incident on the board: got %s", last)
	}
	if got, want := fmt.Sprint(b.Active), "map[P1:1 P2:3 P4:250]"; got != want {
		t.Errorf("active by priority: got %s, want %s", got, want)
	}
}
