package host

import (
	"errors"
	"testing"

	"github.com/distatus/battery"
)

// TestFromDistatus: what distatus/battery reports on Windows and macOS
// becomes our batteries; unreadable charges are left out, a fatal error is
// reported.
func TestFromDistatus(t *testing.T) {
	discharging := battery.State{Raw: battery.Discharging}
	bats := []*battery.Battery{
		{State: discharging, Current: 30000, Full: 40000},
		{State: battery.State{Raw: battery.Charging}, Current: 1, Full: 0}, // no full charge known
		{State: discharging, Current: 10, Full: 20},                        // charge unreadable
		{Current: 50, Full: 100},                                           // state unreadable
	}
	errs := battery.Errors{nil, nil, battery.ErrPartial{Current: errors.New("io")}, battery.ErrPartial{State: errors.New("io")}}
	got, err := fromDistatus(bats, errs)
	if err != nil {
		t.Fatal(err)
	}
	want := []Battery{
		{Name: "BAT0", Capacity: 75, Present: true, Status: "Discharging"},
		{Name: "BAT3", Capacity: 50, Present: true, Status: "Unknown"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("battery %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	if _, err := fromDistatus(nil, battery.ErrFatal{Err: errors.New("no WMI")}); err == nil {
		t.Error("a fatal error was not reported")
	}
}
