package redmine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
	"github.com/ninesmon/nines/alerting/notify/redmine/redminetest"
)

func get(t *testing.T, url, apiKey string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Redmine-API-Key", apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

type issueView struct {
	ID       int    `json:"id"`
	Subject  string `json:"subject"`
	Status   struct{ Name string }
	Priority struct{ Name string }
	Journals []struct {
		Notes string `json:"notes"`
	} `json:"journals"`
}

// TestAgainstRedmine: an incident's life in a real Redmine: one issue
// whatever is retried, notes not duplicated by a redelivery, the statuses
// followed, the ticket linked.
func TestAgainstRedmine(t *testing.T) {
	base, apiKey, project := redminetest.Start(t)
	var mu sync.Mutex
	linked := map[int64]Ticket{}
	n := &Notifier{URL: base, APIKey: apiKey, Project: project, FingerprintField: "Alert fingerprint",
		Priorities:     map[alerting.Priority]string{alerting.P1: "Immediate", alerting.P2: "Urgent", alerting.P3: "High", alerting.P4: "Normal"},
		ResolvedStatus: "Resolved", ClosedStatus: "Closed", ReopenedStatus: "New", Timeout: 30 * time.Second,
		OnTicket: func(_ context.Context, id int64, tk Ticket) { mu.Lock(); linked[id] = tk; mu.Unlock() }}
	ctx := context.Background()
	inc := &alerting.Incident{ID: 41, Title: "Host db1 is down", Description: "No data for 45 s", Priority: alerting.P1,
		Target: "db1", Service: "erp", Rule: "HostDown", Group: "availability", OpenedAt: time.Now()}
	send := func(id int64, action, text string) {
		t.Helper()
		if retry, err := n.Notify(ctx, alerting.Notification{ID: id, IncidentID: inc.ID, Action: action, Text: text, At: time.Now()}, inc); err != nil {
			t.Fatalf("%s: %v (retry %v)", action, err, retry)
		}
	}
	issues := func() []issueView {
		var res struct{ Issues []issueView }
		get(t, base+"/issues.json?status_id=*&project_id="+project, apiKey, &res)
		return res.Issues
	}
	send(1, "opened", "")
	send(1, "opened", "") // redelivered after a crash: no second issue
	list := issues()
	if len(list) != 1 || list[0].Subject != "[P1] Host db1 is down" || list[0].Priority.Name != "Immediate" {
		t.Fatalf("issues after opening twice: %+v", list)
	}
	id := list[0].ID
	if tk := linked[inc.ID]; tk.ID != fmt.Sprintf("#%d", id) || tk.URL != fmt.Sprintf("%s/issues/%d", base, id) {
		t.Errorf("linked ticket %+v", tk)
	}
	send(2, "acknowledged", "alice: on it")
	send(2, "acknowledged", "alice: on it") // redelivered: not a second note
	send(3, "resolved", "")
	var one struct{ Issue issueView }
	get(t, fmt.Sprintf("%s/issues/%d.json?include=journals", base, id), apiKey, &one)
	notes := 0
	for _, j := range one.Issue.Journals {
		if strings.Contains(j.Notes, "on it") {
			notes++
		}
	}
	if notes != 1 || one.Issue.Status.Name != "Resolved" {
		t.Errorf("after acknowledge (twice) and resolve: %d notes with the comment, status %q", notes, one.Issue.Status.Name)
	}
	send(4, "reopened", "")
	send(5, "closed", "")
	get(t, fmt.Sprintf("%s/issues/%d.json", base, id), apiKey, &one)
	if one.Issue.Status.Name != "Closed" {
		t.Errorf("status after close: %q", one.Issue.Status.Name)
	}

	// An update for an incident whose opening never arrived still finds or
	// makes exactly one issue.
	other := *inc
	other.ID, other.Title = 42, "Disk full on app1"
	if _, err := n.Notify(ctx, alerting.Notification{ID: 9, Action: "acknowledged"}, &other); err != nil {
		t.Fatal(err)
	}
	if len(issues()) != 2 {
		t.Errorf("issues: %d, want 2", len(issues()))
	}

	// The reconciler (an incident ended in Nines, its issue still open)
	// resolves the issue once: the configured resolved status counts as
	// done although Redmine does not count "Resolved" as closed, and the
	// note is never repeated (it was added at every sync: ~1,440 a day).
	otherTicket := linked[other.ID].ID
	if st, err := n.State(ctx, otherTicket); err != nil || st.Closed {
		t.Fatalf("state of the new issue: %+v, %v; want open", st, err)
	}
	const note = "Incident 42 is resolved in Nines; resolving the issue it left open."
	for range 3 {
		if err := n.Resolve(ctx, otherTicket, note); err != nil {
			t.Fatal(err)
		}
	}
	st, err := n.State(ctx, otherTicket)
	if err != nil || !st.Closed || st.Status != "Resolved" {
		t.Errorf("state after the reconciler: %+v, %v; want Resolved, counted as done", st, err)
	}
	get(t, fmt.Sprintf("%s/issues/%s.json?include=journals", base, strings.TrimPrefix(otherTicket, "#")), apiKey, &one)
	notes = 0
	for _, j := range one.Issue.Journals {
		if j.Notes == note {
			notes++
		}
	}
	if notes != 1 {
		t.Errorf("reconciler note on the issue %d times, want once", notes)
	}

	// Misconfiguration is a clear, permanent error.
	bad := &Notifier{URL: base, APIKey: apiKey, Project: project, FingerprintField: "No such field",
		ResolvedStatus: "Resolved", ClosedStatus: "Closed", ReopenedStatus: "New"}
	if retry, err := bad.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, inc); err == nil || retry || !strings.Contains(err.Error(), `no issue custom field "No such field"`) {
		t.Errorf("unknown field: retry %v, err %v", retry, err)
	}
	wrongKey := &Notifier{URL: base, APIKey: "nope", Project: project, FingerprintField: "Alert fingerprint",
		ResolvedStatus: "Resolved", ClosedStatus: "Closed", ReopenedStatus: "New"}
	if retry, err := wrongKey.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, inc); err == nil || retry || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong key: retry %v, err %v", retry, err)
	}
}
