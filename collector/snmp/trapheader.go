package snmp

import "github.com/gosnmp/gosnmp"

// header is what a trap receiver must know of a message before it can
// decode it: who sent it, with which credentials, at which security level.
type header struct {
	version   int // 0 (v1), 1 (v2c) or 3
	community string
	flags     gosnmp.SnmpV3MsgFlags
	secModel  int
	user      string
	engineID  string
}

// discovery reports whether the message is an SNMPv3 engine discovery
// request (RFC 3414 section 4): unauthenticated, reportable, with neither
// user nor engine ID.
func (h header) discovery() bool {
	return h.version == 3 && h.flags&gosnmp.AuthPriv == gosnmp.NoAuthNoPriv && h.flags&gosnmp.Reportable != 0 &&
		h.user == "" && h.engineID == ""
}

// parseHeader reads an SNMP message's header (RFC 3412 section 6 for v3)
// without decoding the rest; false if it is not one.
func parseHeader(b []byte) (header, bool) {
	var h header
	msg, _, ok := ber(b, 0x30)
	if !ok {
		return h, false
	}
	v, msg, ok := berInt(msg)
	if !ok {
		return h, false
	}
	h.version = v
	switch v {
	case 0, 1:
		c, _, ok := ber(msg, 0x04)
		h.community = string(c)
		return h, ok
	case 3:
	default:
		return h, true // counted as malformed by version
	}
	global, msg, ok := ber(msg, 0x30)
	if !ok {
		return h, false
	}
	var flags []byte
	if _, global, ok = berInt(global); !ok { // msgID
		return h, false
	}
	if _, global, ok = berInt(global); !ok { // msgMaxSize
		return h, false
	}
	if flags, global, ok = ber(global, 0x04); !ok || len(flags) != 1 {
		return h, false
	}
	h.flags = gosnmp.SnmpV3MsgFlags(flags[0])
	if h.secModel, _, ok = berInt(global); !ok {
		return h, false
	}
	sp, _, ok := ber(msg, 0x04)
	if !ok {
		return h, false
	}
	usm, _, ok := ber(sp, 0x30)
	if !ok {
		return h, false
	}
	engine, usm, ok := ber(usm, 0x04)
	if !ok {
		return h, false
	}
	h.engineID = string(engine)
	if _, usm, ok = berInt(usm); !ok { // boots
		return h, false
	}
	if _, usm, ok = berInt(usm); !ok { // time
		return h, false
	}
	user, _, ok := ber(usm, 0x04)
	h.user = string(user)
	return h, ok
}

// ber reads one BER element with the given tag: its value and what
// follows.
func ber(b []byte, tag byte) (val, rest []byte, ok bool) {
	if len(b) < 2 || b[0] != tag {
		return nil, nil, false
	}
	n, i := int(b[1]), 2
	if n&0x80 != 0 {
		octets := n & 0x7f
		if octets == 0 || octets > 3 || len(b) < 2+octets {
			return nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+octets] {
			n = n<<8 | int(c)
		}
		i += octets
	}
	if n > len(b)-i {
		return nil, nil, false
	}
	return b[i : i+n], b[i+n:], true
}

// berInt reads a non-negative INTEGER of at most four octets.
func berInt(b []byte) (int, []byte, bool) {
	v, rest, ok := ber(b, 0x02)
	if !ok || len(v) == 0 || len(v) > 5 || v[0]&0x80 != 0 {
		return 0, nil, false
	}
	n := 0
	for _, c := range v {
		n = n<<8 | int(c)
	}
	return n, rest, true
}
