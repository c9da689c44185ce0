package snmp

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Causes of a failed poll, matched with errors.Is. Each failure names what
// the operator must fix; for SNMPv3 the cause comes from the USM report
// PDU the device answered (RFC 3414 section 3.2) and from whether engine
// discovery succeeded, as net-snmp's snmpget reports it.
var (
	// ErrNoAnswer: v1/v2c, nothing came back (a wrong community is
	// indistinguishable from an unreachable device: agents stay silent).
	ErrNoAnswer = errors.New("no answer (wrong community, or device unreachable or not serving SNMP on this port)")
	// ErrNoDiscovery: v3, not even engine discovery was answered.
	ErrNoDiscovery = errors.New("no answer to SNMPv3 engine discovery (device unreachable, SNMP port filtered, or SNMPv3 not enabled on the device)")
	// ErrUnknownUser: usmStatsUnknownUserNames (snmpget: "Unknown user name").
	ErrUnknownUser = errors.New("unknown user name")
	// ErrWrongDigest: usmStatsWrongDigests (snmpget: "Authentication failure").
	ErrWrongDigest = errors.New("authentication failed")
	// ErrDecryption: usmStatsDecryptionErrors, or discovery answered but the
	// encrypted request not (net-snmp drops what it cannot decrypt;
	// snmpget says "Timeout").
	ErrDecryption = errors.New("decryption failed")
	// ErrSecurityLevel: usmStatsUnsupportedSecLevels (snmpget:
	// "Unsupported security level").
	ErrSecurityLevel = errors.New("unsupported security level")
	// ErrNotInTimeWindow: usmStatsNotInTimeWindows even after gosnmp
	// resynchronised (snmpget: "Time synchronization error").
	ErrNotInTimeWindow = errors.New("not in time window")
	// ErrNoAnswerAfterDiscovery: v3 without privacy, discovery answered,
	// the request not.
	ErrNoAnswerAfterDiscovery = errors.New("no answer after engine discovery succeeded")
)

// USM report OIDs (RFC 3414 usmStats), without the leading dot.
const (
	oidUsmStatsUnsupportedSecLevels = "1.3.6.1.6.3.15.1.1.1.0"
	oidUsmStatsNotInTimeWindows     = "1.3.6.1.6.3.15.1.1.2.0"
	oidUsmStatsUnknownUserNames     = "1.3.6.1.6.3.15.1.1.3.0"
	oidUsmStatsWrongDigests         = "1.3.6.1.6.3.15.1.1.5.0"
	oidUsmStatsDecryptionErrors     = "1.3.6.1.6.3.15.1.1.6.0"
)

// recorder keeps the last datagram a v3 device answered: gosnmp discards
// the unauthenticated report PDUs that say why a request failed ("incoming
// packet is not authentic"), so we read them ourselves.
type recorder struct {
	net.Conn
	last     []byte
	received int
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.Conn.Read(b)
	if n > 0 {
		r.last = append(r.last[:0], b[:n]...)
		r.received++
	}
	return n, err
}

func (r *recorder) reset() {
	if r != nil {
		r.last, r.received = r.last[:0], 0
	}
}

// usmReportPrefix is the BER encoding of OID 1.3.6.1.6.3.15.1.1 (usmStats)
// with its tag and length; the report's varbind follows with .N.0.
var usmReportPrefix = []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x06, 0x03, 0x0f, 0x01, 0x01}

// usmReport finds the usmStats OID a report PDU carries in a datagram
// (reports travel unencrypted), or "".
func usmReport(datagram []byte) string {
	i := bytes.Index(datagram, usmReportPrefix)
	if i < 0 || i+len(usmReportPrefix)+2 > len(datagram) || datagram[i+len(usmReportPrefix)+1] != 0 {
		return ""
	}
	return fmt.Sprintf("1.3.6.1.6.3.15.1.1.%d.0", datagram[i+len(usmReportPrefix)])
}

// explain turns gosnmp's terse errors into the cause an operator can act
// on.
func (c *conn) explain(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "AuthorizationError") {
		return fmt.Errorf("not authorized (the user's security level or view does not allow this): %w", err)
	}
	if c.g.Version != gosnmp.Version3 {
		if silent(msg) {
			return fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		return err
	}
	v3 := c.t.V3
	level := cmp.Or(v3.SecurityLevel, "noAuthNoPriv")
	report := ""
	if c.rec != nil && c.rec.received > 0 {
		report = usmReport(c.rec.last)
	}
	switch {
	case errors.Is(err, gosnmp.ErrUnknownUsername):
		report = oidUsmStatsUnknownUserNames
	case errors.Is(err, gosnmp.ErrWrongDigest):
		report = oidUsmStatsWrongDigests
	case errors.Is(err, gosnmp.ErrDecryption):
		report = oidUsmStatsDecryptionErrors
	case errors.Is(err, gosnmp.ErrUnknownSecurityLevel):
		report = oidUsmStatsUnsupportedSecLevels
	case errors.Is(err, gosnmp.ErrNotInTimeWindow):
		report = oidUsmStatsNotInTimeWindows
	}
	// The report is the cause; gosnmp's own words ("incoming packet is not
	// authentic") would only mislead.
	switch report {
	case oidUsmStatsUnknownUserNames:
		return fmt.Errorf("%w %q (the device reported usmStatsUnknownUserNames; snmpget says \"Unknown user name\"): create the user on the device or correct the username", ErrUnknownUser, v3.Username)
	case oidUsmStatsWrongDigests:
		return fmt.Errorf("%w for user %q (the device reported usmStatsWrongDigests; snmpget says \"Authentication failure\"): wrong auth passphrase or auth protocol (%s)", ErrWrongDigest, v3.Username, v3.AuthProtocol)
	case oidUsmStatsDecryptionErrors:
		return fmt.Errorf("%w for user %q (the device reported usmStatsDecryptionErrors): wrong privacy passphrase or privacy protocol (%s)", ErrDecryption, v3.Username, v3.PrivProtocol)
	case oidUsmStatsUnsupportedSecLevels:
		key := "authentication"
		if level == "authPriv" {
			key = "privacy (or authentication)"
		}
		return fmt.Errorf("%w %s for user %q (the device reported usmStatsUnsupportedSecLevels; snmpget says \"Unsupported security level\"): the user has no %s key on the device; lower security_level or give the user that key on the device",
			ErrSecurityLevel, level, v3.Username, key)
	case oidUsmStatsNotInTimeWindows:
		return fmt.Errorf("%w (the device kept reporting usmStatsNotInTimeWindows after resynchronising; snmpget says \"Time synchronization error\"): check that no other device shares its engine ID", ErrNotInTimeWindow)
	}
	if silent(msg) {
		discovered := false
		if usm, ok := c.g.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok && usm.AuthoritativeEngineID != "" {
			discovered = true
		}
		switch {
		case !discovered:
			return fmt.Errorf("%w: %w", ErrNoDiscovery, err)
		case level == "authPriv":
			return fmt.Errorf("%w for user %q: the device answered engine discovery but not the encrypted request (it drops what it cannot decrypt; snmpget says \"Timeout\"): wrong privacy passphrase or privacy protocol (%s): %w", ErrDecryption, v3.Username, v3.PrivProtocol, err)
		default:
			return fmt.Errorf("%w (user %q at %s): the device dropped the request: %w", ErrNoAnswerAfterDiscovery, v3.Username, level, err)
		}
	}
	if strings.Contains(msg, "not authentic") {
		return fmt.Errorf("%w for user %q: the answer failed authentication: wrong auth passphrase or auth protocol (%s): %w", ErrWrongDigest, v3.Username, v3.AuthProtocol, err)
	}
	return err
}

// silent: nothing (usable) came back: a timeout, or the host said nothing
// listens on the port.
func silent(msg string) bool {
	return strings.Contains(msg, "timeout") || strings.Contains(msg, "connection refused")
}
