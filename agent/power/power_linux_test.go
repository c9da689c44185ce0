package power_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/agent/power"
	"github.com/ninesmon/nines/agent/power/logindtest"
)

type recorder struct {
	sleep chan bool // the lock was held while Sleep ran
	wake  chan struct{}
	l     *logindtest.Logind
}

func (r *recorder) Sleep(ctx context.Context) {
	_, hasDeadline := ctx.Deadline()
	r.sleep <- hasDeadline && r.l.Held(true, 0)
}

func (r *recorder) Wake() { r.wake <- struct{}{} }

// TestSleepNoticeFromLogind: Watch takes a delay lock on sleep from
// logind, runs Sleep when logind announces a sleep while still holding the
// lock (so the sleep waits), releases it after, and takes a new one on
// wake.
func TestSleepNoticeFromLogind(t *testing.T) {
	l := logindtest.Start(t)
	r := &recorder{sleep: make(chan bool, 1), wake: make(chan struct{}, 1), l: l}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- power.Watch(ctx, r, power.Options{BusAddress: l.Address}) }()
	if got := l.WaitInhibit(t); got != "sleep nines-agent delay" {
		t.Fatalf("Inhibit(%s), want a delay lock on sleep", got)
	}
	if !l.Held(true, 5*time.Second) {
		t.Fatal("the lock is not held after Inhibit")
	}
	l.PrepareForSleep(t, true)
	select {
	case held := <-r.sleep:
		if !held {
			t.Error("Sleep ran without the lock held or without a deadline")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sleep not called")
	}
	if !l.Held(false, 5*time.Second) {
		t.Error("the lock is still held after Sleep returned: the machine cannot sleep")
	}
	l.PrepareForSleep(t, false)
	select {
	case <-r.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("Wake not called")
	}
	if got := l.WaitInhibit(t); got != "sleep nines-agent delay" {
		t.Fatalf("after wake: Inhibit(%s)", got)
	}
	if !l.Held(true, 5*time.Second) {
		t.Fatal("no lock held after wake")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !l.Held(false, 5*time.Second) {
		t.Error("the lock is still held after Watch returned")
	}
}

// TestNoLogind: a bus without logind (a container) is reported as
// unsupported at once, not waited on.
func TestNoLogind(t *testing.T) {
	err := power.Watch(context.Background(), &recorder{}, power.Options{BusAddress: "unix:path=/nonexistent/bus"})
	if !errors.Is(err, power.ErrUnsupported) || !strings.Contains(err.Error(), "system bus") {
		t.Fatalf("no bus: %v", err)
	}
}
