package snmp

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ninesmon/nines/collector/state"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
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
}

// TrapReceiver listens for v1, v2c and v3 traps and informs. linkDown and
// linkUp write the interface's ifOperStatus at once; coldStart and
// warmStart record a reboot; every trap becomes a nines_snmp_trap sample
// (trapOID, trapName, and up to eight varbinds as labels) that rules can
// match. Traps from unknown sources or with a wrong community are counted
// and dropped.
type TrapReceiver struct {
	opts TrapOptions

	Accepted, UnknownSource, BadCommunity, AuthFailures, Malformed atomic.Int64

	mu sync.Mutex
	tl *gosnmp.TrapListener
}

// NewTrapReceiver returns a receiver; Run starts it.
func NewTrapReceiver(opts TrapOptions) *TrapReceiver { return &TrapReceiver{opts: opts} }

// Run receives traps until ctx is done.
func (r *TrapReceiver) Run(ctx context.Context, w Writer) error {
	tl := gosnmp.NewTrapListener()
	params := &gosnmp.GoSNMP{
		Port: 162, Transport: "udp", Community: "public", Version: gosnmp.Version2c,
		Timeout: 2 * time.Second, Retries: 3, MaxOids: gosnmp.MaxOids,
	}
	if v3 := r.opts.V3; v3 != nil {
		params.Version = gosnmp.Version3
		params.SecurityModel = gosnmp.UserSecurityModel
		switch v3.SecurityLevel {
		case "authPriv":
			params.MsgFlags = gosnmp.AuthPriv
		case "authNoPriv":
			params.MsgFlags = gosnmp.AuthNoPriv
		default:
			params.MsgFlags = gosnmp.NoAuthNoPriv
		}
		usm := &gosnmp.UsmSecurityParameters{UserName: v3.Username}
		if params.MsgFlags != gosnmp.NoAuthNoPriv {
			usm.AuthenticationProtocol = authProtocols[strings.ToUpper(v3.AuthProtocol)]
			usm.AuthenticationPassphrase = v3.AuthPassphrase
		}
		if params.MsgFlags == gosnmp.AuthPriv {
			usm.PrivacyProtocol = privProtocols[strings.ToUpper(v3.PrivProtocol)]
			usm.PrivacyPassphrase = v3.PrivPassphrase
		}
		params.SecurityParameters = usm
	}
	tl.Params = params
	tl.OnNewTrap = func(pkt *gosnmp.SnmpPacket, addr *net.UDPAddr) { r.handle(ctx, pkt, addr, w) }
	r.mu.Lock()
	r.tl = tl
	r.mu.Unlock()
	errc := make(chan error, 1)
	go func() { errc <- tl.Listen(r.opts.Address) }()
	select {
	case <-ctx.Done():
		tl.Close()
		<-errc
		return nil
	case err := <-errc:
		return fmt.Errorf("trap listener on %s: %w", r.opts.Address, err)
	}
}

// Listening reports when the listener is ready (for tests and startup).
func (r *TrapReceiver) Listening() <-chan bool {
	for {
		r.mu.Lock()
		tl := r.tl
		r.mu.Unlock()
		if tl != nil {
			return tl.Listening()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *TrapReceiver) handle(ctx context.Context, pkt *gosnmp.SnmpPacket, addr *net.UDPAddr, w Writer) {
	defer func() {
		if p := recover(); p != nil {
			r.Malformed.Add(1)
			r.opts.Logger.Error("panic while handling a trap; recovered", "source", addr.IP.String(), "panic", p)
		}
	}()
	src := addr.IP.String()
	device, known := r.opts.Devices[src]
	if !known {
		if !r.opts.AllowUnknown {
			r.UnknownSource.Add(1)
			return
		}
		device = src
	}
	if pkt.Version != gosnmp.Version3 && !slices.Contains(r.opts.Communities, pkt.Community) {
		r.BadCommunity.Add(1)
		return
	}
	trapOID, vars := trapOIDOf(pkt)
	if trapOID == "" {
		r.Malformed.Add(1)
		return
	}
	r.Accepted.Add(1)
	now := time.Now().UnixMilli()
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
	_ = w.Append(labels.FromMap(m), now, 1)
	switch trapOID {
	case oidLinkDown, oidLinkUp:
		status := 1.0
		if trapOID == oidLinkDown {
			status = 2
		}
		for _, v := range vars {
			if idx, ok := strings.CutPrefix(v.OID, oidIfIndexTable); ok {
				_ = w.Append(labels.FromStrings(model.MetricNameLabel, "ifOperStatus", "device", device, "ifIndex", idx), now, status)
				if r.opts.Interface == nil {
					continue
				}
				if target, ok := r.opts.Interface(device, idx); ok {
					pr := state.Probe{Name: target, Kind: state.KindInterface, OK: status == 1, Immediate: true, Cause: name + " trap"}
					if err := w.ProbeResult(context.Background(), pr, time.UnixMilli(now)); err != nil {
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
