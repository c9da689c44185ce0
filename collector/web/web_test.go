package web_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/api"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/report"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/collector/web"
)

func token(name string, role config.Role, secret string) config.Token {
	return config.Token{Name: name, Role: role, Hash: sha256.Sum256([]byte(secret))}
}

// fakeData is a board that tests change.
type fakeData struct {
	mu    sync.Mutex
	board web.Board
}

func (f *fakeData) set(state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.board.Services = []web.ServiceTile{{Name: "ERP", State: state, Objective: 0.999, Components: 2}}
}

func (f *fakeData) Board(_ context.Context, now time.Time) (web.Board, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.board
	b.GeneratedAt = now
	return b, nil
}

func (f *fakeData) Target(_ context.Context, name string, now time.Time) (*web.TargetView, error) {
	if name != "web1" {
		return nil, nil
	}
	return &web.TargetView{Target: state.Target{Name: "web1", Kind: state.KindHost, State: state.Up},
		Charts: []web.Chart{{Title: "CPU busy", Unit: "%", From: now.Add(-time.Hour), To: now,
			Series: []web.Series{{Points: []web.Point{{T: now.Add(-time.Minute), V: 10}, {T: now, V: 20}}}}}}}, nil
}

func (f *fakeData) Service(_ context.Context, name string, _ time.Time) (*web.ServiceView, error) {
	if name != "ERP" {
		return nil, nil
	}
	return &web.ServiceView{Tile: web.ServiceTile{Name: "ERP", State: "down", Objective: 0.999},
		Components: []web.Component{{Name: "web1", Kind: "host", State: "down", Link: "/ui/targets/web1"}},
		Windows:    []web.WindowFigure{{Window: "30d", Known: true, Availability: 0.9995, Met: true}}}, nil
}

func (f *fakeData) Report(_ context.Context, req report.Request, _ time.Time) (*report.Report, error) {
	from, to, err := req.Period()
	if err != nil {
		return nil, err
	}
	return &report.Report{From: from, To: to, Services: []report.Service{{Name: "ERP", Objective: 0.999, Known: true, Ratio: 0.99, Outages: []report.Outage{}}}}, nil
}

func (f *fakeData) Deliveries(_ context.Context, id int64) ([]alerting.Delivery, error) {
	return []alerting.Delivery{{Receiver: "servicedesk", Action: "opened", Failed: true, LastError: "HTTP 500", Attempts: 5}}, nil
}

func (f *fakeData) Tickets(context.Context, int64) ([]alerting.Ticket, error) {
	return []alerting.Ticket{{Receiver: "servicedesk", ID: "#12", URL: "https://redmine.example/issues/12"}}, nil
}

// Incident: web1's incidents hit ERP.
func (f *fakeData) Incident(_ context.Context, inc *alerting.Incident, _ time.Time) (*web.IncidentDetail, error) {
	d := &web.IncidentDetail{}
	if inc.Target == "web1" {
		d.Target = &state.Target{Name: "web1", State: state.Down, Since: inc.OpenedAt}
		d.Services = []web.ServiceTile{{Name: "ERP", State: "degraded", AtRisk: true}}
		due := inc.OpenedAt.Add(4 * time.Hour)
		d.ResolveDue = &due
	}
	return d, nil
}

func (f *fakeData) Affected(incs []alerting.Incident) map[int64][]string {
	out := map[int64][]string{}
	for _, inc := range incs {
		if inc.Target == "web1" {
			out[inc.ID] = []string{"ERP"}
		}
	}
	return out
}

// recordingActions notes who did what.
type recordingActions struct {
	mu   sync.Mutex
	done []string
}

func (r *recordingActions) note(what string, id int64, actor, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done = append(r.done, what+" "+actor+" "+text)
	return nil
}
func (r *recordingActions) Acknowledge(_ context.Context, id int64, actor, text string, _ time.Time) error {
	return r.note("acknowledge", id, actor, text)
}
func (r *recordingActions) Resolve(_ context.Context, id int64, actor, text string, _ time.Time) error {
	return r.note("resolve", id, actor, text)
}
func (r *recordingActions) Close(context.Context, int64, string, string, time.Time) error {
	return alerting.ErrConflict
}

// Reopen is refused as at the follower of an HA pair.
func (r *recordingActions) Reopen(context.Context, int64, string, string, time.Time) error {
	return alerting.ErrFenced
}
func (r *recordingActions) Assign(_ context.Context, id int64, actor, assignee string, _ time.Time) error {
	return r.note("assign", id, actor, assignee)
}
func (r *recordingActions) Comment(_ context.Context, id int64, actor, text string, _ time.Time) error {
	return r.note("comment", id, actor, text)
}

type fakeMaintenance struct {
	mu      sync.Mutex
	windows []state.Window
}

func (f *fakeMaintenance) Windows(context.Context, time.Time) ([]state.Window, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]state.Window(nil), f.windows...), nil
}
func (f *fakeMaintenance) Create(_ context.Context, w *state.Window) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.ID, w.Source = int64(len(f.windows)+1), "api"
	f.windows = append(f.windows, *w)
	return nil
}
func (f *fakeMaintenance) End(_ context.Context, id int64, _ string, _ time.Time) error {
	if id != 1 {
		return api.ErrMaintenanceNotFound
	}
	return nil
}

type fixture struct {
	srv     *httptest.Server
	authn   *auth.Authenticator
	data    *fakeData
	actions *recordingActions
	maint   *fakeMaintenance
	store   *sqlite.Store
	clock   *clock
	cancel  context.CancelFunc
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// newFixture is the UI without an audit log or a session store (see
// newSecFixture for those).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newSecFixture(t, func(o *web.Options) { o.Audit, o.Sessions = nil, nil })
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (f *fixture) get(t *testing.T, path string, cookie *http.Cookie) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	if cookie != nil {
		req.AddCookie(cookie)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return resp, b.String()
}

// login posts a token to the login form and returns the session cookie.
func (f *fixture) login(t *testing.T, tok, next string) (*http.Response, *http.Cookie) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/ui/login", strings.NewReader(url.Values{"token": {tok}, "next": {next}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := do(t, req)
	for _, c := range resp.Cookies() {
		if c.Name == "nines_session" {
			return resp, c
		}
	}
	return resp, nil
}

func TestLoginAndSessions(t *testing.T) {
	f := newFixture(t)
	resp, _ := f.get(t, "/ui/wall", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/login?next=%2Fui%2Fwall" {
		t.Fatalf("wall without a session: %d %s; want a redirect to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, tok := range []string{"nope", "agent"} {
		if resp, _ := f.get(t, "/ui/wall?token="+tok, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wall?token=%s: %d, want 401", tok, resp.StatusCode)
		}
		if resp, c := f.login(t, tok, ""); resp.StatusCode != http.StatusUnauthorized || c != nil {
			t.Errorf("login with %s: %d, cookie %v; want 401 and none", tok, resp.StatusCode, c)
		}
	}

	// The kiosk URL: the token becomes a session and leaves the address.
	resp, _ = f.get(t, "/ui/wall?token=view&theme=light&groups=office", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/ui/wall?groups=office&theme=light" {
		t.Fatalf("wall?token=: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		sess = c
	}
	if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteStrictMode || !strings.HasPrefix(sess.Value, "wall") {
		t.Fatalf("session cookie %+v", sess)
	}
	if strings.Contains(sess.Value, "view|") || strings.Contains(sess.Value, sha256Hex("view")) {
		t.Errorf("the cookie carries the token: %q", sess.Value)
	}
	resp, body := f.get(t, "/ui/wall?theme=light", sess)
	if resp.StatusCode != 200 || !strings.Contains(body, `data-board="{&#34;generated_at&#34;`) || !strings.Contains(body, "theme-light") {
		t.Fatalf("wall with a session: %d %s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP = %q", csp)
	}

	// A tampered cookie, an expired one, and one whose token was removed
	// on reload all go back to the login page.
	bad := *sess
	bad.Value = strings.Replace(sess.Value, "wall", "alice", 1)
	if resp, _ := f.get(t, "/ui/wall", &bad); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("tampered session (viewer to operator): %d, want a redirect to log in", resp.StatusCode)
	}
	f.clock.add(2 * time.Hour)
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("expired session: %d, want a redirect to log in", resp.StatusCode)
	}
	_, sess = f.login(t, "view", "")
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != 200 {
		t.Errorf("fresh session: %d", resp.StatusCode)
	}
	f.authn.Set([]config.Token{token("alice", config.RoleOperator, "op")})
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("session of a removed token: %d, want a redirect to log in", resp.StatusCode)
	}

	// After login, only our own pages are redirect targets.
	for next, want := range map[string]string{"/ui/incidents?status=all": "/ui/incidents?status=all", "//evil.example/ui/": "/ui/wall", "https://evil.example/": "/ui/wall"} {
		resp, _ := f.login(t, "op", next)
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
			t.Errorf("login with next=%s: %d %q, want %q", next, resp.StatusCode, got, want)
		}
	}
	// A bearer token works too (scripts, the board as JSON).
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/board.json", nil)
	req.Header.Set("Authorization", "Bearer op")
	if resp, body := do(t, req); resp.StatusCode != 200 || !strings.Contains(body, `"name":"ERP"`) {
		t.Errorf("board.json with a bearer token: %d %s", resp.StatusCode, body)
	}
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 64)
	for _, b := range sum {
		out = append(out, hexd[b>>4], hexd[b&15])
	}
	return string(out)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func TestIncidentPageActions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := &alerting.Incident{DedupKey: "k", Group: "g", Rule: "R", Title: `<img src=x onerror=alert(1)>`, Target: "web1",
		Priority: alerting.P1, Status: alerting.StatusOpen, Labels: map[string]string{"a": "b"}, OpenedAt: time.Now()}
	if err := f.store.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	_, viewer := f.login(t, "view", "")
	_, op := f.login(t, "op", "")
	_, body := f.get(t, "/ui/incidents", viewer)
	if strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("incident title not escaped in the list:\n%s", body)
	}
	if resp, _ := f.get(t, "/ui/incidents?priority=P9", viewer); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad priority filter: %d, want 400", resp.StatusCode)
	}
	_, page := f.get(t, "/ui/incidents/1", viewer)
	if strings.Contains(page, `id="do-acknowledge"`) || !strings.Contains(page, "needs an operator token") {
		t.Errorf("a viewer is offered actions:\n%s", page)
	}
	_, page = f.get(t, "/ui/incidents/1", op)
	if !strings.Contains(page, "<td>servicedesk</td>") || !strings.Contains(page, "HTTP 500") || !strings.Contains(page, `<a href="https://redmine.example/issues/12">#12</a>`) {
		t.Errorf("incident page lacks the notification deliveries:\n%s", page)
	}
	m := csrfRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `id="do-acknowledge"`) {
		t.Fatalf("operator's incident page has no action form:\n%s", page)
	}
	post := func(c *http.Cookie, form url.Values) *http.Response {
		req, _ := http.NewRequest("POST", f.srv.URL+"/ui/incidents/1", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(c)
		resp, _ := do(t, req)
		return resp
	}
	if resp := post(viewer, url.Values{"action": {"acknowledge"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("viewer acknowledging: %d, want 403", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"acknowledge"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("acknowledging without the CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"acknowledge"}, "comment": {"on it"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("acknowledging: %d, want 303", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"close"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusConflict {
		t.Errorf("a refused transition: %d, want 409", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"reopen"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("an action at the follower of an HA pair: %d, want 503", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"dance"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown action: %d, want 400", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"assign"}, "assignee": {"net-team"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("assigning: %d, want 303", resp.StatusCode)
	}
	if resp := post(op, url.Values{"action": {"assign"}, "csrf": {m[1]}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("assigning to nobody: %d, want 400", resp.StatusCode)
	}
	if got := strings.Join(f.actions.done, ";"); got != "acknowledge alice on it;assign alice net-team" {
		t.Errorf("actions = %q", got)
	}
	if resp, _ := f.get(t, "/ui/incidents/99", op); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing incident: %d", resp.StatusCode)
	}
}

func TestTargetServiceAndMaintenancePages(t *testing.T) {
	f := newFixture(t)
	_, op := f.login(t, "op", "")
	resp, body := f.get(t, "/ui/targets/web1", op)
	if resp.StatusCode != 200 || !strings.Contains(body, "<svg") || !regexp.MustCompile(`<path d="M[0-9.]+ [0-9.]+ L`).MatchString(body) {
		t.Errorf("target page: %d, want a chart:\n%s", resp.StatusCode, body)
	}
	if resp, _ := f.get(t, "/ui/targets/nope", op); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown target: %d", resp.StatusCode)
	}
	resp, body = f.get(t, "/ui/services/ERP", op)
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/ui/targets/web1"`) || !strings.Contains(body, "99.950 %") {
		t.Errorf("service page: %d\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(body, `href="/ui/reports/sla?month=`) {
		t.Errorf("service page has no report link")
	}
	resp, body = f.get(t, "/ui/reports/sla?month=2026-10&service=ERP", op)
	if resp.StatusCode != 200 || !strings.Contains(body, "<h1>Service level report</h1>") || !strings.Contains(body, "breached") {
		t.Errorf("report page: %d %.300s", resp.StatusCode, body)
	}
	if resp, _ := f.get(t, "/ui/reports/sla?month=10-2026", op); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad month: %d", resp.StatusCode)
	}
	_, page := f.get(t, "/ui/maintenance", op)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no maintenance form:\n%s", page)
	}
	post := func(path string, form url.Values) (*http.Response, string) {
		req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(op)
		return do(t, req)
	}
	resp, body = post("/ui/maintenance", url.Values{"csrf": {m[1]}, "name": {"patch"}, "selector": {"site"}, "duration": {"1h"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "selector: want label=value") || !strings.Contains(body, `value="patch"`) {
		t.Errorf("bad selector: %d, want 400 naming the field and keeping the form\n%s", resp.StatusCode, body)
	}
	resp, _ = post("/ui/maintenance", url.Values{"csrf": {m[1]}, "name": {"patch"}, "targets": {"web1, db1"}, "selector": {"site=hq"}, "duration": {"1h"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	w := f.maint.windows[0]
	if w.Name != "patch" || strings.Join(w.Targets, ",") != "web1,db1" || w.Selector["site"] != "hq" || w.CreatedBy != "alice" || w.To.Sub(w.From) != time.Hour {
		t.Errorf("window = %+v", w)
	}
	_, page = f.get(t, "/ui/maintenance", op)
	if !strings.Contains(page, `action="/ui/maintenance/1/end"`) || !strings.Contains(page, "active") {
		t.Errorf("the new window is not listed as active with an end button:\n%s", page)
	}
	if resp, _ := post("/ui/maintenance/2/end", url.Values{"csrf": {m[1]}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("ending an unknown window: %d", resp.StatusCode)
	}
}

// TestEvents: the stream sends the board at once, then each change, pings
// while nothing changes, and ends when the UI stops.
func TestEvents(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/events", nil)
	req.Header.Set("Authorization", "Bearer view")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				events <- ev + " " + strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	next := func(want string) string {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case e, ok := <-events:
				if !ok {
					t.Fatalf("stream ended waiting for %q", want)
				}
				if strings.HasPrefix(e, want) {
					return e
				}
			case <-deadline:
				t.Fatalf("no %q event", want)
			}
		}
	}
	if e := next("board"); !strings.Contains(e, `"state":"up"`) {
		t.Errorf("first board: %s", e)
	}
	next("ping")
	f.data.set("down")
	if e := next("board"); !strings.Contains(e, `"state":"down"`) {
		t.Errorf("board after the change: %s", e)
	}
	f.cancel()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end when the UI stopped")
		}
	}
}

func TestChartPaths(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := web.Chart{From: t0, To: t0.Add(100 * time.Second), Series: []web.Series{{Points: []web.Point{
		{T: t0, V: 0}, {T: t0.Add(10 * time.Second), V: 10}, {T: t0.Add(20 * time.Second), V: 5},
		{T: t0.Add(90 * time.Second), V: 10}, // after a gap: a new line
	}}}}
	got := c.Paths()[0]
	want := "M0.0 120.0 L60.0 0.0 L120.0 60.0 M540.0 0.0"
	if got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if c.Min() != 0 || c.Max() != 10 || (web.Chart{}).Empty() != true {
		t.Errorf("bounds %v..%v", c.Min(), c.Max())
	}
	if s := (web.Chart{Unit: "s"}).Format(0.0042); s != "4.2 ms" {
		t.Errorf("format = %q", s)
	}
}
