package snmp

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/peertest"
)

type sampleWriter struct {
	mu      sync.Mutex
	samples []string
	probes  []state.Probe
}

func (s *sampleWriter) Append(l labels.Labels, _ int64, v float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, l.String()+" "+strconv.FormatFloat(v, 'g', -1, 64))
	return nil
}

func (s *sampleWriter) ProbeResult(_ context.Context, p state.Probe, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.probes = append(s.probes, p)
	return nil
}

func (s *sampleWriter) find(sub string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.samples {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}

func snmptrap(t *testing.T, args ...string) {
	t.Helper()
	bin := peertest.Find(t, "snmptrap", "snmp", "NINES_SKIP_SNMP")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "MIBS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap %v: %v\n%s", args, err, out)
	}
}

// TestTraps sends traps with Debian's snmptrap, v2c and v3, and checks
// what the receiver makes of them.
func TestTraps(t *testing.T) {
	addr := peertest.FreeAddr(t)
	r := NewTrapReceiver(TrapOptions{
		Address: addr, Communities: []string{"traps"},
		V3:      &V3{Username: "trapuser", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "authpass-1234", PrivProtocol: "AES", PrivPassphrase: "privpass-1234"},
		Devices: map[string]string{"127.0.0.1": "sw1"}, Logger: slog.New(slog.DiscardHandler),
		Interface: func(device, ifIndex string) (string, bool) {
			return device + "/Gi0/" + ifIndex, device == "sw1" && ifIndex == "3" // a monitored interface
		},
	})
	w := &sampleWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, w) }()
	defer func() { cancel(); <-done }()
	<-r.Listening()

	// v2c linkDown for ifIndex 3.
	snmptrap(t, "-v2c", "-c", "traps", addr, "", "1.3.6.1.6.3.1.1.5.3",
		"1.3.6.1.2.1.2.2.1.1.3", "i", "3", "1.3.6.1.2.1.2.2.1.7.3", "i", "1", "1.3.6.1.2.1.2.2.1.8.3", "i", "2")
	// v3 authPriv, an enterprise trap with a varbind.
	snmptrap(t, "-v3", "-u", "trapuser", "-l", "authPriv", "-a", "SHA", "-A", "authpass-1234", "-x", "AES", "-X", "privpass-1234",
		"-e", "0x8000000001020304", addr, "", "1.3.6.1.4.1.99999.0.7", "1.3.6.1.4.1.99999.1.1", "s", "fan failure")
	// A wrong community: counted, dropped.
	snmptrap(t, "-v2c", "-c", "guess", addr, "", "1.3.6.1.6.3.1.1.5.1")

	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (r.Accepted.Load() < 2 || r.BadCommunity.Load() < 1) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{
		`{__name__="ifOperStatus", device="sw1", ifIndex="3"} 2`,
		`trapName="linkDown"`,
		`trapOID="1.3.6.1.4.1.99999.0.7", vb_1_3_6_1_4_1_99999_1_1="fan failure"`,
	} {
		if !w.find(want) {
			t.Errorf("no sample with %s; got %v", want, w.samples)
		}
	}
	w.mu.Lock()
	probes := w.probes
	w.mu.Unlock()
	if len(probes) != 1 || probes[0].Name != "sw1/Gi0/3" || probes[0].OK || !probes[0].Immediate || probes[0].Kind != state.KindInterface {
		t.Errorf("linkDown on a monitored interface: probes %+v; want sw1/Gi0/3 down at once", probes)
	}
	if r.Accepted.Load() != 2 || r.BadCommunity.Load() != 1 {
		t.Errorf("accepted %d, bad community %d; want 2, 1", r.Accepted.Load(), r.BadCommunity.Load())
	}
}
