package snmpsim

import (
	"context"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector/snmp"
)

// TestSimulatorAnswersThePoller: the poller's own modules read the
// simulated system group and all 48 interfaces from each device.
func TestSimulatorAnswersThePoller(t *testing.T) {
	sim, err := Start(3, 48, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	for _, addr := range sim.Addrs {
		c, err := snmp.Dial(snmp.Target{Address: addr, Version: "2c", Community: "public", Timeout: 2 * time.Second, MaxRepetitions: 25})
		if err != nil {
			t.Fatal(err)
		}
		sys, err := snmp.Modules["system"](context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		ifs, err := snmp.Modules["if_mib"](context.Background(), c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		oper := 0
		for _, s := range ifs {
			if s.Name == "ifOperStatus" {
				oper++
			}
		}
		if len(sys) != 2 || oper != 48 {
			t.Errorf("%s: %d system samples, %d interfaces; want 2 and 48", addr, len(sys), oper)
		}
	}
	if sim.Requests.Load() == 0 {
		t.Error("no requests counted")
	}
}
