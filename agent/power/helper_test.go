package power

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// The test binary plays the helper when NINES_TEST_POWER_HELPER says how.
func TestMain(m *testing.M) {
	switch os.Getenv("NINES_TEST_POWER_HELPER") {
	case "":
		os.Exit(m.Run())
	case "sleep-wake":
		// ready, a sleep that waits for done (exit 3 without it), a wake,
		// then stay until the agent closes stdin.
		in := bufio.NewScanner(os.Stdin)
		fmt.Println(lineReady)
		fmt.Println(lineSleep)
		if !in.Scan() || in.Text() != lineDone {
			os.Exit(3)
		}
		fmt.Println(lineWake)
		for in.Scan() {
		}
		os.Exit(0)
	case "unsupported":
		fmt.Println(lineError + "IORegisterForSystemPower failed")
		os.Exit(1)
	case "crash":
		fmt.Fprintln(os.Stderr, "SIGSEGV: segmentation violation")
		os.Exit(2)
	}
}

type helperRecorder struct {
	sleeps, wakes chan struct{}
}

func (r helperRecorder) Sleep(ctx context.Context) {
	if _, ok := ctx.Deadline(); ok {
		r.sleeps <- struct{}{}
	}
}

func (r helperRecorder) Wake() { r.wakes <- struct{}{} }

func helperCmd(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "NINES_TEST_POWER_HELPER="+mode)
	return cmd
}

// TestHelperProtocol: a sleep notice from the helper runs Sleep and is
// answered done (the helper allows the sleep only then), a wake runs
// Wake, and stopping the watch stops the helper.
func TestHelperProtocol(t *testing.T) {
	r := helperRecorder{sleeps: make(chan struct{}, 1), wakes: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchHelper(ctx, r, helperCmd("sleep-wake")) }()
	for _, ev := range []struct {
		name string
		ch   chan struct{}
	}{{"Sleep", r.sleeps}, {"Wake", r.wakes}} {
		select {
		case <-ev.ch:
		case err := <-done:
			t.Fatalf("watch ended before %s: %v", ev.name, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("%s not called", ev.name)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("stopping: %v", err)
	}
}

// TestHelperFailures: a helper that finds no notices, or dies, is
// reported (unsupported before it was ready), never a hang or a panic.
func TestHelperFailures(t *testing.T) {
	r := helperRecorder{sleeps: make(chan struct{}, 1), wakes: make(chan struct{}, 1)}
	for mode, want := range map[string]string{
		"unsupported": "IORegisterForSystemPower failed",
		"crash":       "SIGSEGV",
	} {
		err := watchHelper(context.Background(), r, helperCmd(mode))
		if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want unsupported naming %q", mode, err, want)
		}
	}
	err := watchHelper(context.Background(), r, exec.Command("/nonexistent/nines-agent", HelperCommand))
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("no helper binary: %v", err)
	}
}
