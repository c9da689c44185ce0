package power

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
)

// HelperCommand is the hidden first argument that makes nines-agent run
// as its own power helper (macOS): a separate process, so that a fault
// in the system framework calls it makes costs the sleep notices, never
// the agent.
const HelperCommand = "__power-helper"

// The helper's protocol, one line each way:
//
//	helper: ready        registered for sleep notices
//	helper: sleep        the machine is about to sleep; waits for done
//	agent:  done         the goodbye is sent: the sleep may go on
//	helper: wake         the machine woke up
//	helper: error MSG    no notices here (it then exits)
const (
	lineReady = "ready"
	lineSleep = "sleep"
	lineDone  = "done"
	lineWake  = "wake"
	lineError = "error "
)

// watchHelper runs the helper cmd and turns its lines into h's calls
// until ctx is done (then it stops the helper and returns nil) or the
// helper stops.
func watchHelper(ctx context.Context, h Handler, cmd *exec.Cmd) error {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr strings.Builder
	cmd.Stderr = &limitedWriter{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%w: power helper: %v", ErrUnsupported, err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	stop := func() error {
		stdin.Close()
		_ = cmd.Process.Kill()
		for range lines { // let the reader finish before Wait closes stdout
		}
		return cmd.Wait()
	}
	ready := false
	for {
		select {
		case <-ctx.Done():
			_ = stop()
			return nil
		case line, ok := <-lines:
			switch {
			case !ok:
				err := stop()
				why := strings.TrimSpace(stderr.String())
				if why == "" && err != nil {
					why = err.Error()
				}
				if !ready {
					return fmt.Errorf("%w: power helper: %s", ErrUnsupported, why)
				}
				return fmt.Errorf("power helper stopped: %s", why)
			case line == lineReady:
				ready = true
			case line == lineSleep:
				sctx, cancel := context.WithTimeout(ctx, SleepBudget)
				h.Sleep(sctx)
				cancel()
				if _, err := io.WriteString(stdin, lineDone+"\n"); err != nil {
					_ = stop()
					return fmt.Errorf("power helper: %w", err)
				}
			case line == lineWake:
				h.Wake()
			case strings.HasPrefix(line, lineError):
				_ = stop()
				return fmt.Errorf("%w: %s", ErrUnsupported, strings.TrimPrefix(line, lineError))
			}
		}
	}
}

// limitedWriter keeps the first n bytes written to it.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		l.n -= k
		if _, err := l.w.Write(p[:k]); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}
