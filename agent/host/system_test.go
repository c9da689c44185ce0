package host

import (
	"context"
	"errors"
	"testing"

	gohost "github.com/shirou/gopsutil/v3/host"
	"github.com/shirou/gopsutil/v3/load"
)

// windowsPS answers as gopsutil does on Windows: no load.Misc and no
// login sessions ("not implemented yet").
type windowsPS struct{ fixturePS }

var errNotImplemented = errors.New("not implemented yet") // gopsutil's internal sentinel's text

func (windowsPS) Misc(context.Context) (*load.MiscStat, error) {
	return nil, unsupported(errNotImplemented)
}
func (windowsPS) Users(context.Context) ([]gohost.UserStat, error) {
	return nil, unsupported(errNotImplemented)
}

// TestSystemCollectorSkipsWhatTheOSLacks: on Windows the system collector
// used to fail every cycle; a function the OS lacks now leaves its
// metrics out and the collector succeeds with the rest.
func TestSystemCollectorSkipsWhatTheOSLacks(t *testing.T) {
	c := &systemCollector{ps: windowsPS{serverFixture()}}
	b := &Batch{}
	if err := c.Collect(context.Background(), b); err != nil {
		t.Fatalf("Collect = %v, want no error for functions the OS lacks", err)
	}
	names := map[string]bool{}
	for _, s := range b.Samples {
		names[s.Name()] = true
	}
	if !names["node_boot_time_seconds"] {
		t.Errorf("boot time missing: %v", names)
	}
	for _, n := range []string{"node_procs_running", "nines_users_logged_in"} {
		if names[n] {
			t.Errorf("%s reported although the OS lacks it", n)
		}
	}
}

// TestSystemCollectorStillFailsOnRealErrors: other errors are failures.
func TestSystemCollectorStillFailsOnRealErrors(t *testing.T) {
	if unsupported(errors.New("permission denied")) == nil || errors.Is(unsupported(errors.New("x")), errors.ErrUnsupported) {
		t.Fatal("unsupported must keep other errors as they are")
	}
	if !errors.Is(unsupported(errNotImplemented), errors.ErrUnsupported) {
		t.Fatal("gopsutil's not implemented must be ErrUnsupported")
	}
	c := &systemCollector{ps: brokenUsersPS{serverFixture()}}
	if err := c.Collect(context.Background(), &Batch{}); err == nil {
		t.Fatal("a real Users error must fail the collector")
	}
}

type brokenUsersPS struct{ fixturePS }

func (brokenUsersPS) Users(context.Context) ([]gohost.UserStat, error) {
	return nil, errors.New("utmp: permission denied")
}
