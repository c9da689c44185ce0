//go:build linux

// Package logindtest runs a private D-Bus daemon (Debian's dbus-daemon)
// with a stand-in for systemd-logind's sleep interface on it, for tests:
// CI machines and containers have no logind to suspend. The stand-in does
// what logind does for sleep: Inhibit hands out the write end of a pipe
// and the sleep is held while the taker keeps it open; PrepareForSleep is
// emitted before sleeping (true) and after waking (false). The taker must
// run in the test's process (Held counts the process's descriptors).
package logindtest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/ninesmon/nines/internal/peertest"
)

// Logind is the running bus and stand-in.
type Logind struct {
	// Address is the bus address (for DBUS_SYSTEM_BUS_ADDRESS).
	Address string
	conn    *dbus.Conn

	mu      sync.Mutex
	locks   []*os.File // the pipes handed out, both ends
	inhibit chan string
}

// Start runs dbus-daemon on a socket in a temporary directory and
// registers the stand-in; both stop when the test ends. Without
// dbus-daemon it fails the test, unless NINES_SKIP_DBUS=1 (see peertest).
func Start(t *testing.T) *Logind {
	t.Helper()
	bin := peertest.Find(t, "dbus-daemon", "dbus-daemon", "NINES_SKIP_DBUS")
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=`+filepath.Join(dir, "bus")+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`), 0o600)
	cmd := exec.Command(bin, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("dbus-daemon said:\n%s", stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		addr <- strings.TrimSpace(line)
	}()
	l := &Logind{inhibit: make(chan string, 16)}
	select {
	case l.Address = <-addr:
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon printed no address")
	}
	if l.Address == "" {
		t.Fatal("dbus-daemon did not start")
	}
	l.conn, err = dbus.Connect(l.Address)
	if err != nil {
		t.Fatalf("connect to %s: %v", l.Address, err)
	}
	t.Cleanup(func() { l.conn.Close() })
	if err := l.conn.Export(manager{l}, "/org/freedesktop/login1", "org.freedesktop.login1.Manager"); err != nil {
		t.Fatal(err)
	}
	reply, err := l.conn.RequestName("org.freedesktop.login1", dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.login1: %v (reply %v)", err, reply)
	}
	t.Cleanup(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, f := range l.locks {
			f.Close()
		}
	})
	return l
}

type manager struct{ l *Logind }

// Inhibit is logind's: a delay lock on what, held while the returned file
// is open.
func (m manager) Inhibit(what, who, why, mode string) (dbus.UnixFD, *dbus.Error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, dbus.MakeFailedError(err)
	}
	fd := dbus.UnixFD(w.Fd())
	m.l.mu.Lock()
	m.l.locks = append(m.l.locks, r, w)
	m.l.mu.Unlock()
	m.l.inhibit <- fmt.Sprintf("%s %s %s", what, who, mode)
	return fd, nil
}

// WaitInhibit waits for the next Inhibit call and returns "what who mode".
func (l *Logind) WaitInhibit(t *testing.T) string {
	t.Helper()
	select {
	case s := <-l.inhibit:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("no Inhibit call")
		return ""
	}
}

// PrepareForSleep emits the signal logind sends before sleeping (true)
// and after waking (false).
func (l *Logind) PrepareForSleep(t *testing.T, sleeping bool) {
	t.Helper()
	if err := l.conn.Emit("/org/freedesktop/login1", "org.freedesktop.login1.Manager.PrepareForSleep", sleeping); err != nil {
		t.Fatal(err)
	}
}

// Held waits up to wait for the last lock handed out to be in the state
// want (held: the taker has its copy open) and reports whether it got
// there.
func (l *Logind) Held(want bool, wait time.Duration) bool {
	l.mu.Lock()
	if len(l.locks) == 0 {
		l.mu.Unlock()
		return !want
	}
	pipe, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", l.locks[len(l.locks)-1].Fd()))
	l.mu.Unlock()
	deadline := time.Now().Add(wait)
	for {
		// Our two ends, and the taker's copy while it holds the lock.
		if held := countFDs(pipe) > 2; held == want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func countFDs(link string) int {
	entries, _ := os.ReadDir("/proc/self/fd")
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == link {
			n++
		}
	}
	return n
}
