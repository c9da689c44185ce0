package collector

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store"
)

// maintenanceBook joins the configured maintenance windows with those
// created through the API (kept in the store) and hands the tracker the
// union whenever either changes.
type maintenanceBook struct{ c *Collector }

var _ api.Maintenance = maintenanceBook{}

// Windows implements api.Maintenance: configured windows first.
func (m maintenanceBook) Windows(ctx context.Context, since time.Time) ([]state.Window, error) {
	var out []state.Window
	for _, w := range maintenance(m.c.config(), time.Now(), m.c.tracker.Snapshot()) {
		if w.To.After(since) {
			out = append(out, w)
		}
	}
	stored, err := m.c.store.MaintenanceWindows(ctx, since)
	if err != nil {
		return nil, err
	}
	cfg, now, targets := m.c.config(), time.Now(), m.c.tracker.Snapshot()
	for _, w := range stored {
		out = append(out, layout(cfg, w, now, targets)...)
	}
	return out, nil
}

// Create implements api.Maintenance: the services and calendar it names
// must exist.
func (m maintenanceBook) Create(ctx context.Context, w *state.Window) error {
	cfg := m.c.config()
	for _, sv := range w.Services {
		if cfg.Service(sv) == nil {
			return fmt.Errorf("%w: services: unknown service %q", api.ErrMaintenanceInvalid, sv)
		}
	}
	if w.Schedule != "" && cfg.Calendar(w.Schedule) == nil {
		return fmt.Errorf("%w: schedule: unknown calendar %q", api.ErrMaintenanceInvalid, w.Schedule)
	}
	if err := m.c.store.AddMaintenance(ctx, w); err != nil {
		return err
	}
	return m.apply(ctx, time.Now())
}

// End implements api.Maintenance.
func (m maintenanceBook) End(ctx context.Context, id int64, by string, now time.Time) error {
	err := m.c.store.EndMaintenance(ctx, id, by, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %d (windows from the configuration file end by editing it)", api.ErrMaintenanceNotFound, id)
	case errors.Is(err, store.ErrMaintenanceOver):
		return fmt.Errorf("%w: %v", api.ErrMaintenanceFixed, err)
	case err != nil:
		return err
	}
	return m.apply(ctx, now)
}

// apply hands the tracker every window that is not over.
func (m maintenanceBook) apply(ctx context.Context, now time.Time) error {
	all, err := m.Windows(ctx, now)
	if err != nil {
		return err
	}
	m.c.tracker.SetMaintenance(slices.Clip(all))
	return nil
}
