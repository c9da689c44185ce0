// Package power tells the agent that the machine is about to sleep and
// that it woke up, early enough to say goodbye to the collector first: a
// laptop whose lid was closed is not an outage. On Linux the notice comes
// from systemd-logind over D-Bus (a delay inhibitor lock holds the sleep
// until the goodbye is sent); on Windows from the service manager's power
// events; on macOS from IOKit, through a helper process (see Helper).
// Elsewhere there is no notice and Watch says so.
package power

import (
	"context"
	"errors"
	"time"
)

// Handler is told about sleep and wake.
type Handler interface {
	// Sleep runs before the machine sleeps; the sleep waits for it (up
	// to the deadline in ctx).
	Sleep(ctx context.Context)
	// Wake runs once the machine is back.
	Wake()
}

// ErrUnsupported means this system gives no notice before sleeping.
var ErrUnsupported = errors.New("no sleep notice on this system")

// SleepBudget bounds Sleep: logind waits at most InhibitDelayMaxSec
// (5 s by default) for delay locks.
const SleepBudget = 4 * time.Second

// Options configure Watch.
type Options struct {
	// BusAddress is the D-Bus system bus to use (Linux); empty means the
	// system's (DBUS_SYSTEM_BUS_ADDRESS, else the well-known socket).
	BusAddress string
}
