package snmp

import (
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func pdu(oid string, v int) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: "." + oid, Type: gosnmp.Integer, Value: v}
}

// A GETBULK answer is read repetition by repetition; an answer cut short
// inside a repetition makes the next request continue each column from
// its own last OID, and a column ends at the first OID outside it.
func TestWalkSideBySide(t *testing.T) {
	w := newWalk([]string{"1.3.6.1.2.1.2.2.1.2", ".1.3.6.1.2.1.2.2.1.8"})
	asked, oids := w.next(60)
	if len(asked) != 2 || oids[0] != ".1.3.6.1.2.1.2.2.1.2" || oids[1] != ".1.3.6.1.2.1.2.2.1.8" {
		t.Fatalf("first request %v %v", asked, oids)
	}
	// Two repetitions, cut after the first column of the second.
	if err := w.take(asked, []gosnmp.SnmpPDU{
		pdu("1.3.6.1.2.1.2.2.1.2.1", 1), pdu("1.3.6.1.2.1.2.2.1.8.1", 1),
		pdu("1.3.6.1.2.1.2.2.1.2.2", 2),
	}); err != nil {
		t.Fatal(err)
	}
	asked, oids = w.next(60)
	if len(asked) != 2 || oids[0] != ".1.3.6.1.2.1.2.2.1.2.2" || oids[1] != ".1.3.6.1.2.1.2.2.1.8.1" {
		t.Fatalf("second request %v %v", asked, oids)
	}
	// Column 2 runs into column 3 (its end); column 8 gets row 2, then
	// the next column.
	if err := w.take(asked, []gosnmp.SnmpPDU{
		pdu("1.3.6.1.2.1.2.2.1.3.1", 6), pdu("1.3.6.1.2.1.2.2.1.8.2", 2),
		pdu("1.3.6.1.2.1.2.2.1.3.2", 6), pdu("1.3.6.1.2.1.2.2.1.9.1", 0),
	}); err != nil {
		t.Fatal(err)
	}
	if !w.finished() {
		t.Fatalf("walk not finished: done %v", w.done)
	}
	var got []string
	for _, v := range w.out {
		got = append(got, v.OID)
	}
	want := "1.3.6.1.2.1.2.2.1.2.1 1.3.6.1.2.1.2.2.1.8.1 1.3.6.1.2.1.2.2.1.2.2 1.3.6.1.2.1.2.2.1.8.2"
	if strings.Join(got, " ") != want {
		t.Fatalf("read %v, want %s", got, want)
	}
}

func TestWalkEndsAndRefusesLoops(t *testing.T) {
	w := newWalk([]string{"1.3.6.1.2.1.25.3.3.1.2"})
	asked, _ := w.next(60)
	if err := w.take(asked, []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.25.3.3.1.2", Type: gosnmp.EndOfMibView}}); err != nil || !w.finished() {
		t.Fatalf("endOfMibView: err %v, finished %v", err, w.finished())
	}
	w = newWalk([]string{"1.3.6.1.2.1.2.2.1.2"})
	asked, _ = w.next(60)
	if err := w.take(asked, []gosnmp.SnmpPDU{pdu("1.3.6.1.2.1.2.2.1.2.10", 1)}); err != nil {
		t.Fatal(err)
	}
	err := w.take(asked, []gosnmp.SnmpPDU{pdu("1.3.6.1.2.1.2.2.1.2.9", 1)})
	if err == nil || !strings.Contains(err.Error(), "not increasing") {
		t.Fatalf("an OID going backwards: %v", err)
	}
	if err := w.take(asked, nil); err == nil {
		t.Fatal("an empty answer was accepted")
	}
	// Numeric order, not text: .10 comes after .9.
	if compareOIDs("1.3.10", "1.3.9") <= 0 || compareOIDs("1.3.9", "1.3.9.1") >= 0 || compareOIDs("1.3", "1.3") != 0 {
		t.Fatal("compareOIDs does not order arc by arc")
	}
}

// FuzzWalk: whatever a device answers, reading it never panics, and every
// answer either fails or moves the walk on (so a walk cannot loop).
func FuzzWalk(f *testing.F) {
	f.Add("1.3.6.1.2.1.2.2.1.2.1", "1.3.6.1.2.1.2.2.1.8.1", byte(gosnmp.Integer), 2)
	f.Add("1.3.6.1.2.1.2.2.1.3", ".", byte(gosnmp.EndOfMibView), 1)
	f.Add("1.3.6.1.2.1.2.2.1.2..", "1.3.6.1.2.1.2.2.1.2.1.x", byte(gosnmp.OctetString), 3)
	f.Fuzz(func(t *testing.T, a, b string, typ byte, n int) {
		w := newWalk([]string{"1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8"})
		for round := 0; round < 3 && !w.finished(); round++ {
			asked, _ := w.next(60)
			before := len(w.out)
			doneBefore := 0
			for _, d := range w.done {
				if d {
					doneBefore++
				}
			}
			var vars []gosnmp.SnmpPDU
			for i := 0; i < n%5; i++ {
				name := a
				if i%2 == 1 {
					name = b
				}
				vars = append(vars, gosnmp.SnmpPDU{Name: name, Type: gosnmp.Asn1BER(typ), Value: i})
			}
			if err := w.take(asked, vars); err != nil {
				return
			}
			doneAfter := 0
			for _, d := range w.done {
				if d {
					doneAfter++
				}
			}
			if len(w.out) == before && doneAfter == doneBefore {
				t.Fatalf("answer %v taken without moving the walk on", vars)
			}
		}
	})
}
