package power

import (
	"context"

	"golang.org/x/sys/windows/svc"
)

// events carries the service manager's power events to Watch: true
// before sleep, false after wake.
var events = make(chan bool, 8)

// ServiceEvent passes on a Sleep or Wake that ServiceControl made of a
// request the service manager sent to the agent's service handler (which
// accepts svc.AcceptPowerEvent); other actions are not power events and
// are ignored. It does not block: Windows does not wait for services to
// finish with a suspend notice, so the goodbye is sent as fast as it can
// be.
func ServiceEvent(a Action) {
	if a != Sleep && a != Wake {
		return
	}
	select {
	case events <- a == Sleep:
	default:
	}
}

// Watch follows the power events the service manager sends to the agent.
// An agent run from a console gets none.
func Watch(ctx context.Context, h Handler, _ Options) error {
	if isService, err := svc.IsWindowsService(); err != nil || !isService {
		return ErrUnsupported
	}
	asleep := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case sleeping := <-events:
			switch {
			case sleeping && !asleep:
				sctx, cancel := context.WithTimeout(ctx, SleepBudget)
				h.Sleep(sctx)
				cancel()
			case !sleeping && asleep:
				h.Wake()
			}
			asleep = sleeping
		}
	}
}
