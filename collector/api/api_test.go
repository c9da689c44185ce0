package api

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/collector/auth"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/rules"
)

type fakeTargets []state.Target

func (f fakeTargets) Select(keep func(*state.Target) bool) []state.Target {
	var out []state.Target
	for _, t := range f {
		if keep == nil || keep(&t) {
			out = append(out, t)
		}
	}
	return out
}

type fakeAlerts struct{}

func (fakeAlerts) Alerts() []rules.Alert {
	return []rules.Alert{{Group: "availability", Rule: "HostDown", State: rules.StateFiring,
		Labels: labels.FromStrings("alertname", "HostDown", "host", "db1"), ActiveAt: time.Unix(100, 0), FiredAt: time.Unix(100, 0), Value: 1}}
}

type fakeIncidents struct{ list []alerting.Incident }

func (f *fakeIncidents) InsertIncident(context.Context, *alerting.Incident) error { return nil }
func (f *fakeIncidents) Transition(context.Context, int64, []alerting.Status, alerting.Status, alerting.Event) error {
	return nil
}
func (f *fakeIncidents) AddEvent(context.Context, alerting.Event) error              { return nil }
func (f *fakeIncidents) Assign(context.Context, int64, string, alerting.Event) error { return nil }
func (f *fakeIncidents) Told(context.Context, int64) ([]string, error)               { return nil, nil }
func (f *fakeIncidents) DueNotifications(context.Context, time.Time, int) ([]alerting.Notification, error) {
	return nil, nil
}
func (f *fakeIncidents) MarkNotification(context.Context, int64, alerting.Outcome) error { return nil }
func (f *fakeIncidents) Events(context.Context, int64) ([]alerting.Event, error) {
	return nil, nil
}
func (f *fakeIncidents) LastResolved(context.Context, string, time.Time) (*alerting.Incident, error) {
	return nil, alerting.ErrNotFound
}
func (f *fakeIncidents) SetSeverity(context.Context, int64, string, alerting.Priority, alerting.Event) error {
	return nil
}
func (f *fakeIncidents) Incidents(_ context.Context, flt alerting.Filter) ([]alerting.Incident, error) {
	var out []alerting.Incident
	for _, inc := range f.list {
		if len(flt.Status) > 0 && !contains(flt.Status, inc.Status) {
			continue
		}
		out = append(out, inc)
	}
	return out, nil
}
func (f *fakeIncidents) Incident(_ context.Context, id int64) (*alerting.Incident, error) {
	for _, inc := range f.list {
		if inc.ID == id {
			return &inc, nil
		}
	}
	return nil, alerting.ErrNotFound
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	a := &API{
		Incidents: &fakeIncidents{list: []alerting.Incident{
			{ID: 2, Rule: "HostDown", Status: alerting.StatusOpen, Priority: alerting.P3},
			{ID: 1, Rule: "DiskFull", Status: alerting.StatusResolved, Priority: alerting.P4},
		}},
		Targets: fakeTargets{
			{Name: "web1", Kind: state.KindHost, State: state.Up, Labels: map[string]string{"site": "hq"}, MetricsAddress: "10.0.0.5:9991"},
			{Name: "db1", Kind: state.KindHost, State: state.Down, Labels: map[string]string{"site": "dc1"}},
			{Name: "erp-http", Kind: state.KindCheck, State: state.Up},
		},
		Alerts: fakeAlerts{},
		Auth: auth.New([]config.Token{
			{Name: "v", Role: config.RoleViewer, Hash: sha256.Sum256([]byte("view"))},
			{Name: "a", Role: config.RoleAgent, Hash: sha256.Sum256([]byte("agent"))},
		}),
		Logger: slog.New(slog.DiscardHandler),
	}
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func TestAPI(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name, path, token string
		code              int
		contains          []string
		lacks             []string
	}{
		{"no token", "/api/v1/targets", "", 401, nil, nil},
		{"agent token cannot read", "/api/v1/targets", "agent", 403, []string{"needs viewer"}, nil},
		{"all targets", "/api/v1/targets", "view", 200, []string{`"web1"`, `"db1"`, `"erp-http"`}, nil},
		{"by state", "/api/v1/targets?state=down", "view", 200, []string{`"db1"`}, []string{`"web1"`}},
		{"by label", "/api/v1/targets?label=site=hq", "view", 200, []string{`"web1"`}, []string{`"db1"`}},
		{"by kind", "/api/v1/targets?kind=check", "view", 200, []string{`"erp-http"`}, []string{`"web1"`}},
		{"bad state", "/api/v1/targets?state=sideways", "view", 400, []string{`state: unknown value \"sideways\"`}, nil},
		{"bad label", "/api/v1/targets?label=site", "view", 400, []string{"label: want name=value"}, nil},
		{"active incidents", "/api/v1/incidents?status=active", "view", 200, []string{`"HostDown"`}, []string{`"DiskFull"`}},
		{"bad status", "/api/v1/incidents?status=gone", "view", 400, []string{"status: unknown value"}, nil},
		{"bad priority", "/api/v1/incidents?priority=P9", "view", 400, []string{"priority: unknown value"}, nil},
		{"bad limit", "/api/v1/incidents?limit=0", "view", 400, []string{"limit"}, nil},
		{"one incident", "/api/v1/incidents/1", "view", 200, []string{`"DiskFull"`}, nil},
		{"missing incident", "/api/v1/incidents/99", "view", 404, []string{"incident 99 not found"}, nil},
		{"bad id", "/api/v1/incidents/x", "view", 400, []string{"must be a number"}, nil},
		{"timeline", "/api/v1/incidents/1/timeline", "view", 200, []string{"["}, nil},
		{"timeline of a missing incident", "/api/v1/incidents/99/timeline", "view", 404, []string{"incident 99 not found"}, nil},
		{"timeline, bad id", "/api/v1/incidents/x/timeline", "view", 400, []string{"must be a number"}, nil},
		{"alerts", "/api/v1/alerts", "view", 200, []string{`"name":"HostDown"`, `"state":"firing"`, `"host":"db1"`}, nil},
		{"unknown endpoint, in JSON", "/api/v1/status/buildinfo", "", 404, []string{`{"error":"no API endpoint GET /api/v1/status/buildinfo"}`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, srv.URL+tc.path, tc.token)
			if code != tc.code {
				t.Errorf("got %d %s, want %d", code, body, tc.code)
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("body %s lacks %s", body, c)
				}
			}
			for _, c := range tc.lacks {
				if strings.Contains(body, c) {
					t.Errorf("body %s has %s", body, c)
				}
			}
		})
	}
}

func TestPrometheusSD(t *testing.T) {
	srv := newServer(t)
	code, body := get(t, srv.URL+"/api/v1/sd/prometheus", "view")
	if code != 200 {
		t.Fatalf("got %d", code)
	}
	var groups []struct {
		Targets []string          `json:"targets"`
		Labels  map[string]string `json:"labels"`
	}
	if err := json.Unmarshal([]byte(body), &groups); err != nil {
		t.Fatalf("not the http_sd format: %v: %s", err, body)
	}
	if len(groups) != 1 || groups[0].Targets[0] != "10.0.0.5:9991" || groups[0].Labels["site"] != "hq" || groups[0].Labels["host"] != "web1" {
		t.Errorf("got %+v, want only web1 (the one host that announced an address) with its labels", groups)
	}
}
