// Package web serves the NOC wall view and the operator UI under /ui/:
// pages rendered on the server with html/template, a little plain
// JavaScript, live updates over Server-Sent Events, and every asset
// embedded in the binary (nothing is fetched from outside, so it works on
// an isolated NOC network).
//
// Access is by the collector's API tokens: a login form starts a signed
// session cookie; a wall screen can open /ui/wall?token=<viewer token>,
// which starts the session and drops the token from the address.
// Acknowledging, commenting, resolving and maintenance need an operator.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
)

//go:embed assets templates
var files embed.FS

// Data is what the pages show, computed by the collector.
type Data interface {
	Board(ctx context.Context, now time.Time) (Board, error)
	// Target and Service return nil for an unknown name.
	Target(ctx context.Context, name string, now time.Time) (*TargetView, error)
	Service(ctx context.Context, name string, now time.Time) (*ServiceView, error)
	// Report is the service level report (see package report).
	Report(ctx context.Context, req report.Request, now time.Time) (*report.Report, error)
	// Deliveries lists what the receivers were told of an incident, and
	// Tickets the tickets they raised for it.
	Deliveries(ctx context.Context, incidentID int64) ([]alerting.Delivery, error)
	Tickets(ctx context.Context, incidentID int64) ([]alerting.Ticket, error)
}

// Options configure the UI.
type Options struct {
	Auth        *auth.Authenticator
	Incidents   alerting.Store
	Actions     api.Actions
	Maintenance api.Maintenance
	Audit       audit.Log
	// Sessions keeps logouts (default: Audit when it is a Sessions too,
	// as the store is; else in memory only, lost on restart).
	Sessions Sessions
	// Logins limits failed logins (default auth.DefaultLimitOptions).
	Logins *auth.Limiter
	Data   Data
	// SessionKey signs session cookies (32 random bytes, kept across
	// restarts).
	SessionKey []byte
	SessionTTL func() time.Duration
	Logger     *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// Tick is how often the live board is recomputed for connected walls
	// (default 500ms), and Ping how often an idle stream says it is alive
	// (default 2s; walls call their data stale after 15s without news).
	Tick, Ping time.Duration
}

// UI is the web UI. Create it with New, mount it with Register and run its
// live-update loop with Run.
type UI struct {
	opts     Options
	pages    map[string]*template.Template
	hub      *hub
	sessions Sessions
	logins   *auth.Limiter
}

// New parses the templates.
func New(opts Options) (*UI, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Tick <= 0 {
		opts.Tick = 500 * time.Millisecond
	}
	if opts.Ping <= 0 {
		opts.Ping = 2 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if len(opts.SessionKey) < 16 {
		return nil, fmt.Errorf("web: session key too short")
	}
	u := &UI{opts: opts, pages: map[string]*template.Template{}, hub: newHub(), sessions: opts.Sessions, logins: opts.Logins}
	if s, ok := opts.Audit.(Sessions); ok && u.sessions == nil {
		u.sessions = s // the store is both
	}
	if u.sessions == nil {
		u.sessions = &memSessions{}
	}
	if u.logins == nil {
		u.logins = auth.NewLimiter(auth.DefaultLimitOptions())
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		page := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if page == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", n, err)
		}
		u.pages[page] = t
	}
	return u, nil
}

func (u *UI) now() time.Time { return u.opts.Now() }

func (u *UI) audit(r *http.Request, principal, action, object, detail string) {
	api.Record(r.Context(), u.opts.Audit, u.opts.Logger, audit.Entry{At: u.now(), Principal: principal, Action: action, Object: object, Detail: detail})
}

// recordAudit writes an audit entry (none without an audit log).
func (u *UI) recordAudit(r *http.Request, e audit.Entry) error {
	if u.opts.Audit == nil {
		return nil
	}
	return u.opts.Audit.Record(r.Context(), e)
}

// auditFirst records a change before it is made; when the audit log
// cannot be written it answers 503 and reports false: a change that must
// be audited is refused rather than made unrecorded.
func (u *UI) auditFirst(w http.ResponseWriter, r *http.Request, e audit.Entry) bool {
	if err := u.recordAudit(r, e); err != nil {
		u.opts.Logger.Error("audit record: change refused", "action", e.Action, "object", e.Object, "err", err)
		u.errorPage(w, r, http.StatusServiceUnavailable, "The audit log cannot be written, so nothing was changed. Try again later.")
		return false
	}
	return true
}

// auditFailed records that an audited change then failed.
func (u *UI) auditFailed(r *http.Request, e audit.Entry, err error) {
	e.At, e.Action, e.Detail = u.now(), e.Action+".failed", err.Error()
	api.Record(r.Context(), u.opts.Audit, u.opts.Logger, e)
}

// Register mounts the UI on mux.
func (u *UI) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(files, "assets")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", cacheFor(time.Hour, http.FileServerFS(static))))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/wall", http.StatusSeeOther) })
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/wall", http.StatusSeeOther) })
	mux.HandleFunc("GET /ui/login", u.login)
	mux.HandleFunc("POST /ui/login", u.login)
	mux.HandleFunc("GET /ui/logout", u.logout)
	mux.HandleFunc("GET /ui/session", u.sessionStatus)
	mux.Handle("GET /ui/wall", u.require(config.RoleViewer, u.wall))
	mux.Handle("GET /ui/board.json", u.require(config.RoleViewer, u.boardJSON))
	mux.Handle("GET /ui/events", u.require(config.RoleViewer, u.events))
	mux.Handle("GET /ui/incidents", u.require(config.RoleViewer, u.incidents))
	mux.Handle("GET /ui/incidents/{id}", u.require(config.RoleViewer, u.incident))
	mux.Handle("POST /ui/incidents/{id}", u.require(config.RoleOperator, u.incidentAction))
	mux.Handle("GET /ui/targets/{name}", u.require(config.RoleViewer, u.target))
	mux.Handle("GET /ui/services/{name}", u.require(config.RoleViewer, u.service))
	mux.Handle("GET /ui/reports/sla", u.require(config.RoleViewer, u.report))
	mux.Handle("GET /ui/maintenance", u.require(config.RoleViewer, u.maintenance))
	mux.Handle("POST /ui/maintenance", u.require(config.RoleOperator, u.createMaintenance))
	mux.Handle("POST /ui/maintenance/{id}/end", u.require(config.RoleOperator, u.endMaintenance))
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

// page is what every template gets besides its own data.
type page struct {
	Title  string
	User   string
	Role   string
	CanAct bool
	CSRF   string
	Path   string
	Data   any
}

func (u *UI) render(w http.ResponseWriter, r *http.Request, code int, name string, data any) {
	t := u.pages[name]
	p := page{Path: r.URL.Path, Data: data}
	if pr, ok := auth.FromContext(r.Context()); ok {
		p.User, p.Role, p.CanAct = pr.Name, string(pr.Role), auth.Allows(pr.Role, config.RoleOperator)
	}
	if _, sess, ok := u.session(r); ok {
		p.CSRF = u.csrf(sess)
	}
	securityHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	if err := t.ExecuteTemplate(w, "layout.html", p); err != nil {
		u.opts.Logger.Error("render page", "page", name, "err", err)
	}
}

func (u *UI) errorPage(w http.ResponseWriter, r *http.Request, code int, msg string) {
	u.render(w, r, code, "error", map[string]any{"Code": code, "Status": http.StatusText(code), "Message": msg})
}

// securityHeaders: only our own scripts and styles, no framing.
func securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
}

var funcs = template.FuncMap{
	"ago": func(t time.Time) string { return humanDuration(time.Since(t)) + " ago" },
	"dur": humanDuration,
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Local().Format("2006-01-02 15:04:05")
	},
	"pct":   func(v float64) string { return fmt.Sprintf("%.3f %%", v*100) },
	"lower": strings.ToLower,
}

// humanDuration prints 3d 4h, 2h 5m, 4m 10s or 12s.
func humanDuration(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	d = d.Round(time.Second)
	var s string
	switch days, h, m, sec := d/(24*time.Hour), d/time.Hour%24, d/time.Minute%60, d/time.Second%60; {
	case days > 0:
		s = fmt.Sprintf("%dd %dh", days, h)
	case h > 0:
		s = fmt.Sprintf("%dh %dm", h, m)
	case m > 0:
		s = fmt.Sprintf("%dm %ds", m, sec)
	default:
		s = fmt.Sprintf("%ds", sec)
	}
	if neg {
		return "-" + s
	}
	return s
}
