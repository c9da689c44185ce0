// Package failpoint lets crash tests kill a Nines binary at a named point:
// NINES_FAILPOINTS=name[,name...] in its environment makes Hit(name) send
// the process SIGKILL, as kill -9 from outside would, at exactly that
// step. Unset (always, outside tests) Hit is a map lookup that does
// nothing. It lives under agent/ with the other dependency-free helpers.
package failpoint

import (
	"os"
	"strings"
)

var armed = parse(os.Getenv("NINES_FAILPOINTS"))

func parse(s string) map[string]bool {
	if s == "" {
		return nil
	}
	m := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			m[p] = true
		}
	}
	return m
}

// Hit kills the process with SIGKILL when the named failpoint is armed.
func Hit(name string) {
	if armed[name] {
		os.Stderr.WriteString("failpoint " + name + ": SIGKILL\n")
		if p, err := os.FindProcess(os.Getpid()); err == nil {
			_ = p.Kill() // SIGKILL on Unix, TerminateProcess on Windows
		}
		select {} // the signal arrives; nothing more runs
	}
}
