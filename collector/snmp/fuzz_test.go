package snmp

import (
	"context"
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
