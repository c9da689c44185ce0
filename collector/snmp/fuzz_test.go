package snmp

import (
	"context"
	"net"
	"testing"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// FuzzValues: converting any value a device sends into a number or a
// label never panics, and labels are valid UTF-8.
func FuzzValues(f *testing.F) {
	f.Add(byte(gosnmp.OctetString), []byte("Gi0/1"), uint64(0))
	f.Add(byte(gosnmp.Counter64), []byte{}, uint64(1<<63))
	f.Add(byte(gosnmp.OctetString), []byte{0xff, 0xfe, 'a'}, uint64(0))
	f.Fuzz(func(t *testing.T, typ byte, raw []byte, n uint64) {
		for _, v := range []Var{
			{Type: gosnmp.Asn1BER(typ), Value: raw},
			{Type: gosnmp.Asn1BER(typ), Value: n},
			{Type: gosnmp.Asn1BER(typ), Value: int(n)},
			{Type: gosnmp.Asn1BER(typ), Value: string(raw)},
			{Type: gosnmp.Asn1BER(typ), Value: nil},
		} {
			_, _ = Number(v)
			if s := Text(v); !utf8.ValidString(s) {
				t.Fatalf("label %q is not UTF-8", s)
			}
		}
	})
}

// walkConn answers every walk with the same variables.
type walkConn struct{ vars []Var }

func (w walkConn) Get(context.Context, []string) ([]Var, error)   { return w.vars, nil }
func (w walkConn) Walk(context.Context, ...string) ([]Var, error) { return w.vars, nil }
func (w walkConn) Close() error                                   { return nil }

// FuzzTables: table rows built from whatever OIDs and values a device
// returns never panic, and every sample has a name and paired labels.
func FuzzTables(f *testing.F) {
	f.Add("1.3.6.1.2.1.43.11.1.1.9.1.2", []byte("x"), int64(5))
	f.Add("1.3.6.1.2.1.43.11.1.1.6.1", []byte{0xff}, int64(-1))
	f.Add(".1.3.6.1.2.1.43.11.1.1.", []byte{}, int64(0))
	f.Fuzz(func(t *testing.T, oid string, text []byte, n int64) {
		c := walkConn{vars: []Var{
			{OID: oid, Type: gosnmp.Integer, Value: int(n)},
			{OID: oid, Type: gosnmp.OctetString, Value: text},
			{OID: oid + ".1", Type: gosnmp.Counter64, Value: uint64(n)},
		}}
		for _, m := range []string{"printer", "ups"} {
			samples, err := Modules[m](context.Background(), c)
			if err != nil {
				continue
			}
			for _, s := range samples {
				if s.Name == "" || len(s.Labels)%2 != 0 {
					t.Fatalf("sample %+v", s)
				}
				for _, l := range s.Labels {
					if !utf8.ValidString(l) {
						t.Fatalf("label %q is not UTF-8", l)
					}
				}
			}
		}
	})
}

// trapSeeds are datagrams for FuzzTrapDatagram: real traps of each
// version, an engine discovery request, and garbage.
func trapSeeds(t testing.TB) [][]byte {
	var out [][]byte
	add := func(g *gosnmp.GoSNMP, typ gosnmp.PDUType, vars []gosnmp.SnmpPDU) {
		pkt := g.MkSnmpPacket(typ, vars, 0, 0)
		if typ == gosnmp.Trap {
			pkt.Enterprise, pkt.AgentAddress, pkt.GenericTrap = ".1.3.6.1.4.1.99999", "127.0.0.1", 2
		}
		b, err := pkt.MarshalMsg()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	vars := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(5)},
		{Name: "." + oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: "." + oidLinkDown},
		{Name: ".1.3.6.1.2.1.2.2.1.1.3", Type: gosnmp.Integer, Value: 3},
	}
	add(&gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "traps"}, gosnmp.SNMPv2Trap, vars)
	add(&gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "guess"}, gosnmp.SNMPv2Trap, vars)
	add(&gosnmp.GoSNMP{Version: gosnmp.Version2c, Community: "traps"}, gosnmp.InformRequest, vars)
	add(&gosnmp.GoSNMP{Version: gosnmp.Version1, Community: "traps"}, gosnmp.Trap, vars[2:])
	probe := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv | gosnmp.Reportable,
		SecurityParameters: &gosnmp.UsmSecurityParameters{}}
	add(probe, gosnmp.GetRequest, nil)
	user := &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.NoAuthNoPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "trapuser", AuthoritativeEngineID: "\x80\x00\x00\x00\x05abcd"}}
	add(user, gosnmp.SNMPv2Trap, vars)
	out = append(out, nil, []byte{0x30}, []byte{0x30, 0x03, 0x02, 0x01, 0x09}, []byte("GET / HTTP/1.0\r\n\r\n"), []byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	return out
}

func fuzzReceiver() *TrapReceiver {
	return NewTrapReceiver(TrapOptions{Communities: []string{"traps"}, AllowUnknown: true,
		V3: &V3{Username: "trapuser", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "authpass-1234", PrivProtocol: "AES", PrivPassphrase: "privpass-1234"}})
}

// outcomes is how many datagrams r accepted, refused, or answered as
// engine discovery.
func outcomes(r *TrapReceiver) float64 {
	n := float64(r.Accepted.Load()) + float64(r.discoveries.Load())
	for _, reason := range RefusalReasons {
		n += testutil.ToFloat64(r.Refused.WithLabelValues(reason))
	}
	return n
}

// FuzzTrapDatagram: whatever arrives on the trap port never panics, and
// every datagram is either accepted, answered as engine discovery, or
// refused under exactly one reason; what is not an SNMP message is
// malformed.
func FuzzTrapDatagram(f *testing.F) {
	for _, s := range trapSeeds(f) {
		f.Add(s)
	}
	src := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 162}
	f.Fuzz(func(t *testing.T, msg []byte) {
		r := fuzzReceiver()
		for range 2 { // twice: nothing leaks from one datagram to the next
			before, malformed := outcomes(r), r.Malformed.Load()
			r.datagram(context.Background(), append([]byte(nil), msg...), src, &sampleWriter{})
			if got := outcomes(r) - before; got != 1 {
				t.Fatalf("%x: counted %v times, want once", msg, got)
			}
			if _, ok := parseHeader(msg); !ok && r.Malformed.Load() != malformed+1 {
				t.Fatalf("%x is not an SNMP message but was not counted malformed", msg)
			}
		}
	})
}

// TestTrapSeedsReachEveryOutcome: the fuzz seeds reach accepted, engine
// discovery, and the refusals malformed, bad_community and
// security_level.
func TestTrapSeedsReachEveryOutcome(t *testing.T) {
	r := fuzzReceiver()
	for _, s := range trapSeeds(t) {
		r.datagram(context.Background(), s, &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 162}, &sampleWriter{})
	}
	if r.Accepted.Load() != 3 || r.discoveries.Load() != 1 {
		t.Errorf("accepted %d, discovery answered %d; want 3, 1", r.Accepted.Load(), r.discoveries.Load())
	}
	for reason, want := range map[string]float64{ReasonMalformed: 5, ReasonBadCommunity: 1, ReasonSecurityLevel: 1} {
		if got := testutil.ToFloat64(r.Refused.WithLabelValues(reason)); got != want {
			t.Errorf("%s: %v, want %v", reason, got, want)
		}
	}
}
