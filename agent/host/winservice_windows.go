package host

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

func collectWindowsServices(_ context.Context, names []string, b *Batch) error {
	// SC_MANAGER_CONNECT and SERVICE_QUERY_STATUS are enough, and are
	// granted to ordinary users: the agent needs no administrator rights.
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return fmt.Errorf("open the service manager: %w", err)
	}
	defer windows.CloseServiceHandle(scm)
	var errs []error
	for _, name := range names {
		state, err := serviceState(scm, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", name, err))
			continue
		}
		up := 0.0
		if state == windows.SERVICE_RUNNING {
			up = 1
		}
		b.Add("nines_service", "state", float64(state), "service", name)
		b.Add("nines_service", "up", up, "service", name)
	}
	return errors.Join(errs...)
}

func serviceState(scm windows.Handle, name string) (uint32, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0, err
	}
	h, err := windows.OpenService(scm, p, windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return 0, err
	}
	defer windows.CloseServiceHandle(h)
	var st windows.SERVICE_STATUS
	if err := windows.QueryServiceStatus(h, &st); err != nil {
		return 0, err
	}
	return st.CurrentState, nil
}
