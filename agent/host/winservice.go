package host

import (
	"context"
	"log/slog"
)

func init() {
	Register("windows_services", true, func(_ PS, o Options, _ *slog.Logger) Collector {
		return &winServiceCollector{names: o.WindowsServices}
	})
}

// winServiceCollector reports the state of the Windows services named in
// the configuration (windows_services).
type winServiceCollector struct {
	names []string
}

// Collect reports nines_service_state{service}, the Win32 service state
// code (1 stopped, 2 start pending, 3 stop pending, 4 running, 5 continue
// pending, 6 pause pending, 7 paused; package wincompat expands it to
// windows_service_state), and nines_service_up{service}, 1 when running.
// A service that cannot be queried (not installed, access denied) is
// left out and named in the error. Without services it does nothing.
func (c *winServiceCollector) Collect(ctx context.Context, b *Batch) error {
	if len(c.names) == 0 {
		return nil
	}
	return collectWindowsServices(ctx, c.names, b)
}
