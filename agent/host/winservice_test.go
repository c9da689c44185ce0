package host

import (
	"context"
	"runtime"
	"testing"
)

// TestWindowsServicesElsewhere checks that, away from Windows, the
// windows_services collector does nothing without services and fails
// visibly with them (the query itself runs under Wine in
// collector/e2e TestWindowsAgentUnderWine).
func TestWindowsServicesElsewhere(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows queries the service manager")
	}
	var b Batch
	if err := (&winServiceCollector{}).Collect(context.Background(), &b); err != nil || len(b.Samples) != 0 {
		t.Errorf("no services: got %v and %d samples, want nil and none", err, len(b.Samples))
	}
	err := (&winServiceCollector{names: []string{"Spooler"}}).Collect(context.Background(), &b)
	if err == nil || len(b.Samples) != 0 {
		t.Errorf("with services: got %v and %d samples, want an error and none", err, len(b.Samples))
	}
}
