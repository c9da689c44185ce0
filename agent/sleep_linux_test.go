package agent

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/power/logindtest"
	"github.com/ninesmon/nines/internal/wire"
)

// TestGoodbyeBeforeSleep: against a real D-Bus daemon, when logind
// announces a sleep the agent sends what it has queued and a goodbye while
// logind waits on its lock, releases the lock after, pushes again on wake
// and takes a new lock for the next sleep.
func TestGoodbyeBeforeSleep(t *testing.T) {
	l := logindtest.Start(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", l.Address)

	arrived := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "push"
		if r.Header.Get(wire.HeaderGoodbye) != "" {
			kind = "goodbye"
		}
		arrived <- kind
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close) // after the agent stops
	startAgent(t, fmt.Sprintf(`
interval: 100ms
collectors: {disable: [diskstats, filesystem, hwmon, netdev, processes]}
push: {urls: [%q], token: test-token, spool_dir: ""}
`, srv.URL+"/api/v1/push"))
	waitFor := func(kind string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case k := <-arrived:
				if k == kind {
					return
				}
			case <-timeout:
				t.Fatalf("no %s arrived", kind)
			}
		}
	}
	waitFor("push")
	l.WaitInhibit(t)
	if !l.Held(true, 5*time.Second) {
		t.Fatal("the agent holds no sleep lock")
	}

	l.PrepareForSleep(t, true)
	waitFor("goodbye")
	if !l.Held(false, 5*time.Second) {
		t.Fatal("the agent did not release its sleep lock after the goodbye")
	}
	// What happens while asleep, and how soon the first push comes after
	// a wake, TestSleepAndWake checks on a fake clock.
	l.PrepareForSleep(t, false)
	waitFor("push")
	l.WaitInhibit(t) // the lock is taken again for the next sleep
}
