package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"

	"github.com/ninesmon/nines/agent/power"
)

// runManaged runs the agent as a Windows service when the service manager
// started it. It answers the manager itself (with x/sys/windows/svc, which
// kardianos/service also uses) rather than through kardianos/service,
// because it accepts power events: a suspend makes the agent say goodbye
// before the machine sleeps, and preshutdown, so the goodbye goes out
// while the network is still up (power.ServiceControl decides what each
// request does). It reports false when the agent runs from a console.
//
// svc.IsWindowsService looks for a parent services.exe in session 0,
// which Wine's service manager is not; so when it says no, the agent
// still offers itself to the service manager, and a console run is what
// StartServiceCtrlDispatcher's ERROR_FAILED_SERVICE_CONTROLLER_CONNECT
// says (it answers at once when no service manager started the process).
func runManaged(run func(ctx context.Context) int, _ string) (int, bool) {
	h := &serviceHandler{run: run}
	err := svc.Run(serviceConfig("").Name, h)
	switch {
	case err == nil:
		return h.code, true
	case errors.Is(err, windows.ERROR_FAILED_SERVICE_CONTROLLER_CONNECT):
		return 0, false
	}
	if isService, _ := svc.IsWindowsService(); isService {
		return 1, true
	}
	return 0, false
}

type serviceHandler struct {
	run  func(ctx context.Context) int
	code int
}

func (h *serviceHandler) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	const accepts = svc.AcceptStop | svc.AcceptShutdown | svc.AcceptPreShutdown | svc.AcceptPowerEvent
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- h.run(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for {
		select {
		case h.code = <-done:
			status <- svc.Status{State: svc.StopPending}
			return false, uint32(h.code)
		case r := <-requests:
			switch a := power.ServiceControl(uint32(r.Cmd), r.EventType); a {
			case power.Interrogate:
				status <- r.CurrentStatus
			case power.Stop:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				h.code = <-done
				return false, uint32(h.code)
			case power.Sleep, power.Wake:
				power.ServiceEvent(a)
			}
		}
	}
}

// logOutput is where logs go: the Windows Event Log (Application, source
// nines-agent, registered by "service install") when the service manager
// runs the agent, since a service's stderr goes nowhere; stderr otherwise.
func logOutput(stderr io.Writer) io.Writer {
	if isService, err := svc.IsWindowsService(); err != nil || !isService {
		return stderr
	}
	el, err := eventlog.Open(serviceConfig("").Name)
	if err != nil {
		return stderr
	}
	return eventLogWriter{el}
}

// eventLogWriter writes each log record (slog writes one per call) as an
// event, of the type its level says.
type eventLogWriter struct{ log *eventlog.Log }

func (w eventLogWriter) Write(p []byte) (int, error) {
	msg := strings.TrimRight(string(p), "\n")
	var err error
	switch recordLevel(msg) {
	case slog.LevelError:
		err = w.log.Error(1, msg)
	case slog.LevelWarn:
		err = w.log.Warning(1, msg)
	default:
		err = w.log.Info(1, msg)
	}
	return len(p), err
}
