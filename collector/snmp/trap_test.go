package snmp

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
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

// logRecorder keeps every log record's message and reason.
type logRecorder struct {
	mu      sync.Mutex
	reasons []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Message == "trap refused" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "reason" {
				l.reasons = append(l.reasons, a.Value.String())
			}
			return true
		})
	}
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) count(reason string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reasons {
		if r == reason {
			n++
		}
	}
	return n
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// startTraps runs a receiver for the test.
func startTraps(t *testing.T, opts TrapOptions) (*TrapReceiver, *sampleWriter) {
	t.Helper()
	if opts.Address == "" {
		opts.Address = peertest.FreeAddr(t)
	}
	r := NewTrapReceiver(opts)
	w := &sampleWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, w) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	select {
	case <-r.Listening():
	case err := <-done:
		t.Fatal(err)
	}
	return r, w
}

func refused(r *TrapReceiver, reason string) float64 {
	return testutil.ToFloat64(r.Refused.WithLabelValues(reason))
}

// waitFor polls cond (a real peer answers asynchronously).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// netsnmp runs one of net-snmp's senders and returns its error and output.
func netsnmp(t *testing.T, program string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(peertest.Find(t, program, "snmp", "NINES_SKIP_SNMP"), args...)
	cmd.Env = append(os.Environ(), "MIBS=", "SNMPCONFPATH="+t.TempDir(), "SNMP_PERSISTENT_DIR="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestTrapRefusals sends v1, v2c and v3 traps and informs with
// snmptrap and snmpinform, right and wrong, to a receiver that requires
// authPriv, and checks each refused datagram is counted under its reason
// and logged at most once a minute per reason.
func TestTrapRefusals(t *testing.T) {
	logs := &logRecorder{}
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	user := V3{Username: "trapuser", SecurityLevel: "authPriv", AuthProtocol: "SHA256", AuthPassphrase: "authpass-1234", PrivProtocol: "AES", PrivPassphrase: "privpass-1234"}
	r, w := startTraps(t, TrapOptions{Communities: []string{"traps"}, V3: &user,
		Devices: map[string]string{"127.0.0.1": "sw1"}, Logger: slog.New(logs), Now: clock.Now})
	addr := r.opts.Address
	v3 := func(u, level, auth, authPass, priv, privPass string) []string {
		a := []string{"-v3", "-u", u, "-l", level, "-t", "1", "-r", "1"}
		if level != "noAuthNoPriv" {
			a = append(a, "-a", auth, "-A", authPass)
		}
		if level == "authPriv" {
			a = append(a, "-x", priv, "-X", privPass)
		}
		return a
	}
	engine := []string{"-e", "0x8000000001020304"}
	trap := func(args ...string) []string {
		return append(args, addr, "", "1.3.6.1.4.1.99999.0.7", "1.3.6.1.4.1.99999.1.1", "s", "fan failure")
	}
	ok := v3("trapuser", "authPriv", "SHA-256", "authpass-1234", "AES", "privpass-1234")
	cases := []struct {
		name, program string
		args          []string
		reason        string // "" = accepted
	}{
		{"v2c", "snmptrap", trap("-v2c", "-c", "traps"), ""},
		{"v1", "snmptrap", []string{"-v1", "-c", "traps", addr, "1.3.6.1.4.1.99999", "127.0.0.1", "6", "7", ""}, ""},
		{"v3 authPriv", "snmptrap", trap(append(ok, engine...)...), ""},
		{"v2c wrong community", "snmptrap", trap("-v2c", "-c", "guess"), ReasonBadCommunity},
		{"v1 wrong community", "snmptrap", []string{"-v1", "-c", "guess", addr, "1.3.6.1.4.1.99999", "127.0.0.1", "6", "7", ""}, ReasonBadCommunity},
		{"v3 unknown user", "snmptrap", trap(append(v3("nobody", "authPriv", "SHA-256", "authpass-1234", "AES", "privpass-1234"), engine...)...), ReasonUnknownUser},
		{"v3 wrong auth passphrase", "snmptrap", trap(append(v3("trapuser", "authPriv", "SHA-256", "wrong-auth-000", "AES", "privpass-1234"), engine...)...), ReasonWrongDigest},
		{"v3 wrong auth protocol", "snmptrap", trap(append(v3("trapuser", "authPriv", "SHA-512", "authpass-1234", "AES", "privpass-1234"), engine...)...), ReasonWrongDigest},
		{"v3 wrong priv passphrase", "snmptrap", trap(append(v3("trapuser", "authPriv", "SHA-256", "authpass-1234", "AES", "wrong-priv-000"), engine...)...), ReasonDecryption},
		{"v3 authNoPriv to an authPriv receiver", "snmptrap", trap(append(v3("trapuser", "authNoPriv", "SHA-256", "authpass-1234", "", ""), engine...)...), ReasonSecurityLevel},
		{"v3 noAuthNoPriv to an authPriv receiver", "snmptrap", trap(append(v3("trapuser", "noAuthNoPriv", "", "", "", ""), engine...)...), ReasonSecurityLevel},
		{"v3 inform without -e", "snmpinform", trap(ok...), ""},
		{"v3 inform with -e", "snmpinform", trap(append(ok, "-e", "0x"+hex.EncodeToString([]byte(r.EngineID())))...), ""},
		{"v2c inform", "snmpinform", trap("-v2c", "-c", "traps", "-t", "1", "-r", "1"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			accepted, before := r.Accepted.Load(), refused(r, c.reason)
			out, err := netsnmp(t, c.program, c.args...)
			if c.reason == "" {
				if err != nil {
					t.Fatalf("%s: %v\n%s", c.program, err, out)
				}
				waitFor(t, "accepted", func() bool { return r.Accepted.Load() == accepted+1 })
				return
			}
			waitFor(t, "refused as "+c.reason, func() bool { return refused(r, c.reason) == before+1 })
			if got := r.Accepted.Load(); got != accepted {
				t.Errorf("accepted %d, want %d", got, accepted)
			}
		})
	}
	if !w.find(`trapOID="1.3.6.1.4.1.99999.0.7", vb_1_3_6_1_4_1_99999_1_1="fan failure"`) {
		t.Errorf("no trap sample; got %v", w.samples)
	}
	// Two refusals per reason at most in this minute: one log line each.
	for _, reason := range []string{ReasonBadCommunity, ReasonWrongDigest, ReasonSecurityLevel} {
		if got := logs.count(reason); got != 1 {
			t.Errorf("%s logged %d times within a minute, want 1", reason, got)
		}
	}
	// A minute later, the next one is logged again.
	clock.Add(time.Minute)
	before := refused(r, ReasonBadCommunity)
	if out, err := netsnmp(t, "snmptrap", trap("-v2c", "-c", "guess")...); err != nil {
		t.Fatal(err, out)
	}
	waitFor(t, "refused", func() bool { return refused(r, ReasonBadCommunity) == before+1 })
	if got := logs.count(ReasonBadCommunity); got != 2 {
		t.Errorf("bad_community logged %d times after a minute, want 2", got)
	}
}

// TestTrapGarbage: 22,000 datagrams that are not SNMP are each counted as
// malformed, and the receiver still takes a good trap after them.
func TestTrapGarbage(t *testing.T) {
	r, _ := startTraps(t, TrapOptions{Communities: []string{"traps"}, AllowUnknown: true})
	c, err := net.Dial("udp", r.opts.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 22000
	buf := make([]byte, 64)
	for i := 0; i < n; i++ {
		for j := range buf {
			buf[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			buf[0] = 0x30 // looks like a sequence, is not a message
		}
		if _, err := c.Write(buf[:1+rng.IntN(len(buf)-1)]); err != nil {
			t.Fatal(err)
		}
		if i%200 == 199 { // pace the sender: loopback drops what the socket buffer (about 256 datagrams) cannot hold
			waitFor(t, "counted", func() bool { return r.Malformed.Load() == int64(i+1) })
		}
	}
	waitFor(t, "22,000 malformed", func() bool { return refused(r, ReasonMalformed) == n })
	if r.Malformed.Load() != n || r.Accepted.Load() != 0 {
		t.Errorf("malformed %d, accepted %d", r.Malformed.Load(), r.Accepted.Load())
	}
	snmptrap(t, "-v2c", "-c", "traps", r.opts.Address, "", "1.3.6.1.6.3.1.1.5.1")
	waitFor(t, "a good trap after the garbage", func() bool { return r.Accepted.Load() == 1 })
}

// TestTrapSeriesCap: 300 traps whose varbind changes each time create at
// most the cap of series for their device; the rest are counted as
// refused, and a series already seen keeps being written.
func TestTrapSeriesCap(t *testing.T) {
	r := NewTrapReceiver(TrapOptions{Communities: []string{"traps"}, Devices: map[string]string{"127.0.0.1": "sw1", "127.0.0.2": "sw2"}, MaxSeriesPerDevice: 50})
	w := &sampleWriter{}
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "traps"}
	trap := func(i int) []byte {
		pkt := g.MkSnmpPacket(gosnmp.SNMPv2Trap, []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(i)},
			{Name: "." + oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.99999.0.7"},
			{Name: ".1.3.6.1.4.1.99999.1.1", Type: gosnmp.OctetString, Value: fmt.Sprintf("event %d", i)},
		}, 0, 0)
		b, err := pkt.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i := 0; i < 300; i++ {
		r.datagram(context.Background(), trap(i), src, w)
	}
	if got := len(w.samples); got != 50 {
		t.Errorf("%d series written, want the cap of 50", got)
	}
	if got := testutil.ToFloat64(r.SeriesRefused); got != 250 {
		t.Errorf("series refused %v, want 250", got)
	}
	r.datagram(context.Background(), trap(7), src, w) // a series already seen
	if got := len(w.samples); got != 51 {
		t.Errorf("a known series was refused: %d samples", got)
	}
	// Another device has its own cap.
	r.datagram(context.Background(), trap(400), &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 5000}, w)
	if got := len(w.samples); got != 52 {
		t.Errorf("another device's trap was refused: %d samples", got)
	}
	if r.Accepted.Load() != 302 {
		t.Errorf("accepted %d: the traps themselves are all accepted", r.Accepted.Load())
	}
}
