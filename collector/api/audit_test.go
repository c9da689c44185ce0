package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/audit"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
)

// auditLog is an audit log whose disk can fill.
type auditLog struct {
	mu      sync.Mutex
	full    bool
	entries []audit.Entry
}

func (l *auditLog) Record(_ context.Context, e audit.Entry) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.full {
		return errors.New("database or disk is full")
	}
	l.entries = append(l.entries, e)
	return nil
}

func (l *auditLog) Entries(context.Context, audit.Filter) ([]audit.Entry, error) { return nil, nil }

func (l *auditLog) actions() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.entries {
		out = append(out, e.Action+" "+e.Object)
	}
	return out
}

// changes notes what was changed.
type changes struct {
	mu   sync.Mutex
	done []string
}

func (c *changes) note(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done = append(c.done, s)
}

func (c *changes) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.done...)
}

func (c *changes) Acknowledge(_ context.Context, id int64, _, _ string, _ time.Time) error {
	if id != 2 {
		return alerting.ErrNotFound
	}
	c.note("acknowledge")
	return nil
}
func (c *changes) Resolve(context.Context, int64, string, string, time.Time) error {
	c.note("resolve")
	return nil
}
func (c *changes) Close(context.Context, int64, string, string, time.Time) error { return nil }
func (c *changes) Reopen(context.Context, int64, string, string, time.Time) error {
	return nil
}
func (c *changes) Comment(context.Context, int64, string, string, time.Time) error {
	return nil
}
func (c *changes) Assign(context.Context, int64, string, string, time.Time) error { return nil }
func (c *changes) Windows(context.Context, time.Time) ([]state.Window, error)     { return nil, nil }
func (c *changes) Create(_ context.Context, w *state.Window) error {
	w.ID = 7
	c.note("create")
	return nil
}
func (c *changes) End(_ context.Context, id int64, _ string, _ time.Time) error {
	c.note("end")
	return nil
}

// A change whose audit row cannot be written is refused with 503 and
// does not happen (a maintenance window created is ended at once); a
// change that fails after its row is recorded as failed.
func TestChangesRefusedWithoutAudit(t *testing.T) {
	log := &auditLog{}
	ch := &changes{}
	a := &API{
		Incidents: &fakeIncidents{list: []alerting.Incident{{ID: 2, Rule: "HostDown", Status: alerting.StatusAcknowledged}}},
		Actions:   ch, Maintenance: ch, Audit: log,
		Auth:   auth.New([]config.Token{{Name: "op", Role: config.RoleOperator, Hash: sha256.Sum256([]byte("op"))}}),
		Logger: slog.New(slog.DiscardHandler),
	}
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer op")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const window = `{"name": "patch", "targets": ["web1"], "duration": "1h"}`

	log.full = true
	for _, tc := range []struct{ path, body string }{
		{"/api/v1/incidents/2/acknowledge", ""}, {"/api/v1/maintenance/3/end", ""}, {"/api/v1/maintenance", window},
	} {
		if code := post(tc.path, tc.body); code != http.StatusServiceUnavailable {
			t.Errorf("%s with the audit log full: %d, want 503", tc.path, code)
		}
	}
	if got, want := strings.Join(ch.list(), ","), "create,end"; got != want {
		t.Errorf("changes made: got %s, want %s (the window created, then ended)", got, want)
	}

	log.full = false
	if code := post("/api/v1/incidents/2/acknowledge", ""); code != http.StatusOK {
		t.Errorf("acknowledge: %d", code)
	}
	if code := post("/api/v1/incidents/9/acknowledge", ""); code != http.StatusNotFound {
		t.Errorf("acknowledge a missing incident: %d", code)
	}
	if code := post("/api/v1/maintenance", window); code != http.StatusCreated {
		t.Errorf("create: %d", code)
	}
	want := "incident.acknowledge incident/2,incident.acknowledge incident/9,incident.acknowledge.failed incident/9,maintenance.create maintenance/7"
	if got := strings.Join(log.actions(), ","); got != want {
		t.Errorf("audit: got %s\nwant %s", got, want)
	}
}
