package collector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// TestRefreshAlerts: an Alertmanager receiver in API mode is sent the
// active incidents it was told of again at its resend interval (its
// Alertmanager would resolve them after endsAt otherwise), and not the
// ones it was not told of or that ended.
func TestRefreshAlerts(t *testing.T) {
	var mu sync.Mutex
	var posts [][]map[string]any
	am := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/alerts" {
			return
		}
		var alerts []map[string]any
		_ = json.NewDecoder(r.Body).Decode(&alerts)
		mu.Lock()
		posts = append(posts, alerts)
		mu.Unlock()
	}))
	defer am.Close()
	// A collector built, not run: no dispatcher or refresh task of its
	// own posts meanwhile.
	c := buildCollector(t, t.TempDir(), `storage: {path: n.db}
receivers:
  - {name: am, alertmanager: {url: "`+am.URL+`", mode: api}}
  - {name: hook, webhook: {url: "`+am.URL+`/hook", secret: s}}
`)
	t.Cleanup(func() { c.store.Close() })
	ctx := context.Background()
	now := time.Now()
	for _, inc := range []*alerting.Incident{
		{DedupKey: "a", Rule: "HostDown", Title: "a down", Target: "a", Priority: alerting.P3, Status: alerting.StatusOpen, OpenedAt: now, Notify: []string{"am"}},
		{DedupKey: "b", Rule: "HostDown", Title: "b down", Target: "b", Priority: alerting.P3, Status: alerting.StatusOpen, OpenedAt: now, Notify: []string{"hook"}},
	} {
		if err := c.store.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	refresh := c.refreshAlerts()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(posts) }
	n := count()
	if err := refresh(ctx, now); err != nil {
		t.Fatal(err)
	}
	if err := refresh(ctx, now.Add(time.Second)); err != nil { // within the interval: nothing
		t.Fatal(err)
	}
	mu.Lock()
	got := posts[n:]
	mu.Unlock()
	if len(got) != 1 || len(got[0]) != 1 || got[0][0]["labels"].(map[string]any)["alertname"] != "HostDown" ||
		got[0][0]["annotations"].(map[string]any)["summary"] != "a down" {
		t.Fatalf("posts: %v, want one with incident a only", got)
	}
	n = count()
	if err := refresh(ctx, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := count() - n; got != 1 {
		t.Errorf("after the resend interval: %d posts, want 1", got)
	}
}
