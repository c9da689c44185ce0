//go:build !unix

package failpoint

// stop does nothing where there is no SIGSTOP.
func stop() {}
