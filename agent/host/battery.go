package host

import (
	"context"
	"log/slog"
)

func init() {
	Register("battery", true, func(ps PS, o Options, _ *slog.Logger) Collector { return &batteryCollector{} })
}

// Battery is one power supply's state.
type Battery struct {
	Name     string
	Capacity float64 // percent
	Present  bool
	Status   string // Charging, Discharging, Full, ...
}

type batteryCollector struct{}

// Collect reports batteries where present (desktop terminals and laptops),
// with node_exporter's power_supply names: node_power_supply_capacity,
// node_power_supply_present and nines_power_supply_discharging. Hosts with
// no battery report nothing.
func (c *batteryCollector) Collect(ctx context.Context, b *Batch) error {
	bats, err := readBatteries(ctx)
	if err != nil {
		return err
	}
	for _, bat := range bats {
		present, discharging := 0.0, 0.0
		if bat.Present {
			present = 1
		}
		if bat.Status == "Discharging" {
			discharging = 1
		}
		b.Add("node_power_supply", "capacity", bat.Capacity, "power_supply", bat.Name)
		b.Add("node_power_supply", "present", present, "power_supply", bat.Name)
		b.Add("nines_power_supply", "discharging", discharging, "power_supply", bat.Name)
	}
	return nil
}
