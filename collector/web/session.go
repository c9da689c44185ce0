package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
)

// sessionCookie holds "name|expiry|id|binding|mac": the token's name (not
// the token), when the session ends, a random session id (logout revokes
// it server-side, see Sessions), a binding to the token's current secret
// (an HMAC of its SHA-256, so rotating the secret under the same name
// ends the sessions started with the old one), and an HMAC over all of
// it with the collector's session key, which is kept in the store so
// sessions survive a restart (a wall screen reconnects by itself). Every
// request checks all of it against the current token set.
const sessionCookie = "nines_session"

// Sessions records sessions ended by logout (store.Sessions implements
// it). Without one, revocations are kept in memory, so they are lost on
// restart.
type Sessions interface {
	RevokeSession(ctx context.Context, id string, until time.Time) error
	SessionRevoked(ctx context.Context, id string) (bool, error)
}

// memSessions is Sessions in memory.
type memSessions struct {
	mu      sync.Mutex
	revoked map[string]time.Time
}

func (m *memSessions) RevokeSession(_ context.Context, id string, until time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.revoked == nil {
		m.revoked = map[string]time.Time{}
	}
	for k, t := range m.revoked {
		if time.Now().After(t) {
			delete(m.revoked, k)
		}
	}
	m.revoked[id] = until
	return nil
}

func (m *memSessions) SessionRevoked(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.revoked[id]
	return ok, nil
}

func (u *UI) sign(msg string) string {
	m := hmac.New(sha256.New, u.opts.SessionKey)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// binding ties a session to the secret the token named name has now.
func (u *UI) binding(name string) (string, bool) {
	h, ok := u.opts.Auth.Secret(name)
	if !ok {
		return "", false
	}
	return u.sign("bind|" + name + "|" + string(h[:]))[:16], true
}

// newSession starts a session for the token named name. A kiosk session
// (a wall opened with ?token=) is renewed while its wall is open: see
// sessionStatus.
func (u *UI) newSession(w http.ResponseWriter, r *http.Request, name string, kiosk bool) {
	var id [16]byte
	rand.Read(id[:])
	bind, _ := u.binding(name)
	u.setSession(w, r, sessionInfo{p: auth.Principal{Name: name}, id: base64.RawURLEncoding.EncodeToString(id[:]), bind: bind, kiosk: kiosk})
}

// setSession writes s's cookie, ending a session lifetime from now.
func (u *UI) setSession(w http.ResponseWriter, r *http.Request, s sessionInfo) {
	exp := u.now().Add(u.opts.SessionTTL()).Unix()
	msg := s.p.Name + "|" + strconv.FormatInt(exp, 10) + "|" + s.id + "|" + s.bind
	if s.kiosk {
		msg += "|kiosk"
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: url.QueryEscape(msg + "|" + u.sign(msg)), Path: "/ui/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, Expires: time.Unix(exp, 0),
	})
}

// sessionInfo is a valid session: its principal with the token's current
// role, the cookie's value (the CSRF token is bound to it), its id, its
// binding, when it ends and whether it is a wall's kiosk session.
type sessionInfo struct {
	p     auth.Principal
	value string
	id    string
	bind  string
	exp   time.Time
	kiosk bool
}

// session returns the principal of a valid session cookie, with the
// token's current role.
func (u *UI) session(r *http.Request) (auth.Principal, string, bool) {
	s, ok := u.sessionInfo(r)
	return s.p, s.value, ok
}

func (u *UI) sessionInfo(r *http.Request) (sessionInfo, bool) {
	s, why := u.checkSession(r, false)
	return s, why == ""
}

// checkSession checks r's session cookie against the current token set;
// why says, in words a wall can show, why it is not valid ("" when it
// is). With live, a kiosk session past its end still counts: its wall is
// connected, which renews it (see require's watch).
func (u *UI) checkSession(r *http.Request, live bool) (s sessionInfo, why string) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return s, "this browser has no session (it may have been signed out, or its cookie deleted)."
	}
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return s, "the session cookie is not valid."
	}
	i := strings.LastIndexByte(v, '|')
	if i < 0 {
		return s, "the session cookie is not valid."
	}
	msg, mac := v[:i], v[i+1:]
	if !hmac.Equal([]byte(mac), []byte(u.sign(msg))) {
		return s, "the session was not signed by this collector (its session key changed)."
	}
	parts := strings.Split(msg, "|")
	if len(parts) == 5 && parts[4] == "kiosk" {
		s.kiosk = true
	} else if len(parts) != 4 {
		return s, "the session cookie is from an older version." // without id and binding
	}
	name, id, bind := parts[0], parts[2], parts[3]
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return s, "the session cookie is not valid."
	}
	if u.now().Unix() >= exp && !(live && s.kiosk) {
		return s, "the session expired at " + time.Unix(exp, 0).UTC().Format(time.RFC3339) + "."
	}
	p, ok := u.opts.Auth.Principal(name)
	if !ok || p.Role == config.RoleAgent {
		return s, "the token " + strconv.Quote(name) + " is no longer configured on the collector."
	}
	if cur, ok := u.binding(name); !ok || !hmac.Equal([]byte(cur), []byte(bind)) {
		return s, "the token " + strconv.Quote(name) + " was given a new secret."
	}
	revoked, err := u.sessions.SessionRevoked(r.Context(), id)
	if err != nil {
		u.opts.Logger.Error("read revoked web sessions", "err", err)
		return s, "the collector could not check the session."
	}
	if revoked {
		return s, "the session was ended (logged out or revoked)."
	}
	s.p, s.value, s.id, s.bind, s.exp = p, v, id, bind, time.Unix(exp, 0)
	return s, ""
}

// sessionStatus (GET /ui/session) tells a wall whether its session is
// valid: 200, or 401 with why not, in words, as {"ended": "..."}. Walls
// ask every few minutes, and a kiosk session is renewed for another
// session lifetime each time, so a wall runs unattended for as long as
// its token is valid; logging out, or removing or rotating the token,
// still ends it.
func (u *UI) sessionStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	s, why := u.checkSession(r, false)
	if why != "" {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"ended": why})
		return
	}
	exp := s.exp
	if s.kiosk {
		u.setSession(w, r, s)
		exp = u.now().Add(u.opts.SessionTTL())
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"name": s.p.Name, "kiosk": s.kiosk, "expires": exp.UTC()})
}

// csrf is the form token bound to a session: SameSite=Strict cookies
// already keep other sites out; this keeps out anything that could not
// read our pages.
func (u *UI) csrf(session string) string { return u.sign("csrf|" + session) }

// require lets through requests with a valid session (or a bearer token,
// or ?token= on a GET, which starts a session and redirects to the same
// URL without it) whose role allows want. Others are sent to the login
// page, or get 403. POSTs must carry the session's CSRF token. While the
// request lasts (a live /ui/events stream), its session or token is
// checked again every Ping, and the request's context is cancelled once
// it is no longer valid: revoked, expired, its token removed, rotated or
// no longer allowed.
func (u *UI) require(want config.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet {
			p, ok := u.tryLogin(w, r, tok, "url")
			if !ok {
				return
			}
			u.newSession(w, r, p.Name, true)
			q := r.URL.Query()
			q.Del("token")
			target := r.URL.Path
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		p, sess, ok := u.allowed(r)
		if !ok {
			if r.Method == http.MethodGet && r.Header.Get("Accept") != "text/event-stream" {
				http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		if !auth.Allows(p.Role, want) {
			u.errorPage(w, r, http.StatusForbidden, "Token "+p.Name+" (role "+string(p.Role)+") may not do this: it needs "+string(want)+".")
			return
		}
		if r.Method == http.MethodPost && sess != "" && !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(u.csrf(sess))) {
			u.errorPage(w, r, http.StatusForbidden, "The form has expired; reload the page and try again.")
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		r = r.WithContext(auth.WithPrincipal(ctx, p))
		done := make(chan struct{})
		wr := r.Clone(ctx) // the handler may parse r's form meanwhile
		go func() {
			defer close(done)
			u.watch(ctx, cancel, wr, want)
		}()
		defer func() { cancel(); <-done }()
		h(w, r)
	})
}

// allowed returns the principal of r's session (and the session), or
// else of its bearer token.
func (u *UI) allowed(r *http.Request) (auth.Principal, string, bool) {
	if p, sess, ok := u.session(r); ok {
		return p, sess, true
	}
	if p, ok := u.opts.Auth.Authenticate(r); ok && p.Role != config.RoleAgent {
		return p, "", true
	}
	return auth.Principal{}, "", false
}

// allowedLive is allowed for a request that is still running: a kiosk
// session stays valid past its end while its wall is connected.
func (u *UI) allowedLive(r *http.Request) (auth.Principal, bool) {
	if s, why := u.checkSession(r, true); why == "" {
		return s.p, true
	}
	p, _, ok := u.allowed(r)
	return p, ok
}

// watch cancels a request whose credentials stop being valid while it
// runs, checking every Ping until ctx ends.
func (u *UI) watch(ctx context.Context, cancel context.CancelFunc, r *http.Request, want config.Role) {
	t := time.NewTicker(u.opts.Ping)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p, ok := u.allowedLive(r); !ok || !auth.Allows(p.Role, want) {
			u.opts.Logger.Info("web stream closed: its session or token is no longer valid", "path", r.URL.Path, "remote_addr", r.RemoteAddr)
			cancel()
			return
		}
	}
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	u.render(w, r, code, "login", map[string]any{"Error": msg, "Next": safeNext(r.FormValue("next"))})
}

// clientAddr is the address failed logins are counted by: the peer's IP
// (a proxy in front makes them one; its own limits are then the ones
// that count per client).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tryLogin checks a token offered by the login form or a ?token= URL
// (via says which). Failures are limited per client address and overall
// (429 with Retry-After beyond it), recorded as one counted audit row per
// address and minute, and logged at most once per address and minute. A
// login whose audit row cannot be written is refused with 503. On
// failure tryLogin has answered; on success the caller starts the
// session.
func (u *UI) tryLogin(w http.ResponseWriter, r *http.Request, tok, via string) (auth.Principal, bool) {
	now := u.now()
	addr := clientAddr(r)
	if wait, ok := u.logins.Allow(addr, now); !ok {
		u.throttled(w, r, addr, wait)
		return auth.Principal{}, false
	}
	p, ok := u.opts.Auth.Lookup(tok)
	if !ok || p.Role == config.RoleAgent {
		if wait, ok := u.logins.Fail(addr, now); !ok {
			u.throttled(w, r, "", wait)
			return auth.Principal{}, false
		}
		if u.logins.ShouldLog(addr, now) {
			u.opts.Logger.Warn("web login refused", "remote_addr", addr, "via", via)
		}
		u.countFailure(r, addr, via, now)
		u.loginPage(w, r, http.StatusUnauthorized, "That token is not known, or may only push data.")
		return auth.Principal{}, false
	}
	if u.opts.Audit != nil {
		e := audit.Entry{At: now, Principal: p.Name, Action: "web.login", Object: "session", Detail: "from " + addr + " via " + via}
		if err := u.opts.Audit.Record(r.Context(), e); err != nil {
			u.opts.Logger.Error("web login refused: the audit log cannot be written", "token", p.Name, "remote_addr", addr, "err", err)
			u.loginPage(w, r, http.StatusServiceUnavailable, "Logins are refused while the audit log cannot be written; try again later.")
			return auth.Principal{}, false
		}
	}
	u.opts.Logger.Info("web login", "token", p.Name, "role", p.Role, "remote_addr", addr, "via", via)
	return p, true
}

// countFailure adds a failed login to its address's row of this minute.
func (u *UI) countFailure(r *http.Request, addr, via string, now time.Time) {
	if u.opts.Audit == nil {
		return
	}
	e := audit.Entry{At: now, Principal: addr, Action: "web.login_refused", Object: "session", Detail: "via " + via}
	var err error
	if c, ok := u.opts.Audit.(audit.Counter); ok {
		err = c.Count(r.Context(), e, now.Truncate(time.Minute))
	} else {
		err = u.opts.Audit.Record(r.Context(), e)
	}
	if err != nil && u.logins.ShouldLog("audit error", now) {
		u.opts.Logger.Error("audit record", "action", e.Action, "err", err)
	}
}

// throttled answers a login try beyond the limits; addr is empty when the
// limit over all addresses was reached.
func (u *UI) throttled(w http.ResponseWriter, r *http.Request, addr string, wait time.Duration) {
	key := addr
	if key == "" {
		key = "all addresses"
	}
	if u.logins.ShouldLog("throttled "+key, u.now()) {
		u.opts.Logger.Warn("web logins throttled: too many failed logins", "from", key, "retry_after_seconds", wait.Seconds())
	}
	secs := max(1, int64(math.Ceil(wait.Seconds())))
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	u.loginPage(w, r, http.StatusTooManyRequests, "Too many failed logins; try again in "+strconv.FormatInt(secs, 10)+" s.")
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		u.loginPage(w, r, http.StatusOK, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p, ok := u.tryLogin(w, r, strings.TrimSpace(r.PostFormValue("token")), "form")
	if !ok {
		return
	}
	u.newSession(w, r, p.Name, false)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// logout ends the session for good: its id is revoked server-side until
// it would have expired, so a copy of the cookie is refused too.
func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if s, ok := u.sessionInfo(r); ok {
		// A kiosk session is renewed: revoke its id for as long as any
		// copy of it could still be valid.
		until := s.exp
		if s.kiosk {
			until = u.now().Add(u.opts.SessionTTL())
		}
		if err := u.sessions.RevokeSession(r.Context(), s.id, until); err != nil {
			u.opts.Logger.Error("web logout: revoke the session", "token", s.p.Name, "err", err)
			u.errorPage(w, r, http.StatusServiceUnavailable, "The session could not be ended; try again.")
			return
		}
		u.audit(r, s.p.Name, "web.logout", "session", "from "+clientAddr(r))
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/ui/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/ui/login", http.StatusSeeOther)
}

// safeNext keeps redirects after login on our own UI.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/wall"
	}
	return next
}
