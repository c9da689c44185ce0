package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestAgentDependencies keeps the agent light: it must not link the
// collector's dependencies, on any platform it ships for.
func TestAgentDependencies(t *testing.T) {
	forbidden := []string{
		"modernc.org/sqlite",
		"github.com/jackc/pgx/v5",
		"github.com/gosnmp/gosnmp",
		"github.com/prometheus/client_golang",
		"github.com/prometheus/prometheus",
		"github.com/ninesmon/nines/collector",
		"github.com/ninesmon/nines/alerting",
		"github.com/ninesmon/nines/rules",
	}
	for _, goos := range []string{"linux", "windows", "darwin"} {
		cmd := exec.Command("go", "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "GOARCH=amd64", "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list (%s): %v\n%s", goos, err, out)
		}
		for _, pkg := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if pkg == f || strings.HasPrefix(pkg, f+"/") {
					t.Errorf("%s: nines-agent depends on %s", goos, pkg)
				}
			}
		}
	}
}
