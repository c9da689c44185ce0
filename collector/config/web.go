package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Web is the HTTP listener (API, ingest, /metrics).
type Web struct {
	ListenAddress string `yaml:"listen_address"`
	TLSCertFile   string `yaml:"tls_cert_file"`
	TLSKeyFile    string `yaml:"tls_key_file"`
	// MetricsPublic serves /metrics without a token. Default false: the
	// SLA and state figures are data and need a viewer token.
	MetricsPublic bool `yaml:"metrics_public"`
	// Wall configures the NOC wall view and operator web UI (/ui/).
	Wall Wall `yaml:"wall"`
	// TimeZone is the IANA zone the web pages show times in and the
	// maintenance form reads them in (default: the collector's local
	// zone). Every page says which.
	TimeZone string `yaml:"time_zone"`
}

// Location is the web pages' time zone (see TimeZone).
func (w *Web) Location() *time.Location {
	if w.TimeZone == "" {
		return time.Local
	}
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil { // validated on load
		return time.Local
	}
	return loc
}

// Wall configures the NOC wall view.
type Wall struct {
	// GroupBy is the target label whose values become one tile each
	// (hosts and devices per site, say). Default "site"; targets without
	// it are grouped as "other".
	GroupBy string `yaml:"group_by"`
	// SessionTTL is how long a web login lasts (default 12h).
	SessionTTL yamlconf.Duration `yaml:"session_ttl"`
}

// Auth lists the API tokens.
type Auth struct {
	Tokens []Token `yaml:"tokens"`
}

// Role is what a token may do.
type Role string

// The roles: agent may only push; viewer reads; operator reads and works
// incidents; admin does everything.
const (
	RoleAgent    Role = "agent"
	RoleViewer   Role = "viewer"
	RoleOperator Role = "operator"
	RoleAdmin    Role = "admin"
)

// Token is one credential. The secret is never in the file in clear:
// give its SHA-256 (token_sha256) or a file holding it (token_file).
type Token struct {
	Name        string `yaml:"name"`
	Role        Role   `yaml:"role"`
	TokenSHA256 string `yaml:"token_sha256"`
	TokenFile   string `yaml:"token_file"`
	// Hosts, for an agent token, are the host names it may speak for,
	// as patterns of path.Match ("web*", "*.dc1.example.com"): a push,
	// a goodbye or a written line for any other host is refused. None:
	// any host.
	Hosts []string `yaml:"hosts"`

	// Hash is the SHA-256 of the token, filled by LoadFile.
	Hash [32]byte `yaml:"-"`
}

func (w *Web) validate(p *yamlconf.Problems) {
	if err := yamlconf.CheckListenAddress(w.ListenAddress, "tcp"); err != nil {
		p.Addf("web.listen_address", "%v", err)
	}
	if (w.TLSCertFile == "") != (w.TLSKeyFile == "") {
		p.Addf("web", "tls_cert_file and tls_key_file must be set together")
	}
	if w.Wall.GroupBy == "" || !labelNameRE.MatchString(w.Wall.GroupBy) {
		p.Addf("web.wall.group_by", "want a label name, got %q", w.Wall.GroupBy)
	}
	if w.TimeZone != "" {
		if _, err := time.LoadLocation(w.TimeZone); err != nil {
			p.Addf("web.time_zone", "want an IANA time zone such as Europe/Berlin, got %q", w.TimeZone)
		}
	}
	if w.Wall.SessionTTL.D() < time.Minute {
		p.Addf("web.wall.session_ttl", "want at least 1m, got %s", w.Wall.SessionTTL.D())
	}
}

func (a *Auth) validate(p *yamlconf.Problems) {
	names := map[string]bool{}
	for i, t := range a.Tokens {
		tp := fmt.Sprintf("auth.tokens[%d]", i)
		p.Name(names, tp, "token", t.Name)
		switch t.Role {
		case RoleAgent, RoleViewer, RoleOperator, RoleAdmin:
		default:
			p.Addf(tp+".role", "unknown role %q (want agent, viewer, operator or admin)", t.Role)
		}
		if len(t.Hosts) > 0 && t.Role != RoleAgent {
			p.Addf(tp+".hosts", "only agent tokens speak for hosts, this one has role %q", t.Role)
		}
		for j, pat := range t.Hosts {
			if _, err := path.Match(pat, ""); err != nil || pat == "" {
				p.Addf(fmt.Sprintf("%s.hosts[%d]", tp, j), "bad host pattern %q (want a host name, * and ? matching any characters)", pat)
			}
		}
		switch {
		case t.TokenSHA256 != "" && t.TokenFile != "":
			p.Addf(tp, "at most one of token_sha256 & token_file must be configured")
		case t.TokenSHA256 == "" && t.TokenFile == "":
			p.Addf(tp, "one of token_sha256 or token_file must be set")
		case t.TokenSHA256 != "":
			if b, err := hex.DecodeString(t.TokenSHA256); err != nil || len(b) != sha256.Size {
				p.Addf(tp+".token_sha256", "must be 64 hex digits (sha256sum of the token)")
			}
		}
	}
}
