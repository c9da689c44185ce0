package snmp

import (
	"testing"
	"unicode/utf8"

	"github.com/gosnmp/gosnmp"
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
