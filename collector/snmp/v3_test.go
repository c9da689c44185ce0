package snmp

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ninesmon/nines/internal/peertest"
)

// v3Users are created in snmpd for the v3 matrix: every security level and
// the protocols devices use.
const v3Users = `createUser shaaes SHA "authpass-1234" AES "privpass-1234"
rouser shaaes priv
createUser sha256aes256 SHA-256 "authpass-1234" AES-256 "privpass-1234"
rouser sha256aes256 priv
createUser sha512aes SHA-512 "authpass-1234" AES "privpass-1234"
rouser sha512aes priv
createUser sha512aes256 SHA-512 "authpass-1234" AES-256 "privpass-1234"
rouser sha512aes256 priv
createUser md5des MD5 "authpass-1234" DES "privpass-1234"
rouser md5des priv
createUser authonly SHA-256 "authpass-1234"
rouser authonly auth
createUser noauth
rouser noauth noauth
`

// netsnmpProto spells our protocol names as net-snmp's -a and -x do.
var netsnmpProto = map[string]string{"SHA": "SHA", "SHA256": "SHA-256", "SHA512": "SHA-512", "MD5": "MD5", "AES": "AES", "AES256": "AES-256", "DES": "DES"}

// snmpgetV3 asks snmpget for sysName with the same credentials, as the
// reference for what the operator would see.
func snmpgetV3(t *testing.T, addr string, v V3) string {
	t.Helper()
	args := []string{"-v3", "-t", "0.5", "-r", "0", "-u", v.Username, "-l", v.SecurityLevel}
	if v.SecurityLevel != "noAuthNoPriv" {
		args = append(args, "-a", netsnmpProto[v.AuthProtocol], "-A", v.AuthPassphrase)
	}
	if v.SecurityLevel == "authPriv" {
		args = append(args, "-x", netsnmpProto[v.PrivProtocol], "-X", v.PrivPassphrase)
	}
	cmd := exec.Command(peertest.Find(t, "snmpget", "snmp", "NINES_SKIP_SNMP"), append(args, addr, "1.3.6.1.2.1.1.5.0")...)
	cmd.Env = append(os.Environ(), "MIBS=")
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestV3Causes polls a real snmpd with a matrix of v3 users (SHA, SHA-256
// and SHA-512 with AES and AES-256, MD5/DES, authNoPriv, noAuthNoPriv),
// correct and with every wrong credential, and checks each failure names
// what to fix, as snmpget does for the same case.
func TestV3Causes(t *testing.T) {
	s := startSnmpd(t, v3Users)
	user := func(name, level, auth, priv string) V3 {
		return V3{Username: name, SecurityLevel: level, AuthProtocol: auth, AuthPassphrase: "authpass-1234", PrivProtocol: priv, PrivPassphrase: "privpass-1234"}
	}
	good := []V3{
		user("shaaes", "authPriv", "SHA", "AES"),
		user("sha256aes256", "authPriv", "SHA256", "AES256"),
		user("sha512aes", "authPriv", "SHA512", "AES"),
		user("sha512aes256", "authPriv", "SHA512", "AES256"),
		user("md5des", "authPriv", "MD5", "DES"),
		user("authonly", "authNoPriv", "SHA256", ""),
		user("noauth", "noAuthNoPriv", "", ""),
	}
	type failure struct {
		name    string
		v       V3
		want    error
		snmpget string // what snmpget prints for the same case
		mention string // what our message must name
	}
	var failures []failure
	poll := func(v V3) error {
		tg := s.target("3")
		tg.Timeout = 500 * time.Millisecond
		tg.V3 = v
		_, err := readAll(t, tg, "system")
		return err
	}
	for _, v := range good {
		t.Run(v.Username, func(t *testing.T) {
			if err := poll(v); err != nil {
				t.Fatalf("correct credentials: %v (snmpget: %s)", err, snmpgetV3(t, s.addr, v))
			}
		})
		if v.SecurityLevel != "noAuthNoPriv" {
			w := v
			w.AuthPassphrase = "wrong-auth-0000"
			failures = append(failures, failure{v.Username + " wrong auth passphrase", w, ErrWrongDigest, "Authentication failure", "wrong auth passphrase or auth protocol"})
		}
		if v.SecurityLevel == "authPriv" {
			w := v
			w.PrivPassphrase = "wrong-priv-0000"
			failures = append(failures, failure{v.Username + " wrong privacy passphrase", w, ErrDecryption, "Timeout", "wrong privacy passphrase or privacy protocol"})
		}
	}
	wrongAuthProto := user("shaaes", "authPriv", "SHA512", "AES")
	wrongPrivProto := user("sha256aes256", "authPriv", "SHA256", "AES")
	failures = append(failures,
		failure{"wrong auth protocol", wrongAuthProto, ErrWrongDigest, "Authentication failure", "auth protocol (SHA512)"},
		failure{"wrong privacy protocol", wrongPrivProto, ErrDecryption, "Timeout", "privacy protocol (AES)"},
		failure{"auth-only user at authPriv", user("authonly", "authPriv", "SHA256", "AES"), ErrSecurityLevel, "Unsupported security level", "unsupported security level authPriv"},
		failure{"noAuth user at authNoPriv", user("noauth", "authNoPriv", "SHA", ""), ErrSecurityLevel, "Unsupported security level", "unsupported security level authNoPriv"},
		failure{"unknown user", user("nobody", "authPriv", "SHA", "AES"), ErrUnknownUser, "Unknown user name", `unknown user name "nobody"`},
		failure{"unknown user at noAuthNoPriv", user("nobody", "noAuthNoPriv", "", ""), ErrUnknownUser, "Unknown user name", `unknown user name "nobody"`},
	)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			err := poll(f.v)
			ref := snmpgetV3(t, s.addr, f.v)
			if !strings.Contains(ref, f.snmpget) {
				t.Fatalf("snmpget says %q, the test expected %q", ref, f.snmpget)
			}
			if !errors.Is(err, f.want) || !strings.Contains(err.Error(), f.mention) {
				t.Errorf("got %v; want %v naming %q (snmpget: %s)", err, f.want, f.mention, strings.TrimSpace(ref))
			}
		})
	}
	t.Run("no agent", func(t *testing.T) {
		tg := s.target("3")
		tg.Address = peertest.FreeAddr(t)
		tg.Timeout = 300 * time.Millisecond
		tg.V3 = good[0]
		if _, err := readAll(t, tg, "system"); !errors.Is(err, ErrNoDiscovery) {
			t.Errorf("got %v; want %v", err, ErrNoDiscovery)
		}
	})
}

// TestUsmReport finds the report's cause in the datagram bytes.
func TestUsmReport(t *testing.T) {
	for _, n := range []byte{1, 2, 3, 5, 6} {
		d := append([]byte{0x30, 0x10, 0xa8, 0x05}, usmReportPrefix...)
		d = append(d, n, 0, 0x41, 0x01, 0x07)
		if got, want := usmReport(d), "1.3.6.1.6.3.15.1.1."+string('0'+n)+".0"; got != want {
			t.Errorf("usmStats.%d: got %q, want %q", n, got, want)
		}
	}
	for _, d := range [][]byte{nil, usmReportPrefix, append(append([]byte{}, usmReportPrefix...), 3, 1)} {
		if got := usmReport(d); got != "" {
			t.Errorf("%x: got %q, want none", d, got)
		}
	}
}

// TestExplainReports: each USM report names its cause, also those a
// stock snmpd cannot be made to send on demand (usmStatsNotInTimeWindows
// after resynchronising, usmStatsDecryptionErrors).
func TestExplainReports(t *testing.T) {
	report := func(n byte) []byte {
		return append(append([]byte{0x30, 0x20, 0xa8, 0x10}, usmReportPrefix...), n, 0, 0x41, 0x01, 0x01)
	}
	v3 := V3{Username: "u", SecurityLevel: "authPriv", AuthProtocol: "SHA", PrivProtocol: "AES"}
	for _, tc := range []struct {
		name     string
		datagram []byte
		err      error
		want     error
	}{
		{"unsupported level", report(1), errors.New("incoming packet is not authentic, discarding"), ErrSecurityLevel},
		{"not in time window", report(2), errors.New("incoming packet is not authentic, discarding"), ErrNotInTimeWindow},
		{"not in time window (gosnmp)", nil, gosnmp.ErrNotInTimeWindow, ErrNotInTimeWindow},
		{"unknown user", report(3), errors.New("incoming packet is not authentic, discarding"), ErrUnknownUser},
		{"wrong digest", report(5), errors.New("incoming packet is not authentic, discarding"), ErrWrongDigest},
		{"decryption", report(6), errors.New("incoming packet is not authentic, discarding"), ErrDecryption},
		{"decryption (gosnmp)", nil, gosnmp.ErrDecryption, ErrDecryption},
		{"no discovery", nil, errors.New("request timeout (after 0 retries)"), ErrNoDiscovery},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &conn{g: &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityParameters: &gosnmp.UsmSecurityParameters{}}, t: Target{Version: "3", V3: v3}, rec: &recorder{}}
			if tc.datagram != nil {
				c.rec.last, c.rec.received = tc.datagram, 1
			}
			if got := c.explain(tc.err); !errors.Is(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
