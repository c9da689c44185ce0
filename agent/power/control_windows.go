package power

import "golang.org/x/sys/windows/svc"

// The codes of control.go are x/sys/windows/svc's: a difference makes one
// of these subtractions overflow, which does not compile.
const (
	_ = svc.Stop - ctlStop + (ctlStop - svc.Stop)
	_ = svc.Interrogate - ctlInterrogate + (ctlInterrogate - svc.Interrogate)
	_ = svc.Shutdown - ctlShutdown + (ctlShutdown - svc.Shutdown)
	_ = svc.PowerEvent - ctlPowerEvent + (ctlPowerEvent - svc.PowerEvent)
	_ = svc.SessionChange - ctlSessionChange + (ctlSessionChange - svc.SessionChange)
	_ = svc.PreShutdown - ctlPreShutdown + (ctlPreShutdown - svc.PreShutdown)
)
