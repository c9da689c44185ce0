package main

import (
	"errors"
	"fmt"
	"io"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// Recovery of the service when its process ends without reporting a
// stop (a crash, or killed): restarted after restartDelay, every time (the
// last action repeats); the failure count is reset after a day without
// one. A stop the agent reports, even with an error code, is not a crash:
// a configuration the agent refuses is not retried in a loop.
const (
	restartDelay       = 10 * time.Second
	failureResetPeriod = 24 * 60 * 60 // seconds
)

// afterInstall completes "service install" as configureService does.
func afterInstall(name string, stdout io.Writer) error { return configureService(name, stdout) }

// configureService sets what a service's creation cannot: a delayed
// automatic start (the service then starts shortly after boot, once the
// network is up) and a restart when the process fails. "service install"
// runs it, and so does the installer ("service configure", a custom
// action after InstallServices), since wixl has neither ServiceConfig nor
// util:ServiceConfig. Where the system does not support the delayed start
// (Wine answers "Invalid level"), the service keeps its automatic start
// and a note says so: a refinement does not fail an install.
func configureService(name string, stdout io.Writer) error {
	m, err := mgr.Connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("open service %s: %w", name, err)
	}
	defer s.Close()
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{{Type: mgr.ServiceRestart, Delay: restartDelay}}, failureResetPeriod); err != nil {
		return fmt.Errorf("set restart on failure: %w", err)
	}
	fmt.Fprintf(stdout, "nines-agent: restart on failure after %s\n", restartDelay)
	info := windows.SERVICE_DELAYED_AUTO_START_INFO{IsDelayedAutoStartUp: 1}
	err = windows.ChangeServiceConfig2(s.Handle, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)))
	switch {
	case err == nil:
		fmt.Fprintln(stdout, "nines-agent: start type automatic (delayed start)")
		return nil
	case delayedStartUnsupported(err):
		fmt.Fprintf(stdout, "nines-agent: start type automatic (delayed start not supported here: %v)\n", err)
		return nil
	default:
		return fmt.Errorf("set delayed automatic start: %w", err)
	}
}

func delayedStartUnsupported(err error) bool {
	return errors.Is(err, windows.ERROR_INVALID_LEVEL) || errors.Is(err, windows.ERROR_NOT_SUPPORTED) ||
		errors.Is(err, windows.ERROR_CALL_NOT_IMPLEMENTED)
}
