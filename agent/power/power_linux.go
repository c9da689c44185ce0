package power

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	logindName  = "org.freedesktop.login1"
	logindPath  = dbus.ObjectPath("/org/freedesktop/login1")
	logindIface = "org.freedesktop.login1.Manager"
)

// Watch follows logind's PrepareForSleep signal until ctx is done. It
// holds a delay inhibitor lock for sleep, so logind waits for h.Sleep
// before suspending; the lock is released once Sleep returns and taken
// again on wake. It fails at once when there is no system bus or no
// logind (containers, minimal systems).
func Watch(ctx context.Context, h Handler, o Options) error {
	var conn *dbus.Conn
	var err error
	if o.BusAddress != "" {
		conn, err = dbus.Connect(o.BusAddress)
	} else {
		conn, err = dbus.ConnectSystemBus()
	}
	if err != nil {
		return fmt.Errorf("%w: system bus: %v", ErrUnsupported, err)
	}
	defer conn.Close()
	if err := conn.AddMatchSignal(dbus.WithMatchObjectPath(logindPath), dbus.WithMatchInterface(logindIface), dbus.WithMatchMember("PrepareForSleep")); err != nil {
		return fmt.Errorf("subscribe to logind: %w", err)
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	manager := conn.Object(logindName, logindPath)
	lock, err := inhibit(manager)
	if err != nil {
		return fmt.Errorf("%w: logind: %v", ErrUnsupported, err)
	}
	defer func() {
		if lock != nil {
			lock.Close()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-signals:
			if !ok {
				return fmt.Errorf("system bus connection closed")
			}
			if sig.Name != logindIface+".PrepareForSleep" || len(sig.Body) != 1 {
				continue
			}
			sleeping, _ := sig.Body[0].(bool)
			if sleeping {
				sctx, cancel := context.WithTimeout(ctx, SleepBudget)
				h.Sleep(sctx)
				cancel()
				if lock != nil {
					lock.Close() // lets the sleep go on
					lock = nil
				}
				continue
			}
			h.Wake()
			if lock == nil {
				if lock, err = inhibit(manager); err != nil {
					return fmt.Errorf("logind: take the sleep lock again: %w", err)
				}
			}
		}
	}
}

// inhibit takes a delay lock on sleep: logind holds a suspend until the
// file it returns is closed (or InhibitDelayMaxSec passes). The call is
// not cut short by the agent stopping: the answer carries a descriptor,
// which would leak if the answer were left unread.
func inhibit(manager dbus.BusObject) (*os.File, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var fd dbus.UnixFD
	err := manager.CallWithContext(ctx, logindIface+".Inhibit", 0,
		"sleep", "nines-agent", "Tell the Nines collector this machine is going to sleep", "delay").Store(&fd)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "logind-inhibitor"), nil
}
