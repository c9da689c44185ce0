package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/redmine/redminetest"
)

// TestIncidentRaisedInRedmine: a firing rule's incident becomes one issue
// in a real Redmine within seconds, linked to the incident; resolving it
// through the API resolves the issue.
func TestIncidentRaisedInRedmine(t *testing.T) {
	base, key, project := redminetest.Start(t)
	c, api := startCollector(t, fmt.Sprintf(`rules: {files: [r.yml]}
auth:
  tokens:
    - {name: alice, role: operator, token_file: op.token}
receivers:
  - name: servicedesk
    redmine:
      url: %q
      api_key_file: redmine.key
      project: %q
`, base, project), map[string]string{
		"op.token": "op", "redmine.key": key,
		"r.yml": "groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: BackupFailed\n        expr: vector(1)\n        labels: {priority: P2, service: erp}\n        annotations: {summary: Nightly backup failed}\n",
	})
	ctx := context.Background()
	var id int64
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, _ := c.store.Incidents(ctx, alerting.Filter{})
		if len(list) == 1 {
			id = list[0].ID
			if ts, _ := c.store.Tickets(ctx, id); len(ts) == 1 {
				if ts[0].Receiver != "servicedesk" || !strings.HasPrefix(ts[0].URL, base+"/issues/") {
					t.Fatalf("ticket %+v", ts[0])
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ticket linked within 20 s; incidents %+v", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	issues := func() []struct {
		Subject string
		Status  struct{ Name string }
	} {
		req, _ := http.NewRequest("GET", base+"/issues.json?status_id=*&project_id="+project, nil)
		req.Header.Set("X-Redmine-API-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Issues []struct {
				Subject string
				Status  struct{ Name string }
			}
		}
		json.NewDecoder(resp.Body).Decode(&res)
		return res.Issues
	}
	if is := issues(); len(is) != 1 || is[0].Subject != "[P2] Nightly backup failed" {
		t.Fatalf("issues %+v", is)
	}
	if code, body := send(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/resolve", api, id), "op", `{"comment": "restored"}`); code != 200 {
		t.Fatalf("resolve: %d %s", code, body)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		is := issues()
		if len(is) == 1 && is[0].Status.Name == "Resolved" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("issue not resolved within 20 s: %+v", is)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
