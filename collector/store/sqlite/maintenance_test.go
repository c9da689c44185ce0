package sqlite

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
)

func TestMaintenanceWindowsLifecycle(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	s := open(t, path)
	t0 := time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)
	now := t0.Add(-time.Hour)
	w := state.Window{Name: "core switch firmware", Targets: []string{"sw1"}, Selector: map[string]string{"site": "hq"},
		From: t0, To: t0.Add(2 * time.Hour), CreatedBy: "alice", CreatedAt: now}
	if err := s.AddMaintenance(ctx, &w); err != nil {
		t.Fatal(err)
	}
	later := state.Window{Name: "later", From: t0.Add(24 * time.Hour), To: t0.Add(25 * time.Hour), CreatedBy: "bob", CreatedAt: now}
	if err := s.AddMaintenance(ctx, &later); err != nil {
		t.Fatal(err)
	}
	if w.ID == 0 || later.ID == w.ID {
		t.Fatalf("ids %d, %d: want distinct, non-zero", w.ID, later.ID)
	}
	// Ending during the window cuts it at now.
	mid := t0.Add(30 * time.Minute)
	if err := s.EndMaintenance(ctx, w.ID, "carol", mid); err != nil {
		t.Fatal(err)
	}
	if err := s.EndMaintenance(ctx, w.ID, "carol", mid.Add(time.Minute)); !errors.Is(err, store.ErrMaintenanceOver) {
		t.Fatalf("ending twice: err %v, want store.ErrMaintenanceOver", err)
	}
	if err := s.EndMaintenance(ctx, 999, "carol", mid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: err %v, want store.ErrNotFound", err)
	}
	// Ending one that has not started cancels it: it ends at its start.
	if err := s.EndMaintenance(ctx, later.ID, "carol", mid); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, path) // survives a restart
	defer s.Close()
	got, err := s.MaintenanceWindows(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("windows after %v: %d, want 2", now, len(got))
	}
	g := got[0]
	if g.Name != w.Name || !g.To.Equal(mid) || g.EndedBy != "carol" || g.CreatedBy != "alice" || g.Source != "api" ||
		g.Targets[0] != "sw1" || g.Selector["site"] != "hq" {
		t.Errorf("window = %+v", g)
	}
	if !got[1].To.Equal(later.From) {
		t.Errorf("cancelled window ends %v, want its start %v", got[1].To, later.From)
	}
	if got, _ := s.MaintenanceWindows(ctx, mid); len(got) != 1 {
		t.Errorf("windows ending after %v: %d, want 1 (the first is over)", mid, len(got))
	}
}

func TestSecretSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	s := open(t, path)
	a, err := s.Secret(ctx, "session", 32)
	if err != nil || len(a) != 32 {
		t.Fatalf("secret %x, err %v", a, err)
	}
	s.Close()
	s = open(t, path)
	defer s.Close()
	b, _ := s.Secret(ctx, "session", 32)
	c, _ := s.Secret(ctx, "other", 32)
	if !bytes.Equal(a, b) || bytes.Equal(a, c) {
		t.Errorf("secret after restart %x, other %x; want the same and a different one", b, c)
	}
}

func TestDeliveries(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "n.db"))
	defer s.Close()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	inc := &alerting.Incident{DedupKey: "k", Group: "g", Rule: "R", Title: "t", Priority: alerting.P2, Status: alerting.StatusOpen,
		Labels: map[string]string{}, OpenedAt: now, Notify: []string{"desk", "pager"}}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	due, err := s.DueNotifications(ctx, now, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("due %v, %v", due, err)
	}
	s.MarkNotification(ctx, due[0].ID, alerting.Outcome{At: now, Delivered: true})
	s.MarkNotification(ctx, due[1].ID, alerting.Outcome{At: now, Failed: true, Error: "HTTP 400"})
	ds, err := s.Deliveries(ctx, inc.ID)
	if err != nil || len(ds) != 2 || ds[0].Status() != "delivered" || ds[1].Status() != "failed" || ds[1].LastError != "HTTP 400" || ds[0].Receiver != "desk" {
		t.Errorf("deliveries %+v, %v", ds, err)
	}
}
