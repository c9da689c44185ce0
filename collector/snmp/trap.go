package snmp

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/collector/state"
)

// Standard trap OIDs (SNMPv2-MIB, IF-MIB).
const (
	oidSnmpTrapOID  = "1.3.6.1.6.3.1.1.4.1.0"
	oidColdStart    = "1.3.6.1.6.3.1.1.5.1"
	oidWarmStart    = "1.3.6.1.6.3.1.1.5.2"
	oidLinkDown     = "1.3.6.1.6.3.1.1.5.3"
	oidLinkUp       = "1.3.6.1.6.3.1.1.5.4"
	oidAuthFailure  = "1.3.6.1.6.3.1.1.5.5"
	oidIfIndexTable = "1.3.6.1.2.1.2.2.1.1."
)

var trapNames = map[string]string{
	oidColdStart: "coldStart", oidWarmStart: "warmStart", oidLinkDown: "linkDown", oidLinkUp: "linkUp", oidAuthFailure: "authenticationFailure",
}

// TrapOptions configure a TrapReceiver.
type TrapOptions struct {
	Address     string   // host:port to listen on (UDP)
	Communities []string // accepted for v1 and v2c
	V3          *V3      // the accepted v3 user, if any
	// Devices maps source IP addresses to device names.
	Devices map[string]string
	// AllowUnknown accepts traps from addresses not in Devices (the device
	// is then named by its address).
	AllowUnknown bool
	Logger       *slog.Logger
	// Interface names a monitored interface's target by device and
	// ifIndex (the poller's MonitoredInterface), so linkDown and linkUp
	// change its state at once.
	Interface func(device, ifIndex string) (string, bool)
	// EngineID is the receiver's SNMPv3 engine ID (raw bytes, 5 to 32),
	// answered to engine discovery so that informs work without the
	// sender being told it (snmpinform -e). Empty: a random one is made
	// at start, as snmptrapd does on first run.
	EngineID string
	// MaxSeriesPerDevice caps the series traps create per device (each
	// distinct set of varbind labels is one); what would exceed it is
	// refused and counted. 0: DefaultMaxTrapSeries.
	MaxSeriesPerDevice int
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
}

// DefaultMaxTrapSeries is how many series traps may create per device
// (within TrapSeriesTTL) unless TrapOptions say otherwise.
const DefaultMaxTrapSeries = 100

// TrapSeriesTTL: a trap series not seen for this long no longer counts
// against its device's cap.
const TrapSeriesTTL = time.Hour

// Reasons a datagram is refused (the reason label of
// nines_snmp_traps_refused_total).
const (
	ReasonUnknownSource = "unknown_source" // not a configured device (and unknown sources not allowed)
	ReasonBadCommunity  = "bad_community"  // v1/v2c community not accepted
	ReasonUnknownUser   = "unknown_user"   // v3 user name not the configured one (or no v3 user configured)
	ReasonWrongDigest   = "wrong_digest"   // v3 authentication failed: wrong auth passphrase or protocol
	ReasonDecryption    = "decryption"     // v3 decryption failed: wrong privacy passphrase or protocol
	ReasonSecurityLevel = "security_level" // v3 below the configured security level
	ReasonMalformed     = "malformed"      // not an SNMP message, or not a trap or inform
)

// RefusalReasons lists every reason, in display order.
var RefusalReasons = []string{ReasonUnknownSource, ReasonBadCommunity, ReasonUnknownUser, ReasonWrongDigest, ReasonDecryption, ReasonSecurityLevel, ReasonMalformed}

// refusalLogEvery: at most one log line per reason this often.
const refusalLogEvery = time.Minute

// TrapReceiver listens for v1, v2c and v3 traps and informs. linkDown and
// linkUp write the interface's ifOperStatus at once; coldStart and
// warmStart record a reboot; every trap becomes a nines_snmp_trap sample
// (trapOID, trapName, and up to eight varbinds as labels) that rules can
// match. Every datagram it refuses is counted by reason in Refused and
// logged, at most once a minute per reason. It answers SNMPv3 engine
// discovery with its engine ID, as snmptrapd does, so informs work
// without the sender being given it.
//
// gosnmp's TrapListener is not used: it drops every datagram it cannot
// decode with only a debug log line (no reason a caller can count), it
// accepts a message below the configured security level (it checks
// authentication against the configured level, but decrypts only when the
// message says so), and it answers engine discovery only when given an
// engine ID. The loop here reads the datagrams, classifies what it
// refuses, and decodes with gosnmp's UnmarshalTrap.
type TrapReceiver struct {
	opts     TrapOptions
	params   *gosnmp.GoSNMP
	engineID string
	started  time.Time

	// Accepted counts traps and informs taken; UnknownSource,
	// BadCommunity and Malformed repeat those reasons of Refused (for
	// nines_snmp_traps_total{result}); AuthFailures counts
	// authenticationFailure traps.
	Accepted, UnknownSource, BadCommunity, AuthFailures, Malformed atomic.Int64
	// Refused counts refused datagrams by reason
	// (nines_snmp_traps_refused_total{reason}).
	Refused *prometheus.CounterVec
	// SeriesRefused counts trap samples dropped because their device
	// reached MaxSeriesPerDevice (nines_snmp_trap_series_refused_total).
	SeriesRefused prometheus.Counter

	ready     chan bool
	readyOnce sync.Once

	mu          sync.Mutex
	conn        net.PacketConn
	logged      map[string]time.Time // reason: when a refusal was last logged
	quiet       map[string]int       // reason: refusals not logged since
	series      map[string]map[string]time.Time
	discoveries atomic.Int64 // engine discovery requests answered (usmStatsUnknownEngineIDs)
}

// NewTrapReceiver returns a receiver; Run starts it.
func NewTrapReceiver(opts TrapOptions) *TrapReceiver {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSeriesPerDevice <= 0 {
		opts.MaxSeriesPerDevice = DefaultMaxTrapSeries
	}
	r := &TrapReceiver{opts: opts, ready: make(chan bool), logged: map[string]time.Time{}, quiet: map[string]int{},
		series: map[string]map[string]time.Time{}, started: opts.Now(),
		Refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nines_snmp_traps_refused_total",
			Help: "SNMP trap datagrams refused, by reason.",
		}, []string{"reason"}),
		SeriesRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nines_snmp_trap_series_refused_total",
			Help: "Trap samples dropped because their device reached its cap of series from traps.",
		}),
	}
	for _, reason := range RefusalReasons {
		r.Refused.WithLabelValues(reason)
	}
	r.engineID = opts.EngineID
	if len(r.engineID) < 5 || len(r.engineID) > 32 {
		// RFC 3411 format 5 (octets), enterprise 0, random.
		id := make([]byte, 13)
		copy(id, []byte{0x80, 0, 0, 0, 5})
		_, _ = rand.Read(id[5:])
		r.engineID = string(id)
	}
	r.params = &gosnmp.GoSNMP{
		Port: 162, Transport: "udp", Community: "public", Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 3, MaxOids: gosnmp.MaxOids,
	}
	if v3 := opts.V3; v3 != nil {
		r.params.Version = gosnmp.Version3
		r.params.SecurityModel = gosnmp.UserSecurityModel
		r.params.MsgFlags = msgFlags(v3.SecurityLevel)
		usm := &gosnmp.UsmSecurityParameters{UserName: v3.Username, AuthoritativeEngineID: r.engineID}
		if r.params.MsgFlags != gosnmp.NoAuthNoPriv {
			usm.AuthenticationProtocol = authProtocols[strings.ToUpper(v3.AuthProtocol)]
			usm.AuthenticationPassphrase = v3.AuthPassphrase
		}
		if r.params.MsgFlags == gosnmp.AuthPriv {
			usm.PrivacyProtocol = privProtocols[strings.ToUpper(v3.PrivProtocol)]
			usm.PrivacyPassphrase = v3.PrivPassphrase
		}
		r.params.SecurityParameters = usm
	}
	return r
}

func msgFlags(level string) gosnmp.SnmpV3MsgFlags {
	switch level {
	case "authPriv":
		return gosnmp.AuthPriv
	case "authNoPriv":
		return gosnmp.AuthNoPriv
	}
	return gosnmp.NoAuthNoPriv
}

// EngineID is the receiver's SNMPv3 engine ID.
func (r *TrapReceiver) EngineID() string { return r.engineID }

// Collectors are the receiver's metrics, for registration.
func (r *TrapReceiver) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.Refused, r.SeriesRefused}
}

// Run receives traps until ctx is done.
func (r *TrapReceiver) Run(ctx context.Context, w Writer) error {
	pc, err := net.ListenPacket("udp", r.opts.Address)
	if err != nil {
		return fmt.Errorf("trap listener on %s: %w", r.opts.Address, err)
	}
	r.mu.Lock()
	r.conn = pc
	r.mu.Unlock()
	r.readyOnce.Do(func() { close(r.ready) })
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	defer pc.Close()
	buf := make([]byte, 65535)
	for {
		n, addr, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("trap listener on %s: %w", r.opts.Address, err)
			}
			continue // a transient read error (e.g. ICMP feedback)
		}
		ua, _ := addr.(*net.UDPAddr)
		if ua == nil {
			continue
		}
		r.datagram(ctx, buf[:n], ua, w)
	}
}

// Listening is closed once the receiver listens (for tests and startup).
func (r *TrapReceiver) Listening() <-chan bool { return r.ready }

// refuse counts a refused datagram and logs it, rate-limited per reason.
func (r *TrapReceiver) refuse(reason string, src *net.UDPAddr, detail string) {
	r.Refused.WithLabelValues(reason).Inc()
	switch reason {
	case ReasonUnknownSource:
		r.UnknownSource.Add(1)
	case ReasonBadCommunity:
		r.BadCommunity.Add(1)
	case ReasonMalformed:
		r.Malformed.Add(1)
	}
	now := r.opts.Now()
	r.mu.Lock()
	last, seen := r.logged[reason]
	if seen && now.Sub(last) < refusalLogEvery {
		r.quiet[reason]++
		r.mu.Unlock()
		return
	}
	suppressed := r.quiet[reason]
	r.logged[reason], r.quiet[reason] = now, 0
	r.mu.Unlock()
	r.opts.Logger.Warn("trap refused", "reason", reason, "source", src.IP.String(), "detail", detail, "suppressed_since_last_log", suppressed)
}

// datagram decides what to do with one datagram: refuse it (counted and
// logged by reason), answer engine discovery, or accept a trap or inform.
func (r *TrapReceiver) datagram(ctx context.Context, msg []byte, src *net.UDPAddr, w Writer) {
	h, ok := parseHeader(msg)
	if !ok {
		r.refuse(ReasonMalformed, src, "not an SNMP message")
		return
	}
	device, known := r.opts.Devices[src.IP.String()]
	if !known {
		if !r.opts.AllowUnknown {
			r.refuse(ReasonUnknownSource, src, "not a configured device")
			return
		}
		device = src.IP.String()
	}
	switch h.version {
	case 0, 1: // v1, v2c
		if !slices.Contains(r.opts.Communities, h.community) {
			r.refuse(ReasonBadCommunity, src, "community not accepted")
			return
		}
	case 3:
		if h.secModel != 3 {
			r.refuse(ReasonMalformed, src, "not the user-based security model")
			return
		}
		if h.discovery() {
			r.discovery(msg, src)
			return
		}
		v3 := r.opts.V3
		if v3 == nil || h.user != v3.Username {
			r.refuse(ReasonUnknownUser, src, fmt.Sprintf("user %q", h.user))
			return
		}
		if want := msgFlags(v3.SecurityLevel); h.flags&gosnmp.AuthPriv < want {
			r.refuse(ReasonSecurityLevel, src, fmt.Sprintf("message at %s, receiver requires %s", levelName(h.flags), v3.SecurityLevel))
			return
		}
	default:
		r.refuse(ReasonMalformed, src, fmt.Sprintf("SNMP version %d", h.version))
		return
	}
	pkt, err := r.params.UnmarshalTrap(msg, true)
	if err != nil {
		switch {
		case h.version == 3 && (strings.Contains(err.Error(), "not authentic") || strings.Contains(err.Error(), "msgAuthenticationParameters length")):
			// A digest of another length is another auth protocol.
			r.refuse(ReasonWrongDigest, src, "authentication failed: wrong auth passphrase or protocol")
		case h.version == 3 && h.flags&gosnmp.AuthPriv == gosnmp.AuthPriv:
			// Authenticated, so the bytes are the sender's: what does not
			// decode after decryption was decrypted with the wrong key.
			r.refuse(ReasonDecryption, src, "decryption failed: wrong privacy passphrase or protocol")
		default:
			r.refuse(ReasonMalformed, src, err.Error())
		}
		return
	}
	switch pkt.PDUType {
	case gosnmp.Trap, gosnmp.SNMPv2Trap, gosnmp.InformRequest:
	default:
		r.refuse(ReasonMalformed, src, "not a trap or inform: "+pkt.PDUType.String())
		return
	}
	if !r.handle(ctx, pkt, src, device, w) {
		r.refuse(ReasonMalformed, src, "no trap OID")
		return
	}
	if pkt.PDUType == gosnmp.InformRequest {
		pkt.PDUType = gosnmp.GetResponse
		pkt.Error, pkt.ErrorIndex = gosnmp.NoError, 0
		pkt.MsgFlags &^= gosnmp.Reportable
		r.send(pkt, src)
	}
}

// discovery answers an engine discovery request (RFC 3414 section 4) with
// a report carrying the receiver's engine ID, boots and time, as
// snmptrapd does.
func (r *TrapReceiver) discovery(msg []byte, src *net.UDPAddr) {
	probe := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}}
	pkt, err := probe.UnmarshalTrap(msg, true)
	if err != nil || pkt.PDUType != gosnmp.GetRequest || len(pkt.Variables) > 0 {
		r.refuse(ReasonMalformed, src, "unauthenticated message that is not an engine discovery request")
		return
	}
	n := r.discoveries.Add(1)
	pkt.PDUType = gosnmp.Report
	pkt.MsgFlags = gosnmp.NoAuthNoPriv
	pkt.SecurityParameters = &gosnmp.UsmSecurityParameters{
		AuthoritativeEngineID:    r.engineID,
		AuthoritativeEngineBoots: 1,
		AuthoritativeEngineTime:  uint32(max(0, r.opts.Now().Sub(r.started).Seconds())),
	}
	pkt.Variables = []gosnmp.SnmpPDU{{Name: ".1.3.6.1.6.3.15.1.1.4.0", Type: gosnmp.Counter32, Value: uint32(n)}}
	r.send(pkt, src)
}

// send answers a datagram (no-op before Run listens, as in fuzzing).
func (r *TrapReceiver) send(pkt *gosnmp.SnmpPacket, to *net.UDPAddr) {
	r.mu.Lock()
	pc := r.conn
	r.mu.Unlock()
	if pc == nil {
		return
	}
	b, err := pkt.MarshalMsg()
	if err != nil {
		r.opts.Logger.Warn("encode the answer to a trap sender", "source", to.IP.String(), "err", err)
		return
	}
	if _, err := pc.WriteTo(b, to); err != nil {
		r.opts.Logger.Warn("answer a trap sender", "source", to.IP.String(), "err", err)
	}
}

func levelName(f gosnmp.SnmpV3MsgFlags) string {
	switch f & gosnmp.AuthPriv {
	case gosnmp.AuthPriv:
		return "authPriv"
	case gosnmp.AuthNoPriv:
		return "authNoPriv"
	}
	return "noAuthNoPriv"
}

// admitSeries reports whether a trap sample may be written: a series
// already seen (within TrapSeriesTTL) always, a new one while its device
// has fewer than MaxSeriesPerDevice.
func (r *TrapReceiver) admitSeries(device string, l labels.Labels, now time.Time) bool {
	key := l.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.series[device]
	if m == nil {
		m = map[string]time.Time{}
		r.series[device] = m
	}
	if _, ok := m[key]; ok {
		m[key] = now
		return true
	}
	if len(m) >= r.opts.MaxSeriesPerDevice {
		for k, seen := range m {
			if now.Sub(seen) > TrapSeriesTTL {
				delete(m, k)
			}
		}
		if len(m) >= r.opts.MaxSeriesPerDevice {
			r.SeriesRefused.Inc()
			return false
		}
	}
	m[key] = now
	return true
}

// appendSeries writes a sample from a trap within the device's cap.
func (r *TrapReceiver) appendSeries(w Writer, device string, l labels.Labels, now time.Time, v float64) {
	if r.admitSeries(device, l, now) {
		_ = w.Append(l, now.UnixMilli(), v)
	}
}

// handle records an accepted trap; false if it has no trap OID.
func (r *TrapReceiver) handle(ctx context.Context, pkt *gosnmp.SnmpPacket, addr *net.UDPAddr, device string, w Writer) (ok bool) {
	defer func() {
		if p := recover(); p != nil {
			ok = false
			r.opts.Logger.Error("panic while handling a trap; recovered", "source", addr.IP.String(), "panic", p)
		}
	}()
	trapOID, vars := trapOIDOf(pkt)
	if trapOID == "" {
		return false
	}
	r.Accepted.Add(1)
	at := r.opts.Now()
	now := at.UnixMilli()
	name := trapNames[trapOID]
	m := map[string]string{model.MetricNameLabel: "nines_snmp_trap", "device": device, "trapOID": trapOID}
	if name != "" {
		m["trapName"] = name
	}
	for i, v := range vars {
		if i == 8 {
			break
		}
		m["vb_"+strings.ReplaceAll(v.OID, ".", "_")] = Text(v)
	}
	r.appendSeries(w, device, labels.FromMap(m), at, 1)
	switch trapOID {
	case oidLinkDown, oidLinkUp:
		status := 1.0
		if trapOID == oidLinkDown {
			status = 2
		}
		for _, v := range vars {
			if idx, ok := strings.CutPrefix(v.OID, oidIfIndexTable); ok {
				r.appendSeries(w, device, labels.FromStrings(model.MetricNameLabel, "ifOperStatus", "device", device, "ifIndex", idx), at, status)
				if r.opts.Interface == nil {
					continue
				}
				if target, ok := r.opts.Interface(device, idx); ok {
					pr := state.Probe{Name: target, Kind: state.KindInterface, OK: status == 1, Immediate: true, Cause: name + " trap"}
					if err := w.ProbeResult(context.WithoutCancel(ctx), pr, time.UnixMilli(now)); err != nil {
						r.opts.Logger.Error("record interface state from a trap", "interface", target, "err", err)
					}
				}
			}
		}
	case oidColdStart, oidWarmStart:
		r.opts.Logger.Info("device restarted (trap)", "device", device, "trap", name)
	case oidAuthFailure:
		r.AuthFailures.Add(1)
	}
	return true
}

// trapOIDOf finds the trap's OID and its other variable bindings: v2c and
// v3 carry snmpTrapOID.0; v1's generic traps map to the standard OIDs and
// enterprise-specific ones to enterprise.0.specific (RFC 3584).
func trapOIDOf(pkt *gosnmp.SnmpPacket) (string, []Var) {
	vars := convert(pkt.Variables)
	if pkt.Version == gosnmp.Version1 {
		if pkt.GenericTrap >= 0 && pkt.GenericTrap < 6 {
			return fmt.Sprintf("1.3.6.1.6.3.1.1.5.%d", pkt.GenericTrap+1), vars
		}
		return strings.TrimPrefix(pkt.Enterprise, ".") + ".0." + fmt.Sprint(pkt.SpecificTrap), vars
	}
	var rest []Var
	oid := ""
	for _, v := range vars {
		switch v.OID {
		case oidSnmpTrapOID:
			oid = strings.TrimPrefix(Text(v), ".")
		case "1.3.6.1.2.1.1.3.0": // sysUpTime.0, present in every v2 trap
		default:
			rest = append(rest, v)
		}
	}
	return oid, rest
}
