package pgtest

import "syscall"

// setDeathSignal asks for SIGQUIT, PostgreSQL's immediate shutdown, when
// the test binary dies.
func setDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGQUIT }
