package snmp

import (
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// walk reads several subtrees (usually the columns of one table) side by
// side: each request asks for the next objects of every subtree not yet
// finished, so a table of n columns and r rows takes about n*r/m round
// trips for an agent answering m objects per response, instead of a walk
// per table that also reads the columns nobody asked for. It is the state
// of one such walk; the answers it takes are the device's and are checked
// (an answer outside its subtree ends that subtree; one not after the
// previous is an error, as it would loop).
type walk struct {
	roots []string // without the leading dot
	last  []string // the last OID read per subtree, "" at first
	done  []bool
	out   []Var
}

func newWalk(roots []string) *walk {
	w := &walk{roots: make([]string, len(roots)), last: make([]string, len(roots)), done: make([]bool, len(roots))}
	for i, r := range roots {
		w.roots[i] = strings.TrimPrefix(r, ".")
	}
	return w
}

// next is the request to send: the subtrees still being read (at most
// max of them) and the OID to continue each from.
func (w *walk) next(max int) (asked []int, oids []string) {
	for i := range w.roots {
		if w.done[i] {
			continue
		}
		if len(asked) == max {
			break
		}
		asked = append(asked, i)
		if w.last[i] != "" {
			oids = append(oids, "."+w.last[i])
		} else {
			oids = append(oids, "."+w.roots[i])
		}
	}
	return asked, oids
}

// take reads one answer to the request next returned: variable k belongs
// to subtree asked[k mod len(asked)] (RFC 3416 orders a GETBULK answer
// repetition by repetition; an agent may cut it short, even within a
// repetition, and the subtrees it left out are asked again). Every answer
// moves the walk on: its first variable either ends its subtree or comes
// after that subtree's last OID, or take fails.
func (w *walk) take(asked []int, vars []gosnmp.SnmpPDU) error {
	if len(vars) == 0 {
		return fmt.Errorf("empty answer")
	}
	for k, v := range vars {
		i := asked[k%len(asked)]
		if w.done[i] {
			continue
		}
		oid := strings.TrimPrefix(v.Name, ".")
		switch v.Type {
		case gosnmp.EndOfMibView, gosnmp.NoSuchObject, gosnmp.NoSuchInstance:
			w.done[i] = true
			continue
		}
		if !strings.HasPrefix(oid, w.roots[i]+".") {
			w.done[i] = true
			continue
		}
		prev := w.last[i]
		if prev == "" {
			prev = w.roots[i]
		}
		if compareOIDs(oid, prev) <= 0 {
			return fmt.Errorf("agent returned %s after %s: OIDs not increasing", oid, prev)
		}
		w.last[i] = oid
		w.out = append(w.out, Var{OID: oid, Type: v.Type, Value: v.Value})
	}
	return nil
}

// finished says whether every subtree is read.
func (w *walk) finished() bool {
	for _, d := range w.done {
		if !d {
			return false
		}
	}
	return true
}

// compareOIDs orders two numeric OIDs arc by arc (as numbers, not text).
// Malformed arcs compare as text, which is enough to keep a walk from
// looping.
func compareOIDs(a, b string) int {
	for a != "" && b != "" {
		var x, y string
		x, a, _ = strings.Cut(a, ".")
		y, b, _ = strings.Cut(b, ".")
		if len(x) != len(y) {
			if len(x) < len(y) {
				return -1
			}
			return 1
		}
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}
