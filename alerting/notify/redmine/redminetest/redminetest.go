// Package redminetest starts a real Redmine (Debian's, installed by make
// test-deps) for tests, on a free loopback port, and stops it after.
package redminetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// APIKey is the admin's API key the tests' Redmine is given.
const APIKey = "0123456789abcdef0123456789abcdef01234567"

// Start configures and serves Redmine through scripts/redmine.sh (found by
// walking up from the test's directory) and returns its URL, the API key
// and a project of the test's own (Redmine keeps its database between
// runs). Without Redmine installed it fails, unless NINES_SKIP_REDMINE=1.
func Start(t testing.TB) (url, apiKey, project string) {
	t.Helper()
	if _, err := os.Stat("/usr/share/redmine/config.ru"); err != nil {
		peertest.Missing(t, "redmine is not installed", "run make test-deps as root", "NINES_SKIP_REDMINE")
	}
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Fatal("the Redmine tests run Redmine as www-data: they need root")
	}
	script := findScript(t)
	lockRedmine(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	project = fmt.Sprintf("nines-test-%d", time.Now().UnixNano())
	cmd := exec.Command("bash", script, "start", fmt.Sprint(port), APIKey, project)
	cmd.Env = append(os.Environ(), "LOGFILE="+filepath.Join(t.TempDir(), "redmine.log"))
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("start redmine: %v\n%s", err, stderr)
	}
	var pid int
	if _, err := fmt.Sscan(strings.TrimSpace(string(out)), &pid); err != nil || pid <= 0 {
		t.Fatalf("start redmine: no PID in %q", out)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	})
	return fmt.Sprintf("http://127.0.0.1:%d", port), APIKey, project
}

func findScript(t testing.TB) string {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "scripts", "redmine.sh")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("scripts/redmine.sh not found above the test's directory")
		}
		dir = parent
	}
}

// lockRedmine lets one test at a time, across the test binaries go test
// runs in parallel, use Redmine: every instance writes the same SQLite
// database, and two at once answer "database is locked" (500). The lock
// is released when the test ends.
func lockRedmine(t testing.TB) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "nines-redmine.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("lock redmine: %v", err)
	}
	t.Cleanup(func() { f.Close() }) // closing releases the lock
}
