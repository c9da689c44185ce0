package power

// Action is what the agent does on a request from the Windows service
// manager. ServiceControl decides it; the service handler
// (agent/cmd/nines-agent) carries it out.
type Action int

const (
	// Ignore: the request changes nothing for the agent.
	Ignore Action = iota
	// Interrogate: report the current status again.
	Interrogate
	// Stop: stop collecting, flush the queue, say goodbye (the host
	// becomes SHUTDOWN) and exit.
	Stop
	// Sleep: say goodbye before the machine sleeps; keep the process.
	Sleep
	// Wake: the machine is back; collect and push at once.
	Wake
)

func (a Action) String() string {
	switch a {
	case Interrogate:
		return "interrogate"
	case Stop:
		return "stop"
	case Sleep:
		return "sleep"
	case Wake:
		return "wake"
	}
	return "ignore"
}

// Service control codes (winsvc.h, SERVICE_CONTROL_*), as
// x/sys/windows/svc.Cmd has them (checked at compile time in
// control_windows.go).
const (
	ctlStop          = 0x1
	ctlInterrogate   = 0x4
	ctlShutdown      = 0x5
	ctlPowerEvent    = 0xD
	ctlSessionChange = 0xE
	ctlPreShutdown   = 0xF
)

// Power broadcast event types (winuser.h, PBT_*) carried by
// SERVICE_CONTROL_POWEREVENT.
const (
	pbtAPMSuspend         = 0x4
	pbtAPMResumeSuspend   = 0x7
	pbtAPMResumeAutomatic = 0x12
)

// ServiceControl maps a service control request (its code and, for
// power and session events, the event type) to what the agent does:
//
//   - stop, system shutdown and preshutdown: Stop, so a desktop switched
//     off is SHUTDOWN, not an outage. Preshutdown comes first, while the
//     network is still up (Windows waits for the service, up to its
//     preshutdown timeout); shutdown is the fallback.
//   - PBT_APMSUSPEND: Sleep; PBT_APMRESUMEAUTOMATIC (always sent on
//     resume) and PBT_APMRESUMESUSPEND (sent when a user is present):
//     Wake. Other power events (battery, power settings): Ignore.
//   - a session change, including a user's logoff: Ignore. The agent
//     runs as a service in session 0 and the machine stays up when a user
//     logs off; a goodbye would show a running machine as SHUTDOWN. When
//     the machine then shuts down, the shutdown notice stops the agent.
//     (An agent run in the user's own console session ends with it: Go
//     delivers CTRL_LOGOFF_EVENT and CTRL_SHUTDOWN_EVENT as SIGTERM,
//     which makes the goodbye.)
//   - anything else: Ignore.
func ServiceControl(cmd, eventType uint32) Action {
	switch cmd {
	case ctlStop, ctlShutdown, ctlPreShutdown:
		return Stop
	case ctlInterrogate:
		return Interrogate
	case ctlPowerEvent:
		switch eventType {
		case pbtAPMSuspend:
			return Sleep
		case pbtAPMResumeSuspend, pbtAPMResumeAutomatic:
			return Wake
		}
	}
	return Ignore
}
