package main

import (
	"errors"
	"fmt"
	"io"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc/mgr"
)

// afterInstall asks for a delayed automatic start of the installed
// service (it then starts shortly after boot, once the network is up).
// Where the system does not support that setting (Wine answers "Invalid
// level"), the service keeps the automatic start it was created with and
// a note says so: the install does not fail over a refinement.
func afterInstall(name string, stdout io.Writer) error {
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
