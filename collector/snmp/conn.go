// Package snmp polls network devices (switches, routers, firewalls, UPSes,
// printers) over SNMP v1, v2c and v3 with gosnmp, turns every value into a
// sample named after its MIB object (as snmp_exporter does, so its
// dashboards apply), and reports each device's availability: UP while it
// answers, DOWN after failed polls.
package snmp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Var is one variable binding.
type Var struct {
	OID   string // numeric, without a leading dot
	Type  gosnmp.Asn1BER
	Value any
}

// Conn is the narrow seam over gosnmp: what the modules need.
type Conn interface {
	Get(ctx context.Context, oids []string) ([]Var, error)
	// Walk reads every object under the given subtrees (usually the
	// columns of one table), side by side.
	Walk(ctx context.Context, roots ...string) ([]Var, error)
	Close() error
}

// Target says how to reach and authenticate to one device.
type Target struct {
	Address        string // host:port
	Version        string // 1, 2c or 3
	Community      string
	V3             V3
	Timeout        time.Duration
	Retries        int
	MaxRepetitions uint32
}

// V3 holds the user-based security parameters.
type V3 struct {
	Username       string
	SecurityLevel  string // noAuthNoPriv, authNoPriv, authPriv
	AuthProtocol   string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassphrase string
	PrivProtocol   string // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPassphrase string
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{
	"MD5": gosnmp.MD5, "SHA": gosnmp.SHA, "SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256,
	"SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512,
}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{
	"DES": gosnmp.DES, "AES": gosnmp.AES, "AES192": gosnmp.AES192, "AES256": gosnmp.AES256,
	"AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C,
}

// AuthProtocols and PrivProtocols list the accepted names.
func AuthProtocols() []string { return keys(authProtocols) }

// PrivProtocols lists the accepted privacy protocol names.
func PrivProtocols() []string { return keys(privProtocols) }

func keys[T any](m map[string]T) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

type conn struct {
	g   *gosnmp.GoSNMP
	t   Target
	rec *recorder // v3: what the device answered, to name a failure's cause
}

// Dial connects (SNMP is UDP: this only sets up the socket).
func Dial(t Target) (Conn, error) {
	host, port, err := splitHostPort(t.Address)
	if err != nil {
		return nil, err
	}
	g := &gosnmp.GoSNMP{
		Target: host, Port: port, Timeout: t.Timeout, Retries: t.Retries,
		MaxRepetitions: t.MaxRepetitions, Community: t.Community, MaxOids: gosnmp.MaxOids,
	}
	switch t.Version {
	case "1":
		g.Version = gosnmp.Version1
	case "2c", "":
		g.Version = gosnmp.Version2c
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		usm := &gosnmp.UsmSecurityParameters{UserName: t.V3.Username}
		switch t.V3.SecurityLevel {
		case "authPriv":
			g.MsgFlags = gosnmp.AuthPriv
		case "authNoPriv":
			g.MsgFlags = gosnmp.AuthNoPriv
		default:
			g.MsgFlags = gosnmp.NoAuthNoPriv
		}
		if g.MsgFlags != gosnmp.NoAuthNoPriv {
			usm.AuthenticationProtocol = authProtocols[strings.ToUpper(t.V3.AuthProtocol)]
			usm.AuthenticationPassphrase = t.V3.AuthPassphrase
		}
		if g.MsgFlags == gosnmp.AuthPriv {
			usm.PrivacyProtocol = privProtocols[strings.ToUpper(t.V3.PrivProtocol)]
			usm.PrivacyPassphrase = t.V3.PrivPassphrase
		}
		g.SecurityParameters = usm
	default:
		return nil, fmt.Errorf("unknown SNMP version %q", t.Version)
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", t.Address, err)
	}
	c := &conn{g: g, t: t}
	if g.Version == gosnmp.Version3 {
		c.rec = &recorder{Conn: g.Conn}
		g.Conn = c.rec
	}
	return c, nil
}

func splitHostPort(addr string) (string, uint16, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return addr, 161, nil
	}
	var port uint16
	if _, err := fmt.Sscanf(addr[i+1:], "%d", &port); err != nil {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	return strings.Trim(addr[:i], "[]"), port, nil
}

func (c *conn) Get(ctx context.Context, oids []string) ([]Var, error) {
	c.g.Context = ctx // gosnmp's legacy field, set per call (see the style guide)
	c.rec.reset()
	pkt, err := c.g.Get(oids)
	if err != nil {
		return nil, c.explain(err)
	}
	if pkt.Error != gosnmp.NoError {
		return nil, c.explain(fmt.Errorf("agent answered %s", pkt.Error))
	}
	return convert(pkt.Variables), nil
}

// Walk reads the subtrees side by side with GETBULK (GETNEXT in v1), as
// many objects per request as the device's max-repetitions allows. An
// agent answering tooBig is asked for fewer repetitions, then fewer
// subtrees at once; one answering nothing, for fewer subtrees at once.
func (c *conn) Walk(ctx context.Context, roots ...string) ([]Var, error) {
	c.g.Context = ctx
	w := newWalk(roots)
	reps, maxOids := c.g.MaxRepetitions, gosnmp.MaxOids
	if reps == 0 {
		reps = 25
	}
	for !w.finished() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		asked, oids := w.next(maxOids)
		c.rec.reset()
		var pkt *gosnmp.SnmpPacket
		var err error
		if c.g.Version == gosnmp.Version1 {
			pkt, err = c.g.GetNext(oids)
		} else {
			pkt, err = c.g.GetBulk(oids, 0, reps)
		}
		if err != nil {
			return nil, c.explain(err)
		}
		switch {
		case pkt.Error == gosnmp.TooBig && reps > 1 && c.g.Version != gosnmp.Version1:
			reps /= 2
			continue
		case pkt.Error == gosnmp.TooBig && len(oids) > 1:
			maxOids = len(oids) / 2
			continue
		case pkt.Error == gosnmp.NoSuchName && c.g.Version == gosnmp.Version1:
			// SNMPv1 says "past the end of the MIB" this way, naming the
			// variable.
			k := int(pkt.ErrorIndex) - 1
			if k < 0 || k >= len(asked) {
				return nil, fmt.Errorf("agent answered noSuchName for variable %d of %d", pkt.ErrorIndex, len(asked))
			}
			w.done[asked[k]] = true
			continue
		case pkt.Error != gosnmp.NoError:
			return nil, c.explain(fmt.Errorf("agent answered %s", pkt.Error))
		case len(pkt.Variables) == 0 && len(oids) > 1:
			// An agent that answers at most m objects and fewer than the
			// subtrees asked answers none (net-snmp's
			// maxGetbulkResponses): ask fewer at once.
			maxOids = len(oids) / 2
			continue
		}
		if err := w.take(asked, pkt.Variables); err != nil {
			return nil, err
		}
	}
	return w.out, nil
}

func (c *conn) Close() error { return c.g.Conn.Close() }

func convert(pdus []gosnmp.SnmpPDU) []Var {
	out := make([]Var, 0, len(pdus))
	for _, p := range pdus {
		out = append(out, Var{OID: strings.TrimPrefix(p.Name, "."), Type: p.Type, Value: p.Value})
	}
	return out
}
