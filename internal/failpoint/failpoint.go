// Package failpoint lets crash tests kill a Nines binary at a named point:
// NINES_FAILPOINTS=name[,name...] in its environment makes Hit(name) send
// the process SIGKILL, as kill -9 from outside would, at exactly that
// step; name:stop makes the first Hit(name) send it SIGSTOP instead (on
// Unix), freezing it there as a paused VM or a long stall would, until a
// SIGCONT. Unset (always, outside tests) Hit is a map lookup that does
// nothing. It lives under agent/ with the other dependency-free helpers.
package failpoint

import (
	"os"
	"strings"
	"sync"
)

var armed = parse(os.Getenv("NINES_FAILPOINTS"))

// parse maps each armed failpoint to its action: "kill" or "stop".
func parse(s string) map[string]string {
	if s == "" {
		return nil
	}
	m := map[string]string{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		name, action, _ := strings.Cut(p, ":")
		if action != "stop" {
			action = "kill"
		}
		if name != "" {
			m[name] = action
		}
	}
	return m
}

var (
	mu      sync.Mutex
	stopped = map[string]bool{} // stop failpoints already hit
)

// Hit kills the process with SIGKILL when the named failpoint is armed,
// or stops it with SIGSTOP the first time when it is armed with :stop.
func Hit(name string) {
	switch armed[name] {
	case "":
		return
	case "stop":
		mu.Lock()
		first := !stopped[name]
		stopped[name] = true
		mu.Unlock()
		if first {
			os.Stderr.WriteString("failpoint " + name + ": SIGSTOP\n")
			stop()
		}
		return
	}
	os.Stderr.WriteString("failpoint " + name + ": SIGKILL\n")
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		_ = p.Kill() // SIGKILL on Unix, TerminateProcess on Windows
	}
	select {} // the signal arrives; nothing more runs
}
