package snmp

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/internal/peertest"
)

// snmpd is a real net-snmp agent on a loopback UDP port with a v2c
// community and v3 users.
type snmpd struct {
	addr string
	bin  string
	args []string
	env  []string
	dir  string
	proc *peertest.Process
}

func startSnmpd(t *testing.T, extraConf ...string) *snmpd {
	t.Helper()
	bin := peertest.Find(t, "snmpd", "snmpd", "NINES_SKIP_SNMP")
	dir := t.TempDir()
	port := peertest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	conf := filepath.Join(dir, "snmpd.conf")
	os.WriteFile(conf, []byte(`# the listening address is given on the command line
rocommunity public 127.0.0.1
sysName nines-test-switch
sysLocation lab rack 7
createUser privuser SHA "authpass-1234" AES "privpass-1234"
rouser privuser priv
createUser authuser SHA256 "authpass-1234"
rouser authuser auth
# A UPS and a printer: net-snmp serves neither MIB, so their objects are
# set by override, as a UPS or printer agent would answer.
override 1.3.6.1.2.1.33.1.2.1.0 integer 2
override 1.3.6.1.2.1.33.1.2.4.0 integer 87
override 1.3.6.1.2.1.33.1.4.1.0 integer 5
override 1.3.6.1.2.1.33.1.3.3.1.3.1 integer 229
override 1.3.6.1.2.1.33.1.4.4.1.5.1 integer 41
override 1.3.6.1.2.1.43.11.1.1.6.1.1 octet_str "Black Toner"
override 1.3.6.1.2.1.43.11.1.1.6.1.2 octet_str "Cyan Toner"
override 1.3.6.1.2.1.43.11.1.1.8.1.1 integer 100
override 1.3.6.1.2.1.43.11.1.1.8.1.2 integer 100
override 1.3.6.1.2.1.43.11.1.1.9.1.1 integer 40
override 1.3.6.1.2.1.43.11.1.1.9.1.2 integer 5
`+strings.Join(extraConf, "\n")+"\n"), 0o600)
	s := &snmpd{addr: addr, bin: bin, dir: dir,
		args: []string{"-f", "-C", "-c", conf, "-Lf", filepath.Join(dir, "snmpd.log"), "-p", filepath.Join(dir, "snmpd.pid"), "udp:" + addr},
		env:  append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=")}
	s.start(t)
	return s
}

func (s *snmpd) start(t *testing.T) {
	t.Helper()
	s.proc = peertest.StartEnv(t, s.env, s.bin, s.args...)
	// Wait until it answers.
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := s.get(t, "1.3.6.1.2.1.1.5.0"); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("snmpd does not answer on %s:\n%s", s.addr, s.proc.Output())
}

// get asks Debian's snmpget for one value, as the reference.
func (s *snmpd) get(t *testing.T, oid string) (string, error) {
	bin := peertest.Find(t, "snmpget", "snmp", "NINES_SKIP_SNMP")
	cmd := exec.Command(bin, "-v2c", "-c", "public", "-Oqv", "-t", "1", "-r", "0", s.addr, oid)
	cmd.Env = append(os.Environ(), "MIBS=")
	out, err := cmd.Output()
	return strings.Trim(strings.TrimSpace(string(out)), `"`), err
}

// walkCount counts what snmpbulkwalk returns under oid.
func (s *snmpd) walkCount(t *testing.T, oid string) int {
	bin := peertest.Find(t, "snmpbulkwalk", "snmp", "NINES_SKIP_SNMP")
	cmd := exec.Command(bin, "-v2c", "-c", "public", "-On", s.addr, oid)
	cmd.Env = append(os.Environ(), "MIBS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmpbulkwalk: %v", err)
	}
	return strings.Count(strings.TrimSpace(string(out)), "\n") + 1
}

// bulkwalk returns what snmpbulkwalk reads under oid: OID (without the
// leading dot) to value as snmpbulkwalk prints it.
func (s *snmpd) bulkwalk(t *testing.T, oid string) map[string]string {
	bin := peertest.Find(t, "snmpbulkwalk", "snmp", "NINES_SKIP_SNMP")
	cmd := exec.Command(bin, "-v2c", "-c", "public", "-On", "-Oq", s.addr, oid)
	cmd.Env = append(os.Environ(), "MIBS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmpbulkwalk %s: %v", oid, err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, _ := strings.Cut(line, " ")
		m[strings.TrimPrefix(k, ".")] = strings.Trim(v, `"`)
	}
	return m
}

func (s *snmpd) target(version string) Target {
	return Target{Address: s.addr, Version: version, Community: "public", Timeout: time.Second, Retries: 0, MaxRepetitions: 25}
}

func readAll(t *testing.T, tg Target, modules ...string) ([]Sample, error) {
	t.Helper()
	c, err := Dial(tg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var out []Sample
	for _, m := range modules {
		s, err := Modules[m](context.Background(), c)
		if err != nil {
			return out, err
		}
		out = append(out, s...)
	}
	return out, nil
}

func TestAgainstSnmpd(t *testing.T) {
	s := startSnmpd(t)
	wantName, _ := s.get(t, "1.3.6.1.2.1.1.5.0")
	wantIfaces := s.walkCount(t, "1.3.6.1.2.1.2.2.1.1")

	check := func(name string, tg Target) {
		t.Helper()
		t.Run(name, func(t *testing.T) {
			samples, err := readAll(t, tg, "system", "if_mib")
			if err != nil {
				t.Fatal(err)
			}
			var sysName string
			ifaces := map[string]bool{}
			for _, x := range samples {
				lm := map[string]string{}
				for i := 0; i+1 < len(x.Labels); i += 2 {
					lm[x.Labels[i]] = x.Labels[i+1]
				}
				if x.Name == "nines_snmp_device_info" {
					sysName = lm["sysName"]
				}
				if x.Name == "ifOperStatus" {
					ifaces[lm["ifIndex"]] = true
				}
			}
			if sysName != wantName || sysName != "nines-test-switch" {
				t.Errorf("sysName: got %q, snmpget says %q", sysName, wantName)
			}
			if len(ifaces) != wantIfaces {
				t.Errorf("interfaces: got %d, snmpbulkwalk says %d", len(ifaces), wantIfaces)
			}
		})
	}
	check("v2c", s.target("2c"))
	t.Run("host_resources", func(t *testing.T) {
		samples, err := readAll(t, s.target("2c"), "host_resources")
		if err != nil {
			t.Fatal(err)
		}
		want := s.walkCount(t, "1.3.6.1.2.1.25.2.3.1.5") // hrStorageSize rows
		sizes, mem := 0, false
		for _, x := range samples {
			if x.Name == "hrStorageSize" {
				sizes++
				for i := 0; i+1 < len(x.Labels); i += 2 {
					if x.Labels[i] == "hrStorageDescr" && x.Labels[i+1] == "Physical memory" && x.Value > 0 {
						mem = true
					}
				}
			}
		}
		if sizes != want || !mem {
			t.Errorf("hrStorageSize rows: got %d (physical memory seen: %v), snmpbulkwalk says %d", sizes, mem, want)
		}
	})
	check("v1", s.target("1"))
	v3 := s.target("3")
	v3.V3 = V3{Username: "privuser", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "authpass-1234", PrivProtocol: "AES", PrivPassphrase: "privpass-1234"}
	check("v3 authPriv SHA/AES", v3)
	auth := s.target("3")
	auth.V3 = V3{Username: "authuser", SecurityLevel: "authNoPriv", AuthProtocol: "SHA256", AuthPassphrase: "authpass-1234"}
	check("v3 authNoPriv SHA256", auth)

	failures := []struct {
		name string
		tg   func() Target
		want string
	}{
		{"wrong community", func() Target { tg := s.target("2c"); tg.Community = "nope"; return tg }, "no answer (wrong community"},
		{"wrong passphrase", func() Target {
			tg := v3
			tg.V3.AuthPassphrase = "wrong-pass-000"
			return tg
		}, "authentication failed"},
		{"noAuthNoPriv where authPriv is required", func() Target {
			tg := v3
			tg.V3.SecurityLevel = "noAuthNoPriv"
			return tg
		}, "not authorized"},
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			_, err := readAll(t, f.tg(), "system")
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), f.want) {
				t.Errorf("got %v, want it to mention %q", err, f.want)
			}
		})
	}
}

type recWriter struct {
	mu       sync.Mutex
	outcomes []state.Probe
	samples  int
}

func (r *recWriter) Append(labels.Labels, int64, float64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.samples++
	return nil
}

func (r *recWriter) ProbeResult(_ context.Context, p state.Probe, _ time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes = append(r.outcomes, p)
	return nil
}

func (r *recWriter) last() (state.Probe, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.outcomes) == 0 {
		return state.Probe{}, 0
	}
	return r.outcomes[len(r.outcomes)-1], len(r.outcomes)
}

// TestPollerFollowsSnmpd: polls succeed while snmpd runs, fail while it is
// stopped, and succeed again when it is back.
func TestPollerFollowsSnmpd(t *testing.T) {
	s := startSnmpd(t)
	tg := s.target("2c")
	tg.Timeout = 200 * time.Millisecond
	p := NewPoller([]Device{{Name: "sw1", Target: tg, Interval: time.Second, Modules: []string{"system", "if_mib"}}}, 4, slog.New(slog.DiscardHandler))
	w := &recWriter{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx, w) }()
	defer func() { cancel(); <-done }()
	wait := func(what string, ok bool) {
		t.Helper()
		_, n0 := w.last()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if o, n := w.last(); n > n0 && o.OK == ok {
				if !ok && !strings.Contains(o.Cause, "SNMP:") {
					t.Errorf("cause %q does not say SNMP", o.Cause)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("%s: not within 10s", what)
	}
	wait("first poll succeeds", true)
	s.proc.Stop()
	wait("polls fail while snmpd is stopped", false)
	s.start(t)
	wait("polls succeed again", true)
	if p.Polls.Load() < 3 || w.samples == 0 {
		t.Errorf("polls %d, samples %d", p.Polls.Load(), w.samples)
	}
	// Every poll, answered or not, is in the latency histogram.
	var m dto.Metric
	if err := p.Durations.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got, polls := m.GetHistogram().GetSampleCount(), uint64(p.Polls.Load()); got < polls-1 || got > polls {
		t.Errorf("latency histogram counted %d polls, the poller %d", got, polls)
	}
}

// TestUPSPrinterAndCustomModules reads the ups and printer modules and a
// custom module (a scalar and a table with a label column) from the real
// snmpd, and compares with snmpget.
func TestUPSPrinterAndCustomModules(t *testing.T) {
	s := startSnmpd(t)
	c, err := Dial(s.target("2c"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	got := map[string]float64{}
	record := func(samples []Sample) {
		for _, x := range samples {
			key := x.Name
			for i := 0; i+1 < len(x.Labels); i += 2 {
				key += "," + x.Labels[i] + "=" + x.Labels[i+1]
			}
			got[key] = x.Value
		}
	}
	for _, m := range []string{"ups", "printer"} {
		samples, err := Modules[m](ctx, c)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		record(samples)
	}
	custom := Definition{Name: "custom",
		Scalars: []Object{{"1.3.6.1.2.1.25.2.2.0", "hrMemorySize"}, {"1.3.6.1.4.1.99999.1.0", "absent"}},
		Tables: []Table{{Entry: "1.3.6.1.2.1.25.2.3.1", Indexes: []string{"hrStorageIndex"},
			Labels: []Object{{"3", "hrStorageDescr"}}, Columns: []Object{{"5", "hrStorageSize"}}}}}
	samples, err := custom.Module()(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	record(samples)
	for key, want := range map[string]float64{
		"upsBatteryStatus": 2, "upsEstimatedChargeRemaining": 87, "upsOutputSource": 5,
		"upsInputVoltage,upsInputLineIndex=1": 229, "upsOutputPercentLoad,upsOutputLineIndex=1": 41,
		"prtMarkerSuppliesLevel,hrDeviceIndex=1,prtMarkerSuppliesIndex=2,prtMarkerSuppliesDescription=Cyan Toner":        5,
		"prtMarkerSuppliesMaxCapacity,hrDeviceIndex=1,prtMarkerSuppliesIndex=1,prtMarkerSuppliesDescription=Black Toner": 100,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	services, _ := s.get(t, "1.3.6.1.2.1.25.2.2.0")
	if v := got["hrMemorySize"]; strconv.FormatFloat(v, 'f', -1, 64) != strings.Fields(services + " ")[0] {
		t.Errorf("custom scalar hrMemorySize = %v, snmpget says %s", v, services)
	}
	if _, ok := got["absent"]; ok {
		t.Error("an object the device lacks produced a sample")
	}
	rows := 0
	for key := range got {
		if strings.HasPrefix(key, "hrStorageSize,hrStorageIndex=") && strings.Contains(key, ",hrStorageDescr=") {
			rows++
		}
	}
	if want := s.walkCount(t, "1.3.6.1.2.1.25.2.3.1.5"); rows != want {
		t.Errorf("custom table rows %d, snmpbulkwalk says %d", rows, want)
	}
}

// seriesWriter keeps every sample's labels and every outcome.
type seriesWriter struct {
	mu       sync.Mutex
	series   []labels.Labels
	outcomes []state.Probe
}

func (w *seriesWriter) Append(l labels.Labels, _ int64, _ float64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.series = append(w.series, l)
	return nil
}

func (w *seriesWriter) ProbeResult(_ context.Context, p state.Probe, _ time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.outcomes = append(w.outcomes, p)
	return nil
}

// TestInterfaceSelectionAndStates: if_mib keeps only the selected
// interfaces, and a monitored one becomes a target of its own.
func TestInterfaceSelectionAndStates(t *testing.T) {
	s := startSnmpd(t)
	p := NewPoller(nil, 1, slog.New(slog.DiscardHandler))
	lo := regexp.MustCompile(`^(?:lo)$`)
	poll := func(ifs Interfaces) *seriesWriter {
		w := &seriesWriter{}
		d := Device{Name: "sw1", Target: s.target("2c"), Interval: 10 * time.Second, Modules: []string{"system", "if_mib"}, Interfaces: ifs}
		p.poll(context.Background(), &d, w)
		return w
	}
	w := poll(Interfaces{Include: []*regexp.Regexp{lo}, Monitor: []*regexp.Regexp{lo}})
	names := map[string]bool{}
	for _, l := range w.series {
		if l.Has("ifIndex") {
			names[l.Get("ifName")] = true
		}
	}
	if len(names) != 1 || !names["lo"] {
		t.Errorf("interfaces kept: %v, want only lo", names)
	}
	var iface *state.Probe
	for i, o := range w.outcomes {
		if o.Kind == state.KindInterface {
			iface = &w.outcomes[i]
		}
	}
	if iface == nil || iface.Name != "sw1/lo" || !iface.OK || iface.AdminDown || iface.Labels["device"] != "sw1" {
		t.Errorf("interface target: %+v", iface)
	}
	w = poll(Interfaces{Types: []float64{6}, Exclude: []*regexp.Regexp{lo}}) // ethernet only: not lo
	for _, l := range w.series {
		if l.Has("ifIndex") && l.Get("ifName") == "lo" {
			t.Fatalf("lo kept although only ethernet was asked for: %s", l)
		}
	}
}

// TestWalkMatchesSnmpbulkwalk: reading the interface columns side by side
// returns exactly the objects and values snmpbulkwalk reads column by
// column, also from an agent that answers at most 12 objects per request
// (fewer than the columns asked: net-snmp then answers none), in v2c and
// v1.
func TestWalkMatchesSnmpbulkwalk(t *testing.T) {
	s := startSnmpd(t, "maxGetbulkResponses 12")
	stable := map[string]bool{ifTableRoot + ".2": true, ifTableRoot + ".3": true, ifTableRoot + ".4": true, ifTableRoot + ".7": true, ifXTableRoot + ".1": true}
	// Every column's objects, and the values of those that do not change
	// between two walks (counters do).
	want := map[string]string{}
	for _, col := range ifColumnOIDs {
		for k, v := range s.bulkwalk(t, col) {
			if !stable[col] {
				v = "(changes)"
			}
			want[k] = v
		}
	}
	if len(ifColumnOIDs) <= 12 || len(want) < 2*len(ifColumnOIDs) {
		t.Fatalf("asking %d columns, snmpbulkwalk read %d objects: the test needs more columns than the agent's 12 and at least two rows", len(ifColumnOIDs), len(want))
	}
	hc := map[string]bool{"6": true, "7": true, "8": true, "10": true, "11": true, "12": true} // ifXTable's Counter64 columns
	for _, version := range []string{"2c", "1"} {
		t.Run("v"+version, func(t *testing.T) {
			c, err := Dial(s.target(version))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			vars, err := c.Walk(context.Background(), ifColumnOIDs...)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, v := range vars {
				got[v.OID] = Text(v)
				if !stable[v.OID[:strings.LastIndexByte(v.OID, '.')]] {
					got[v.OID] = "(changes)"
				}
			}
			n := 0
			for k, v := range want {
				if version == "1" && strings.HasPrefix(k, ifXTableRoot+".") && hc[k[len(ifXTableRoot)+1:strings.LastIndexByte(k, '.')]] {
					continue // SNMPv1 cannot carry Counter64: agents skip these objects
				}
				n++
				if got[k] != v {
					t.Errorf("%s: read %q, snmpbulkwalk %q", k, got[k], v)
				}
			}
			if len(got) != n {
				t.Errorf("read %d objects, snmpbulkwalk %d", len(got), n)
			}
		})
	}
}

// TestV1TrafficCounters: SNMPv1 cannot carry the 64-bit ifHC* counters,
// so over v1 if_mib reports the 32-bit ifInOctets, ifOutOctets,
// ifInUcastPkts and ifOutUcastPkts instead (as snmpwalk -v1 reads them),
// and over v2c only the 64-bit ones.
func TestV1TrafficCounters(t *testing.T) {
	s := startSnmpd(t)
	loIndex := ""
	for k, v := range s.bulkwalk(t, ifTableRoot+".2") {
		if v == "lo" {
			loIndex = lastArc(k)
		}
	}
	if loIndex == "" {
		t.Fatal("snmpd reports no lo interface")
	}
	// What snmpwalk -v1 reads of lo's 32-bit counters (they grow: the
	// polls themselves cross lo).
	bin := peertest.Find(t, "snmpget", "snmp", "NINES_SKIP_SNMP")
	cmd := exec.Command(bin, "-v1", "-c", "public", "-On", "-Oq", s.addr, ifTableRoot+".10."+loIndex, ifTableRoot+".16."+loIndex)
	cmd.Env = append(os.Environ(), "MIBS=")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("snmpget -v1: %v", err)
	}
	var before []float64
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f, err := strconv.ParseFloat(strings.Fields(line)[1], 64)
		if err != nil {
			t.Fatalf("snmpget -v1 printed %q", line)
		}
		before = append(before, f)
	}
	read := func(version string) map[string]float64 {
		samples, err := readAll(t, s.target(version), "if_mib")
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, x := range samples {
			if index, _ := labelValue(x.Labels, "ifIndex"); index == loIndex {
				got[x.Name] = x.Value
			}
		}
		return got
	}
	v1 := read("1")
	for i, name := range []string{"ifInOctets", "ifOutOctets"} {
		if v, ok := v1[name]; !ok || v < before[i] || v == 0 {
			t.Errorf("v1 %s = %v (present %v); snmpget -v1 read %v before", name, v, ok, before[i])
		}
	}
	for _, name := range []string{"ifInUcastPkts", "ifOutUcastPkts"} {
		if _, ok := v1[name]; !ok {
			t.Errorf("v1: no %s", name)
		}
	}
	for _, name := range []string{"ifHCInOctets", "ifHCOutOctets"} {
		if _, ok := v1[name]; ok {
			t.Errorf("v1 reported %s, which SNMPv1 cannot carry", name)
		}
	}
	v2 := read("2c")
	for _, name := range []string{"ifHCInOctets", "ifHCOutOctets", "ifHCInUcastPkts", "ifHCOutUcastPkts"} {
		if _, ok := v2[name]; !ok {
			t.Errorf("v2c: no %s", name)
		}
	}
	for name := range ifFallback {
		if _, ok := v2[name]; ok {
			t.Errorf("v2c reported the 32-bit %s beside its 64-bit counter", name)
		}
	}
}

// memStore keeps the state history in memory.
type memStore struct {
	mu      sync.Mutex
	changes []state.Change
}

func (m *memStore) RecordChanges(_ context.Context, cs []state.Change) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changes = append(m.changes, cs...)
	return nil
}

func (m *memStore) LatestChanges(context.Context) ([]state.Change, error) { return nil, nil }
func (m *memStore) SaveTarget(context.Context, state.Info) error          { return nil }
func (m *memStore) Targets(context.Context) ([]state.Info, error)         { return nil, nil }

// trackerWriter feeds poll outcomes to a real state tracker, as the
// collector's Writer does.
type trackerWriter struct{ t *state.Tracker }

func (trackerWriter) Append(labels.Labels, int64, float64) error { return nil }
func (w trackerWriter) ProbeResult(ctx context.Context, p state.Probe, now time.Time) error {
	return w.t.ProbeResult(ctx, p, now)
}

// TestInterfacesUnknownWhileDeviceDown: while snmpd is stopped, the
// device goes DOWN and its monitored interface, last seen UP, becomes
// UNKNOWN (the device is not answering) after the same number of failed
// polls, then UP again when snmpd is back.
func TestInterfacesUnknownWhileDeviceDown(t *testing.T) {
	s := startSnmpd(t)
	ctx := context.Background()
	tr, err := state.New(ctx, &memStore{}, state.Options{CheckFailures: 2, DownAfter: 3, DefaultInterval: time.Minute}, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	w := trackerWriter{tr}
	tg := s.target("2c")
	tg.Timeout = 200 * time.Millisecond
	lo := regexp.MustCompile(`^lo$`)
	d := Device{Name: "sw1", Target: tg, Interval: 10 * time.Second, Modules: []string{"system", "if_mib"}, Interfaces: Interfaces{Monitor: []*regexp.Regexp{lo}}}
	p := NewPoller(nil, 1, slog.New(slog.DiscardHandler))
	states := func() (device, iface state.Target) {
		for _, x := range tr.Snapshot() {
			switch x.Name {
			case "sw1":
				device = x
			case "sw1/lo":
				iface = x
			}
		}
		return device, iface
	}
	step := func(what string, wantDevice, wantIface state.State, cause string) {
		t.Helper()
		p.poll(ctx, &d, w)
		dev, iface := states()
		if dev.State != wantDevice || iface.State != wantIface || !strings.Contains(iface.Cause, cause) {
			t.Fatalf("%s: device %s, interface %s (%q); want %s, %s (%q)", what, dev.State, iface.State, iface.Cause, wantDevice, wantIface, cause)
		}
	}
	step("answering", state.Up, state.Up, "")
	s.proc.Stop()
	step("first failed poll", state.Up, state.Up, "")
	step("second failed poll", state.Down, state.Unknown, "device sw1 not answering")
	step("still down", state.Down, state.Unknown, "device sw1 not answering")
	s.start(t)
	step("answering again", state.Up, state.Up, "")
}

// TestRestoredInterfacesUnknownWhileDeviceDown: after a collector
// restart, a device that does not answer makes its monitored interfaces
// (known from before the restart, restored with their device label)
// UNKNOWN too; they no longer keep their saved UP state until the device
// answers once.
func TestRestoredInterfacesUnknownWhileDeviceDown(t *testing.T) {
	ctx := context.Background()
	tr, err := state.New(ctx, &memStore{}, state.Options{CheckFailures: 2, DownAfter: 3, DefaultInterval: time.Minute}, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	// The interface as the store restored it: UP, with its device label.
	iface := state.Probe{Name: "sw1/eth0", Kind: state.KindInterface, Labels: map[string]string{"device": "sw1", "ifName": "eth0"}, Interval: time.Minute, OK: true}
	if err := tr.ProbeResult(ctx, iface, time.Now()); err != nil {
		t.Fatal(err)
	}
	// A device nobody answers for (a closed port on loopback).
	tg := Target{Address: peertest.FreeAddr(t), Version: "2c", Community: "public", Timeout: 100 * time.Millisecond, Retries: 0}
	d := Device{Name: "sw1", Target: tg, Interval: 10 * time.Second, Modules: []string{"system", "if_mib"},
		Interfaces: Interfaces{Monitor: []*regexp.Regexp{regexp.MustCompile(`^eth0$`)}}}
	p := NewPoller(nil, 1, slog.New(slog.DiscardHandler))
	p.Restore(tr.Snapshot())
	for range 2 {
		p.poll(ctx, &d, trackerWriter{tr})
	}
	for _, x := range tr.Snapshot() {
		if x.Name == "sw1/eth0" && (x.State != state.Unknown || !strings.Contains(x.Cause, "device sw1 not answering")) {
			t.Errorf("restored interface of a silent device: %s (%q), want unknown", x.State, x.Cause)
		}
	}
}
