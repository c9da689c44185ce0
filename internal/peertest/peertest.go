// Package peertest finds and starts the real programs tests run against
// (dnsmasq, Prometheus, Alertmanager, snmpd, dbus-daemon, Redmine,
// Chromium...) on loopback ports.
//
// make test installs every peer first (make test-deps), so a missing peer
// means that step went wrong: the test fails, everywhere, with what to
// install and the variable that skips it instead. Setting that variable
// to 1 skips the test with a message saying so; nothing skips silently.
// The variables, one per peer:
//
//	NINES_SKIP_ALERTMANAGER  prometheus-alertmanager
//	NINES_SKIP_AXE           axe-core (npm, in $NINES_AXE_DIR; see the Makefile)
//	NINES_SKIP_BROWSER       chromium
//	NINES_SKIP_DBUS          dbus-daemon (the logind stand-in)
//	NINES_SKIP_DNSMASQ       dnsmasq-base
//	NINES_SKIP_ICMP          unprivileged ICMP sockets (a sysctl)
//	NINES_SKIP_MSI           wixl, msitools (the Windows installer; with NINES_SKIP_WINE for its install under Wine)
//	NINES_SKIP_PACKAGES      root, dpkg, systemd (systemd-analyze): deploy/package installs the .debs on the machine
//	NINES_SKIP_PROMETHEUS    prometheus (prometheus, promtool)
//	NINES_SKIP_REDMINE       redmine
//	NINES_SKIP_RPM           rpm (reads the .rpm packages back)
//	NINES_SKIP_SMTP          python3-aiosmtpd
//	NINES_SKIP_SNMP          snmpd, snmp (snmpd, snmptrap, snmpget...)
//	NINES_SKIP_TELEGRAF      Telegraf, built from the Go module proxy (see Telegraf)
//	NINES_SKIP_VICTORIAMETRICS victoria-metrics (HA pair deduplication)
//	NINES_SKIP_WINE          wine, wine64, gcc-mingw-w64-x86-64 (the Windows agent)
package peertest

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Find returns the path of program (on PATH or in the sbin and bin
// directories, which a non-root PATH may lack). When it is missing, it
// calls Missing: pkg names the Debian package that provides it, optOut
// the variable that skips the test.
func Find(t testing.TB, program, pkg, optOut string) string {
	t.Helper()
	if lp, err := exec.LookPath(program); err == nil {
		return lp
	}
	for _, dir := range []string{"/usr/sbin/", "/usr/bin/", "/usr/local/bin/"} {
		if _, err := os.Stat(dir + program); err == nil {
			return dir + program
		}
	}
	Missing(t, program+" not found", "install Debian package "+pkg+" (make test-deps does)", optOut)
	return ""
}

// Missing ends the test because a peer is unavailable (what), saying how
// to get it (remedy): it skips when the variable optOut is 1, and fails
// otherwise.
func Missing(t testing.TB, what, remedy, optOut string) {
	t.Helper()
	if os.Getenv(optOut) == "1" {
		t.Skipf("%s; skipped because %s=1", what, optOut)
		return
	}
	t.Fatalf("%s: %s, or set %s=1 to skip this test", what, remedy, optOut)
}

// FreePort returns a free TCP port on 127.0.0.1 (also usable for UDP in
// practice; tests retry on a clash).
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// FreeAddr returns 127.0.0.1:port with a free port.
func FreeAddr(t testing.TB) string {
	return "127.0.0.1:" + strconv.Itoa(FreePort(t))
}

// OpenPort listens on a free TCP port of 127.0.0.1 and accepts and
// closes every connection, as a service's open port does for a TCP
// check; the listener closes when the test ends. It returns the address.
func OpenPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// Process is a started peer. Its output is shown when the test fails.
type Process struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (p *Process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// Output is what the process printed so far.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Start runs a program until the test ends (SIGTERM, then SIGKILL).
func Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	return StartEnv(t, nil, name, args...)
}

// StartEnv is Start with an environment (nil: the test's own).
func StartEnv(t testing.TB, env []string, name string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(name, args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("---- %s output ----\n%s", name, p.Output())
		}
	})
	return p
}

// Stop ends the process: SIGTERM, and SIGKILL after 5 s.
func (p *Process) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Exited reports whether the process has ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitTCP waits until addr accepts TCP connections or the process exits.
func WaitTCP(t testing.TB, p *Process, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if p != nil && p.Exited() {
			t.Fatalf("peer exited before listening on %s:\n%s", addr, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s after %s", addr, timeout)
}
