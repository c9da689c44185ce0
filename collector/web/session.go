package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
)

// sessionCookie holds "name|expiry|mac": the token's name (not the
// token), when the session ends, and an HMAC over both with the
// collector's session key, which is kept in the store so sessions survive
// a restart (a wall screen reconnects by itself).
const sessionCookie = "nines_session"

func (u *UI) sign(msg string) string {
	m := hmac.New(sha256.New, u.opts.SessionKey)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (u *UI) newSession(w http.ResponseWriter, r *http.Request, name string) {
	exp := u.now().Add(u.opts.SessionTTL()).Unix()
	msg := name + "|" + strconv.FormatInt(exp, 10)
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: url.QueryEscape(msg + "|" + u.sign(msg)), Path: "/ui/",
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, Expires: time.Unix(exp, 0),
	})
}

// session returns the principal of a valid session cookie, with the
// token's current role.
func (u *UI) session(r *http.Request) (auth.Principal, string, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return auth.Principal{}, "", false
	}
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return auth.Principal{}, "", false
	}
	i := strings.LastIndexByte(v, '|')
	if i < 0 {
		return auth.Principal{}, "", false
	}
	msg, mac := v[:i], v[i+1:]
	if !hmac.Equal([]byte(mac), []byte(u.sign(msg))) {
		return auth.Principal{}, "", false
	}
	name, expS, ok := strings.Cut(msg, "|")
	exp, err := strconv.ParseInt(expS, 10, 64)
	if !ok || err != nil || u.now().Unix() >= exp {
		return auth.Principal{}, "", false
	}
	p, ok := u.opts.Auth.Principal(name)
	if !ok || p.Role == config.RoleAgent {
		return auth.Principal{}, "", false
	}
	return p, v, true
}

// csrf is the form token bound to a session: SameSite=Strict cookies
// already keep other sites out; this keeps out anything that could not
// read our pages.
func (u *UI) csrf(session string) string { return u.sign("csrf|" + session) }

// require lets through requests with a valid session (or a bearer token,
// or ?token= on a GET, which starts a session and redirects to the same
// URL without it) whose role allows want. Others are sent to the login
// page, or get 403. POSTs must carry the session's CSRF token.
func (u *UI) require(want config.Role, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tok := r.URL.Query().Get("token"); tok != "" && r.Method == http.MethodGet {
			p, ok := u.opts.Auth.Lookup(tok)
			if !ok || p.Role == config.RoleAgent {
				u.loginPage(w, r, http.StatusUnauthorized, "That token is not known, or may only push data.")
				return
			}
			u.newSession(w, r, p.Name)
			q := r.URL.Query()
			q.Del("token")
			target := r.URL.Path
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		p, sess, ok := u.session(r)
		if !ok {
			if bp, bok := u.opts.Auth.Authenticate(r); bok && bp.Role != config.RoleAgent {
				p, ok = bp, true
			}
		}
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
		h(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	u.render(w, r, code, "login", map[string]any{"Error": msg, "Next": safeNext(r.FormValue("next"))})
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		u.loginPage(w, r, http.StatusOK, "")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	p, ok := u.opts.Auth.Lookup(strings.TrimSpace(r.PostFormValue("token")))
	if !ok || p.Role == config.RoleAgent {
		u.opts.Logger.Warn("web login refused", "remote_addr", r.RemoteAddr)
		u.audit(r, r.RemoteAddr, "web.login_refused", "session", "")
		u.loginPage(w, r, http.StatusUnauthorized, "That token is not known, or may only push data.")
		return
	}
	u.opts.Logger.Info("web login", "token", p.Name, "role", p.Role, "remote_addr", r.RemoteAddr)
	u.audit(r, p.Name, "web.login", "session", r.RemoteAddr)
	u.newSession(w, r, p.Name)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
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
