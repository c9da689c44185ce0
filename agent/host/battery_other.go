//go:build windows || darwin

package host

import (
	"context"

	"github.com/distatus/battery"
)

// readBatteries reads the batteries with distatus/battery (the Windows
// battery class driver; macOS's AppleSmartBattery through ioreg).
func readBatteries(context.Context) ([]Battery, error) {
	return fromDistatus(battery.GetAll())
}
