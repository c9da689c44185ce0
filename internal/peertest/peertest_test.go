package peertest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how the test would have ended.
type recorder struct {
	testing.TB
	failed, skipped string
}

func (r *recorder) Helper()                           {}
func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }
func (r *recorder) Skipf(format string, args ...any)  { r.skipped = fmt.Sprintf(format, args...) }

// TestMissingPeer: a missing peer fails the test naming the package and
// the opt-out variable; with the variable set to 1 it skips, saying why.
func TestMissingPeer(t *testing.T) {
	const optOut = "NINES_SKIP_PEERTEST_SELFTEST"
	for _, env := range []string{"", "0", "true"} {
		t.Setenv(optOut, env)
		r := &recorder{TB: t}
		if got := Find(r, "nines-no-such-program", "nines-no-such-package", optOut); got != "" {
			t.Errorf("%s=%q: got path %q", optOut, env, got)
		}
		if r.skipped != "" || !strings.Contains(r.failed, "install Debian package nines-no-such-package") || !strings.Contains(r.failed, optOut+"=1") {
			t.Errorf("%s=%q: got failure %q, skip %q; want a failure naming the package and %s=1", optOut, env, r.failed, r.skipped, optOut)
		}
	}
	t.Setenv(optOut, "1")
	r := &recorder{TB: t}
	Find(r, "nines-no-such-program", "nines-no-such-package", optOut)
	if r.failed != "" || !strings.Contains(r.skipped, "nines-no-such-program not found") || !strings.Contains(r.skipped, optOut+"=1") {
		t.Errorf("opted out: got failure %q, skip %q; want a skip saying why", r.failed, r.skipped)
	}
}

func TestFindPresent(t *testing.T) {
	r := &recorder{TB: t}
	if got := Find(r, "sh", "dash", "NINES_SKIP_PEERTEST_SELFTEST"); got == "" || r.failed != "" || r.skipped != "" {
		t.Errorf("sh: got %q (failure %q, skip %q)", got, r.failed, r.skipped)
	}
}
