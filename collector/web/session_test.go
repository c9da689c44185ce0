package web_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/store/sqlite"
	"github.com/ninesmon/nines/collector/web"
)

// newSecFixture is newFixture with the store as audit log and session
// revocation list, and opts changed by change.
func newSecFixture(t *testing.T, change func(*web.Options)) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{
		authn: auth.New([]config.Token{
			token("wall", config.RoleViewer, "view"), token("alice", config.RoleOperator, "op"), token("agents", config.RoleAgent, "agent"),
		}),
		data: &fakeData{}, actions: &recordingActions{}, maint: &fakeMaintenance{}, store: st,
		clock: &clock{now: time.Now()},
	}
	f.data.set("up")
	opts := web.Options{Auth: f.authn, Incidents: st, Actions: f.actions, Maintenance: f.maint, Data: f.data,
		Audit: st, Sessions: st,
		SessionKey: []byte("0123456789abcdef0123456789abcdef"), SessionTTL: func() time.Duration { return time.Hour },
		Now: f.clock.Now, Tick: 20 * time.Millisecond, Ping: 50 * time.Millisecond}
	if change != nil {
		change(&opts)
	}
	ui, err := web.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	f.srv = httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	done := make(chan struct{})
	go func() { ui.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; f.srv.Close() })
	return f
}

func (f *fixture) auditRows(t *testing.T, action string) []audit.Entry {
	t.Helper()
	list, err := f.store.Entries(context.Background(), audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Entry // the filter takes a prefix
	for _, e := range list {
		if e.Action == action {
			out = append(out, e)
		}
	}
	return out
}

// A session is bound to its token's secret: rotating the secret (same
// name, new value) and reloading ends the sessions of the old one.
func TestSessionEndsWhenTokenRotated(t *testing.T) {
	f := newSecFixture(t, nil)
	_, sess := f.login(t, "view", "")
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != 200 {
		t.Fatalf("fresh session: %d", resp.StatusCode)
	}
	f.authn.Set([]config.Token{token("wall", config.RoleViewer, "view-rotated"), token("alice", config.RoleOperator, "op")})
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("session of a rotated token: %d, want a redirect to log in", resp.StatusCode)
	}
	_, sess = f.login(t, "view-rotated", "")
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != 200 {
		t.Errorf("session of the new secret: %d", resp.StatusCode)
	}
}

// Logout revokes the session server-side: the same cookie replayed is
// refused, also by a collector restarted on the same store.
func TestLogoutRevokesTheSession(t *testing.T) {
	f := newSecFixture(t, nil)
	_, sess := f.login(t, "op", "")
	_, other := f.login(t, "op", "")
	resp, _ := f.get(t, "/ui/logout", sess)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/ui/wall", sess); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("cookie replayed after logout: %d, want a redirect to log in", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/ui/wall", other); resp.StatusCode != 200 {
		t.Errorf("another session of the same token: %d, want 200", resp.StatusCode)
	}
	if rows := f.auditRows(t, "web.logout"); len(rows) != 1 || rows[0].Principal != "alice" {
		t.Errorf("audit of the logout: %+v", rows)
	}
	// After a restart (a new UI on the same store), still refused; the
	// store given as audit log keeps the sessions too.
	ui, err := web.New(web.Options{Auth: f.authn, Incidents: f.store, Actions: f.actions, Maintenance: f.maint, Data: f.data,
		Audit: f.store, SessionKey: []byte("0123456789abcdef0123456789abcdef"),
		SessionTTL: func() time.Duration { return time.Hour }, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	ui.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/ui/wall", nil)
	req.AddCookie(sess)
	if resp, _ := do(t, req); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("cookie replayed after logout and a restart: %d, want a redirect to log in", resp.StatusCode)
	}
}

// openEvents opens /ui/events and returns a channel of its event lines,
// closed when the stream ends.
func openEvents(t *testing.T, f *fixture, cookie *http.Cookie, bearer string) <-chan string {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+"/ui/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	if cookie != nil {
		req.AddCookie(cookie)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	events := make(chan string, 100)
	go func() {
		defer close(events)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				events <- ev
			}
		}
	}()
	select {
	case ev := <-events:
		if ev != "board" {
			t.Fatalf("first event %q, want board", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no first board")
	}
	return events
}

// waitEnd waits for the stream to end.
func waitEnd(t *testing.T, events <-chan string, what string) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-events:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("%s: the stream still runs", what)
		}
	}
}

// An open /ui/events stream ends once its session or token is no longer
// valid: the token removed on reload, rotated, or the session logged out.
func TestEventsStreamEndsWithItsSession(t *testing.T) {
	tokens := []config.Token{token("wall", config.RoleViewer, "view"), token("alice", config.RoleOperator, "op")}
	t.Run("token removed", func(t *testing.T) {
		f := newSecFixture(t, nil)
		_, sess := f.login(t, "view", "")
		events := openEvents(t, f, sess, "")
		f.authn.Set(tokens[1:])
		waitEnd(t, events, "token removed")
	})
	t.Run("token rotated, bearer", func(t *testing.T) {
		f := newSecFixture(t, nil)
		events := openEvents(t, f, nil, "view")
		f.authn.Set([]config.Token{token("wall", config.RoleViewer, "new"), tokens[1]})
		waitEnd(t, events, "token rotated")
	})
	t.Run("logout", func(t *testing.T) {
		f := newSecFixture(t, nil)
		_, sess := f.login(t, "view", "")
		events := openEvents(t, f, sess, "")
		_, still := f.login(t, "view", "")
		others := openEvents(t, f, still, "")
		f.get(t, "/ui/logout", sess)
		waitEnd(t, events, "logout")
		// The other session's stream goes on.
		select {
		case _, ok := <-others:
			if !ok {
				t.Error("the stream of another session ended")
			}
		case <-time.After(5 * time.Second):
			t.Error("the stream of another session got no ping")
		}
	})
}

// Failed logins are limited per address (429 with Retry-After), each
// address's failures are one audit row per minute with a count, and
// ?token= logins and failures are audited like the form's.
func TestFailedLoginsLimitedAndCounted(t *testing.T) {
	f := newSecFixture(t, func(o *web.Options) {
		o.Logins = auth.NewLimiter(auth.LimitOptions{PerAddressBurst: 3, PerAddressRate: 1.0 / 60, TotalBurst: 100, TotalRate: 10, MaxAddresses: 100})
	})
	for i := range 2 {
		if resp, _ := f.login(t, "nope", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp, _ := f.get(t, "/ui/wall?token=nope", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("?token= failure: %d, want 401", resp.StatusCode)
	}
	for _, try := range []string{"nope", "op"} {
		resp, c := f.login(t, try, "")
		if resp.StatusCode != http.StatusTooManyRequests || c != nil {
			t.Errorf("login with %s after 3 failures: %d, want 429", try, resp.StatusCode)
		}
		if ra := resp.Header.Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After: got %q, want 60", ra)
		}
	}
	if resp, _ := f.get(t, "/ui/wall?token=view", nil); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("?token= after 3 failures: %d, want 429", resp.StatusCode)
	}
	rows := f.auditRows(t, "web.login_refused")
	if len(rows) != 1 || rows[0].Count != 3 || rows[0].Principal != "127.0.0.1" {
		t.Fatalf("refusals: got %+v, want one row of 127.0.0.1 counting 3", rows)
	}

	// A minute later one try is back; a success is audited with how it
	// came in.
	f.clock.add(time.Minute)
	if resp, _ := f.get(t, "/ui/wall?token=view", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("?token= a minute later: %d, want 303", resp.StatusCode)
	}
	logins := f.auditRows(t, "web.login")
	if len(logins) != 1 || logins[0].Principal != "wall" || !strings.Contains(logins[0].Detail, "via url") {
		t.Errorf("?token= login audit: %+v", logins)
	}
}

// Over all addresses, failures are limited too; a valid token still gets
// in from an address that has tries left.
func TestFailedLoginsLimitedOverall(t *testing.T) {
	f := newSecFixture(t, func(o *web.Options) {
		o.Logins = auth.NewLimiter(auth.LimitOptions{PerAddressBurst: 100, PerAddressRate: 1, TotalBurst: 2, TotalRate: 0.5, MaxAddresses: 100})
	})
	for i, want := range []int{401, 401, 429, 429} {
		if resp, _ := f.login(t, "nope", ""); resp.StatusCode != want {
			t.Errorf("failure %d: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if resp, c := f.login(t, "op", ""); resp.StatusCode != http.StatusSeeOther || c == nil {
		t.Errorf("valid login while over the overall limit: %d", resp.StatusCode)
	}
	if rows := f.auditRows(t, "web.login_refused"); len(rows) != 1 || rows[0].Count != 2 {
		t.Errorf("refusals: got %+v, want one row counting the 2 let through", rows)
	}
}

// failingLog is an audit log on a full disk.
type failingLog struct{}

func (failingLog) Record(context.Context, audit.Entry) error { return errors.New("disk full") }
func (failingLog) Entries(context.Context, audit.Filter) ([]audit.Entry, error) {
	return nil, nil
}

// A login whose audit row cannot be written is refused with 503.
func TestLoginRefusedWithoutAudit(t *testing.T) {
	f := newSecFixture(t, func(o *web.Options) { o.Audit = failingLog{} })
	if resp, c := f.login(t, "op", ""); resp.StatusCode != http.StatusServiceUnavailable || c != nil {
		t.Errorf("form login: %d, cookie %v; want 503 and none", resp.StatusCode, c)
	}
	resp, _ := f.get(t, "/ui/wall?token=view", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || len(resp.Cookies()) != 0 {
		t.Errorf("?token= login: %d, cookies %v; want 503 and none", resp.StatusCode, resp.Cookies())
	}
}

// switchLog is the store's audit log, failing while full is set.
type switchLog struct {
	audit.Log
	full *atomic.Bool
}

func (s switchLog) Record(ctx context.Context, e audit.Entry) error {
	if s.full.Load() {
		return errors.New("disk full")
	}
	return s.Log.Record(ctx, e)
}

// TestUIChangesRefusedWithoutAudit: through the web pages as through the
// API, an incident action or the end of a maintenance window that the
// audit log cannot record is refused with 503 and not made.
func TestUIChangesRefusedWithoutAudit(t *testing.T) {
	full := &atomic.Bool{}
	f := newSecFixture(t, func(o *web.Options) { o.Audit = switchLog{Log: o.Audit, full: full} })
	ctx := context.Background()
	inc := &alerting.Incident{DedupKey: "k", Group: "g", Rule: "R", Title: "web1 down", Target: "web1",
		Priority: alerting.P1, Status: alerting.StatusOpen, OpenedAt: time.Now()}
	if err := f.store.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	_, op := f.login(t, "op", "")
	_, page := f.get(t, "/ui/incidents/1", op)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the incident page:\n%s", page)
	}
	post := func(path string, form url.Values) int {
		req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(op)
		resp, _ := do(t, req)
		return resp.StatusCode
	}
	full.Store(true)
	if code := post("/ui/incidents/1", url.Values{"action": {"acknowledge"}, "csrf": {m[1]}}); code != http.StatusServiceUnavailable {
		t.Errorf("acknowledging with the audit log full: %d, want 503", code)
	}
	if code := post("/ui/maintenance/1/end", url.Values{"csrf": {m[1]}}); code != http.StatusServiceUnavailable {
		t.Errorf("ending a window with the audit log full: %d, want 503", code)
	}
	if got := len(f.actions.done); got != 0 {
		t.Errorf("changes made without their audit row: %v", f.actions.done)
	}
	full.Store(false)
	if code := post("/ui/incidents/1", url.Values{"action": {"acknowledge"}, "csrf": {m[1]}}); code != http.StatusSeeOther {
		t.Errorf("acknowledging: %d, want 303", code)
	}
	if rows := f.auditRows(t, "incident.acknowledge"); len(rows) != 1 {
		t.Errorf("audit rows: %+v, want one", rows)
	}
}

func sessionCookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "nines_session" {
			return c
		}
	}
	return nil
}

// TestKioskSessionRenewed: a wall opened with ?token= renews its session
// through /ui/session, so it outlives the session lifetime; a session
// from the login form is not renewed; /ui/session says in words why a
// session is no longer valid.
func TestKioskSessionRenewed(t *testing.T) {
	f := newSecFixture(t, nil) // sessions last an hour
	resp, _ := f.get(t, "/ui/wall?token=view", nil)
	kiosk := sessionCookieOf(resp)
	if kiosk == nil {
		t.Fatal("no session from ?token=")
	}
	_, form := f.login(t, "view", "")
	for i := range 3 { // 2.5 hours, renewed every 50 minutes
		f.clock.add(50 * time.Minute)
		resp, body := f.get(t, "/ui/session", kiosk)
		if resp.StatusCode != 200 {
			t.Fatalf("/ui/session: %d %s", resp.StatusCode, body)
		}
		if kiosk = sessionCookieOf(resp); kiosk == nil {
			t.Fatal("kiosk session not renewed")
		}
		resp, body = f.get(t, "/ui/session", form)
		switch {
		case i == 0 && (resp.StatusCode != 200 || sessionCookieOf(resp) != nil):
			t.Errorf("form session: %d, renewed %v; want 200 and not renewed", resp.StatusCode, sessionCookieOf(resp) != nil)
		case i > 0 && (resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "the session expired at")):
			t.Errorf("expired form session: %d %s", resp.StatusCode, body)
		}
	}
	if resp, _ := f.get(t, "/ui/wall", kiosk); resp.StatusCode != 200 {
		t.Errorf("kiosk wall after 2.5 h of renewals: %d, want 200", resp.StatusCode)
	}
	if resp, _ := f.get(t, "/ui/logout", kiosk); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	resp, body := f.get(t, "/ui/session", kiosk)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "logged out or revoked") {
		t.Errorf("ended kiosk session: %d %s", resp.StatusCode, body)
	}
	f.authn.Set(nil)
	resp, body = f.get(t, "/ui/session", kiosk)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `no longer configured`) {
		t.Errorf("removed token: %d %s", resp.StatusCode, body)
	}
}
