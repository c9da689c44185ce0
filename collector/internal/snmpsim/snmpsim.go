// Package snmpsim simulates many SNMP v2c devices in one process, for the
// scale benchmark (1,000 devices x 48 interfaces): each device is a UDP
// socket on loopback answering GET, GETNEXT and GETBULK over the system
// group and ifTable/ifXTable, with counters that grow with time. It is a
// load generator, not a test double for behaviour (the tests use a real
// snmpd).
package snmpsim

import (
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// object is one OID of the simulated MIB, its value a function of the
// device, interface and time.
type object struct {
	oid  string
	arcs []int
	typ  gosnmp.Asn1BER
	val  func(dev, iface int, up uint32) any
	ifc  int // interface number, 0 for scalars
}

func arcs(oid string) []int {
	parts := strings.Split(oid, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}

func less(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// mib is the sorted object list every device serves.
func mib(interfaces int) []object {
	var out []object
	add := func(oid string, typ gosnmp.Asn1BER, ifc int, val func(dev, iface int, up uint32) any) {
		out = append(out, object{oid: oid, arcs: arcs(oid), typ: typ, val: val, ifc: ifc})
	}
	add("1.3.6.1.2.1.1.1.0", gosnmp.OctetString, 0, func(int, int, uint32) any { return []byte("nines simulated switch") })
	add("1.3.6.1.2.1.1.2.0", gosnmp.ObjectIdentifier, 0, func(int, int, uint32) any { return ".1.3.6.1.4.1.8072.3.2.10" })
	add("1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks, 0, func(_, _ int, up uint32) any { return up })
	add("1.3.6.1.2.1.1.5.0", gosnmp.OctetString, 0, func(dev, _ int, _ uint32) any { return []byte(fmt.Sprintf("sim-%d", dev)) })
	add("1.3.6.1.2.1.1.6.0", gosnmp.OctetString, 0, func(int, int, uint32) any { return []byte("lab") })
	counter := func(rate uint64) func(dev, iface int, up uint32) any {
		return func(dev, iface int, up uint32) any { return uint64(up) * rate * uint64(iface) / 100 }
	}
	for i := 1; i <= interfaces; i++ {
		name := fmt.Sprintf("Gi0/%d", i)
		col := func(table string, c int) string { return fmt.Sprintf("%s.%d.%d", table, c, i) }
		ifT, ifX := "1.3.6.1.2.1.2.2.1", "1.3.6.1.2.1.31.1.1.1"
		add(col(ifT, 1), gosnmp.Integer, i, func(_, iface int, _ uint32) any { return iface })
		add(col(ifT, 2), gosnmp.OctetString, i, func(int, int, uint32) any { return []byte(name) })
		add(col(ifT, 3), gosnmp.Integer, i, func(int, int, uint32) any { return 6 })
		add(col(ifT, 5), gosnmp.Gauge32, i, func(int, int, uint32) any { return uint(1000000000) })
		add(col(ifT, 7), gosnmp.Integer, i, func(int, int, uint32) any { return 1 })
		add(col(ifT, 8), gosnmp.Integer, i, func(_, iface int, _ uint32) any { return 1 + iface%7/6 }) // a few down
		add(col(ifT, 13), gosnmp.Counter32, i, func(int, int, uint32) any { return uint(0) })
		add(col(ifT, 14), gosnmp.Counter32, i, func(int, int, uint32) any { return uint(0) })
		add(col(ifX, 1), gosnmp.OctetString, i, func(int, int, uint32) any { return []byte(name) })
		add(col(ifX, 6), gosnmp.Counter64, i, counter(125000))
		add(col(ifX, 7), gosnmp.Counter64, i, counter(1000))
		add(col(ifX, 10), gosnmp.Counter64, i, counter(250000))
		add(col(ifX, 11), gosnmp.Counter64, i, counter(2000))
		add(col(ifX, 15), gosnmp.Gauge32, i, func(int, int, uint32) any { return uint(1000) })
		add(col(ifX, 18), gosnmp.OctetString, i, func(int, int, uint32) any { return []byte("") })
	}
	sort.Slice(out, func(a, b int) bool { return less(out[a].arcs, out[b].arcs) })
	return out
}

// Sim is a running set of simulated devices.
type Sim struct {
	Addrs    []string
	Requests atomic.Int64
	conns    []*net.UDPConn
	mib      []object
	start    time.Time
	wg       sync.WaitGroup
}

// Start serves n devices with the given number of interfaces each, on
// loopback ports from firstPort (0: any free ports).
func Start(n, interfaces, firstPort int) (*Sim, error) {
	s := &Sim{mib: mib(interfaces), start: time.Now()}
	for i := 0; i < n; i++ {
		port := 0
		if firstPort > 0 {
			port = firstPort + i
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		if err != nil {
			s.Close()
			return nil, err
		}
		s.conns = append(s.conns, c)
		s.Addrs = append(s.Addrs, c.LocalAddr().String())
		s.wg.Add(1)
		go s.serve(i, c)
	}
	return s, nil
}

// Close stops every device.
func (s *Sim) Close() {
	for _, c := range s.conns {
		c.Close()
	}
	s.wg.Wait()
}

func (s *Sim) serve(dev int, c *net.UDPConn) {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	dec := &gosnmp.GoSNMP{}
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		req, err := dec.SnmpDecodePacket(buf[:n])
		if err != nil || req.Community != "public" {
			continue
		}
		s.Requests.Add(1)
		out, err := s.answer(dev, req).MarshalMsg()
		if err != nil {
			continue
		}
		_, _ = c.WriteToUDP(out, from)
	}
}

// find returns the index of the first object at or after arcs (strictly
// after when next).
func (s *Sim) find(a []int, next bool) int {
	return sort.Search(len(s.mib), func(i int) bool {
		if next {
			return less(a, s.mib[i].arcs)
		}
		return !less(s.mib[i].arcs, a)
	})
}

func (s *Sim) pdu(dev int, i int, up uint32) gosnmp.SnmpPDU {
	o := s.mib[i]
	return gosnmp.SnmpPDU{Name: "." + o.oid, Type: o.typ, Value: o.val(dev, o.ifc, up)}
}

func (s *Sim) answer(dev int, req *gosnmp.SnmpPacket) *gosnmp.SnmpPacket {
	up := uint32(time.Since(s.start) / (10 * time.Millisecond))
	resp := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
	endOfView := func(name string) gosnmp.SnmpPDU { return gosnmp.SnmpPDU{Name: name, Type: gosnmp.EndOfMibView} }
	nonRepeaters := 0
	if req.PDUType == gosnmp.GetBulkRequest {
		nonRepeaters = min(int(req.NonRepeaters), len(req.Variables))
	}
	for k, v := range req.Variables {
		a := arcs(strings.TrimPrefix(v.Name, "."))
		switch {
		case req.PDUType == gosnmp.GetRequest:
			i := s.find(a, false)
			if i < len(s.mib) && !less(a, s.mib[i].arcs) {
				resp.Variables = append(resp.Variables, s.pdu(dev, i, up))
			} else {
				resp.Variables = append(resp.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.NoSuchObject})
			}
		case req.PDUType == gosnmp.GetNextRequest || k < nonRepeaters:
			if i := s.find(a, true); i < len(s.mib) {
				resp.Variables = append(resp.Variables, s.pdu(dev, i, up))
			} else {
				resp.Variables = append(resp.Variables, endOfView(v.Name))
			}
		}
	}
	if req.PDUType == gosnmp.GetBulkRequest {
		// Repeaters, repetition by repetition (RFC 3416 4.2.3): each
		// repetition has the next object after every repeater's previous.
		repeaters := req.Variables[nonRepeaters:]
		at := make([]int, len(repeaters))
		for j, v := range repeaters {
			at[j] = s.find(arcs(strings.TrimPrefix(v.Name, ".")), true)
		}
		for r := 0; r < int(req.MaxRepetitions) && len(repeaters) > 0; r++ {
			for j, v := range repeaters {
				if at[j] >= len(s.mib) {
					resp.Variables = append(resp.Variables, endOfView(v.Name))
					continue
				}
				resp.Variables = append(resp.Variables, s.pdu(dev, at[j], up))
				at[j]++
			}
		}
	}
	return resp
}
