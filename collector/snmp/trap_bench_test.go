package snmp

import (
	"context"
	"net"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// BenchmarkTrapV3 receives an authPriv trap from a device with its own
// engine ID (as every trap sender has).
func BenchmarkTrapV3(b *testing.B) {
	user := V3{Username: "trapuser", SecurityLevel: "authPriv", AuthProtocol: "SHA", AuthPassphrase: "authpass-1234", PrivProtocol: "AES", PrivPassphrase: "privpass-1234"}
	r := NewTrapReceiver(TrapOptions{V3: &user, AllowUnknown: true})
	g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: 9, Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "trapuser", AuthoritativeEngineID: "\x80\x00\x00\x00\x05device1",
			AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: "authpass-1234", PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "privpass-1234"}}
	if err := g.Connect(); err != nil {
		b.Fatal(err)
	}
	defer g.Conn.Close()
	if err := g.SecurityParameters.InitSecurityKeys(); err != nil {
		b.Fatal(err)
	}
	pkt := g.MkSnmpPacket(gosnmp.SNMPv2Trap, []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(5)},
		{Name: "." + oidSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.99999.0.7"},
	}, 0, 0)
	if err := pkt.SecurityParameters.InitPacket(pkt); err != nil {
		b.Fatal(err)
	}
	msg, err := pkt.MarshalMsg()
	if err != nil {
		b.Fatal(err)
	}
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5000}
	w := &sampleWriter{}
	b.ReportAllocs()
	for b.Loop() {
		r.datagram(context.Background(), append([]byte(nil), msg...), src, w)
	}
	if r.Accepted.Load() == 0 {
		b.Fatalf("not accepted: %v", r.Refused)
	}
}
