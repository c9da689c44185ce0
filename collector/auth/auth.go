// Package auth checks the bearer tokens of every collector endpoint that
// returns data or changes state. Tokens are known only by their SHA-256
// and compared in constant time; the token set can be swapped on reload.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/ninesmon/nines/collector/config"
)

// Principal is who made a request.
type Principal struct {
	Name string
	Role config.Role
	// Hosts are the host patterns an agent token may speak for (none:
	// any); see MaySpeakFor.
	Hosts []string
}

// MaySpeakFor reports whether p may push, say goodbye or write lines for
// host: its token names no hosts, or one of its patterns (path.Match)
// matches. An agent token bound to hosts cannot keep another host UP,
// nor put it in SHUTDOWN.
func (p Principal) MaySpeakFor(host string) bool {
	if len(p.Hosts) == 0 {
		return true
	}
	for _, pat := range p.Hosts {
		if ok, _ := path.Match(pat, host); ok {
			return true
		}
	}
	return false
}

type ctxKey struct{}

// FromContext returns the request's principal, if authenticated.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Authenticator holds the current token set. Safe for concurrent use.
type Authenticator struct {
	tokens   atomic.Pointer[[]config.Token]
	failures atomic.Pointer[Failures] // limits and records wrong tokens; nil: neither
}

// New returns an authenticator for tokens.
func New(tokens []config.Token) *Authenticator {
	a := &Authenticator{}
	a.Set(tokens)
	return a
}

// Set replaces the token set.
func (a *Authenticator) Set(tokens []config.Token) {
	c := slices.Clone(tokens)
	a.tokens.Store(&c)
}

// Authenticate finds the principal for a request's bearer token (also
// accepted: "Token <t>", as InfluxDB clients send).
func (a *Authenticator) Authenticate(r *http.Request) (Principal, bool) {
	h := r.Header.Get("Authorization")
	var tok string
	switch {
	case strings.HasPrefix(h, "Bearer "):
		tok = strings.TrimPrefix(h, "Bearer ")
	case strings.HasPrefix(h, "Token "):
		tok = strings.TrimPrefix(h, "Token ")
	default:
		return Principal{}, false
	}
	return a.Lookup(tok)
}

// Lookup finds the principal owning a raw token. Every configured token is
// compared, so timing does not reveal which one matched.
func (a *Authenticator) Lookup(tok string) (Principal, bool) {
	sum := sha256.Sum256([]byte(tok))
	var found Principal
	ok := false
	for _, t := range *a.tokens.Load() {
		if subtle.ConstantTimeCompare(sum[:], t.Hash[:]) == 1 {
			found, ok = Principal{Name: t.Name, Role: t.Role, Hosts: t.Hosts}, true
		}
	}
	return found, ok
}

// Allows reports whether role may act as want: admin may do everything,
// operator what a viewer may, and agent only push.
func Allows(role, want config.Role) bool {
	if role == want || role == config.RoleAdmin {
		return true
	}
	return role == config.RoleOperator && want == config.RoleViewer
}

// Require wraps h so that only principals allowed to act as want get
// through; others get 401 (no or unknown token) or 403 (wrong role).
// With LimitFailures, wrong tokens are limited per client address and
// overall (429 with Retry-After beyond), counted and logged.
func (a *Authenticator) Require(want config.Role, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := a.failures.Load()
		if f != nil && !f.allow(w, r) {
			return
		}
		p, ok := a.Authenticate(r)
		if !ok {
			if f != nil && r.Header.Get("Authorization") != "" && !f.fail(w, r) {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="nines"`)
			writeError(w, http.StatusUnauthorized, "missing or unknown bearer token")
			return
		}
		if !Allows(p.Role, want) {
			writeError(w, http.StatusForbidden, "token "+p.Name+" (role "+string(p.Role)+") may not do this: needs "+string(want))
			return
		}
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// writeError answers as the API does: {"status":"error","error":msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}{"error", msg})
}

// Principal returns the current principal of the token named name: a web
// session holds a token's name, and follows it when the token's role
// changes or it is removed on reload.
func (a *Authenticator) Principal(name string) (Principal, bool) {
	for _, t := range *a.tokens.Load() {
		if t.Name == name {
			return Principal{Name: t.Name, Role: t.Role, Hosts: t.Hosts}, true
		}
	}
	return Principal{}, false
}

// WithPrincipal returns ctx carrying p, as Require does.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// Secret returns the SHA-256 of the current secret of the token named
// name: a web session is bound to it, so rotating a token's secret (same
// name) ends the sessions started with the old one.
func (a *Authenticator) Secret(name string) ([32]byte, bool) {
	for _, t := range *a.tokens.Load() {
		if t.Name == name {
			return t.Hash, true
		}
	}
	return [32]byte{}, false
}
