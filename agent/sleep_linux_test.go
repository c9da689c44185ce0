package agent

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/power/logindtest"
	"github.com/ninesmon/nines/internal/wire"
)

// TestGoodbyeBeforeSleep: when logind announces a sleep, the agent sends
// what it has queued and a goodbye while logind waits on its lock, sends
// nothing while asleep, and pushes again at once on wake.
func TestGoodbyeBeforeSleep(t *testing.T) {
	l := logindtest.Start(t)
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", l.Address)

	var mu sync.Mutex
	var events []string // "push" or "goodbye", in arrival order
	arrived := make(chan string, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := "push"
		if r.Header.Get(wire.HeaderGoodbye) != "" {
			kind = "goodbye"
		}
		mu.Lock()
		events = append(events, kind)
		mu.Unlock()
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
	// Asleep: several intervals pass with nothing sent.
	time.Sleep(500 * time.Millisecond)
	mu.Lock()
	if last := events[len(events)-1]; last != "goodbye" {
		t.Errorf("sent %q after the goodbye, while asleep (events %v)", last, events)
	}
	mu.Unlock()

	woke := time.Now()
	l.PrepareForSleep(t, false)
	waitFor("push")
	if took := time.Since(woke); took > 2*time.Second {
		t.Errorf("first push %v after wake", took)
	}
	l.WaitInhibit(t) // the lock is taken again for the next sleep
}
