//go:build unix

package failpoint

import "syscall"

// stop sends the process SIGSTOP; it returns after a SIGCONT.
func stop() { _ = syscall.Kill(syscall.Getpid(), syscall.SIGSTOP) }
