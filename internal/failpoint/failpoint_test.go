package failpoint

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHitKills runs this test binary again with a failpoint armed: Hit
// kills it before it can print.
func TestHitKills(t *testing.T) {
	if os.Getenv("FAILPOINT_CHILD") == "1" {
		Hit("other") // not armed: nothing happens
		Hit("here")
		os.Stdout.WriteString("survived\n")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHitKills$")
	cmd.Env = append(os.Environ(), "FAILPOINT_CHILD=1", "NINES_FAILPOINTS=here, elsewhere")
	out, err := cmd.CombinedOutput()
	if err == nil || strings.Contains(string(out), "survived") || !strings.Contains(string(out), "failpoint here: SIGKILL") {
		t.Errorf("child: err %v, output %q; want it killed at the failpoint", err, out)
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() != -1 {
		t.Errorf("exit code %d, want -1 (killed by a signal)", ee.ExitCode())
	}
}

func TestParse(t *testing.T) {
	got := parse(" a, b:stop ,c:other,")
	want := map[string]string{"a": "kill", "b": "stop", "c": "kill"}
	if len(got) != len(want) {
		t.Fatalf("parse: %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("parse %s: %q, want %q", k, got[k], v)
		}
	}
}
