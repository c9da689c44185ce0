package jira

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// fakeJira checks requests against the REST API v2's documented shapes
// (JQL search, create with fields, comments, transitions) and keeps a tiny
// workflow: To Do -> In Progress -> Done, Done -> To Do.
type fakeJira struct {
	t          *testing.T
	mu         sync.Mutex
	issues     map[string]*fakeIssue
	lostAnswer bool
}

type fakeIssue struct {
	fields   map[string]any
	status   string
	assignee string
	comments []string
}

var workflow = map[string][]struct{ id, to string }{
	"To Do":       {{"11", "In Progress"}, {"31", "Done"}},
	"In Progress": {{"31", "Done"}},
	"Done":        {{"41", "To Do"}},
}

var jqlRE = regexp.MustCompile(`^project = "(\w+)" AND labels = "([\w-]+)"$`)

func (f *fakeJira) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != "bot@example.com" || p != "api-token" {
		http.Error(w, "", http.StatusUnauthorized)
		return
	}
	path := r.URL.Path
	key := strings.Split(strings.TrimPrefix(path, "/rest/api/2/issue/"), "/")[0]
	issue := f.issues[key]
	switch {
	case r.Method == "GET" && path == "/rest/api/2/search":
		m := jqlRE.FindStringSubmatch(r.URL.Query().Get("jql"))
		if m == nil {
			f.t.Errorf("jql %q", r.URL.Query().Get("jql"))
			http.Error(w, `{"errorMessages":["bad jql"]}`, http.StatusBadRequest)
			return
		}
		var out []map[string]string
		for k, is := range f.issues {
			for _, l := range is.fields["labels"].([]any) {
				if l == m[2] && strings.HasPrefix(k, m[1]+"-") {
					out = append(out, map[string]string{"key": k})
				}
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"issues": out})
	case r.Method == "POST" && path == "/rest/api/2/issue":
		var req struct {
			Fields map[string]any `json:"fields"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		for _, k := range []string{"project", "summary", "issuetype", "labels"} {
			if req.Fields[k] == nil {
				http.Error(w, fmt.Sprintf(`{"errors":{"%s":"required"}}`, k), http.StatusBadRequest)
				return
			}
		}
		proj := req.Fields["project"].(map[string]any)["key"].(string)
		k := fmt.Sprintf("%s-%d", proj, len(f.issues)+1)
		f.issues[k] = &fakeIssue{fields: req.Fields, status: "To Do"}
		if f.lostAnswer {
			f.lostAnswer = false
			http.Error(w, "", http.StatusGatewayTimeout)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]string{"id": "1", "key": k, "self": "x"})
	case issue == nil:
		http.Error(w, `{"errorMessages":["Issue does not exist"]}`, http.StatusNotFound)
	case r.Method == "GET" && strings.HasSuffix(path, "/comment"):
		cs := []map[string]string{}
		for _, c := range issue.comments {
			cs = append(cs, map[string]string{"body": c})
		}
		json.NewEncoder(w).Encode(map[string]any{"comments": cs})
	case r.Method == "POST" && strings.HasSuffix(path, "/comment"):
		var c struct{ Body string }
		json.NewDecoder(r.Body).Decode(&c)
		issue.comments = append(issue.comments, c.Body)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{}`))
	case r.Method == "GET" && strings.HasSuffix(path, "/transitions"):
		var ts []map[string]any
		for _, tr := range workflow[issue.status] {
			ts = append(ts, map[string]any{"id": tr.id, "to": map[string]string{"name": tr.to}})
		}
		json.NewEncoder(w).Encode(map[string]any{"transitions": ts})
	case r.Method == "POST" && strings.HasSuffix(path, "/transitions"):
		var req struct{ Transition struct{ ID string } }
		json.NewDecoder(r.Body).Decode(&req)
		for _, tr := range workflow[issue.status] {
			if tr.id == req.Transition.ID {
				issue.status = tr.to
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		http.Error(w, `{"errorMessages":["transition not valid"]}`, http.StatusBadRequest)
	case r.Method == "GET":
		cat := map[string]string{"To Do": "new", "In Progress": "indeterminate", "Done": "done"}[issue.status]
		fields := map[string]any{"status": map[string]any{"name": issue.status, "statusCategory": map[string]string{"key": cat}}}
		if issue.assignee != "" {
			fields["assignee"] = map[string]string{"displayName": issue.assignee}
		}
		json.NewEncoder(w).Encode(map[string]any{"key": key, "fields": fields})
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		http.Error(w, "", http.StatusBadRequest)
	}
}

func TestJira(t *testing.T) {
	fake := &fakeJira{t: t, issues: map[string]*fakeIssue{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	linked := map[int64]Ticket{}
	n := &Notifier{URL: srv.URL, User: "bot@example.com", Token: "api-token", Project: "OPS",
		Priorities: map[alerting.Priority]string{alerting.P1: "Highest"}, Timeout: 5 * time.Second,
		OnTicket: func(_ context.Context, id int64, tk Ticket) { linked[id] = tk }}
	ctx := context.Background()
	inc := &alerting.Incident{ID: 3, Title: "Core switch down", Priority: alerting.P1, OpenedAt: time.Now()}
	send := func(id int64, action string) (bool, error) {
		return n.Notify(ctx, alerting.Notification{ID: id, Action: action, Text: "x"}, inc)
	}
	fake.lostAnswer = true
	if retry, err := send(1, "opened"); err == nil || !retry {
		t.Fatalf("lost answer: retry %v err %v", retry, err)
	}
	if _, err := send(1, "opened"); err != nil {
		t.Fatal(err)
	}
	if len(fake.issues) != 1 || linked[3].ID != "OPS-1" || linked[3].URL != srv.URL+"/browse/OPS-1" {
		t.Fatalf("issues %d, linked %+v", len(fake.issues), linked[3])
	}
	is := fake.issues["OPS-1"]
	if is.fields["summary"] != "[P1] Core switch down" || is.fields["priority"].(map[string]any)["name"] != "Highest" {
		t.Errorf("fields %v", is.fields)
	}
	for _, step := range []struct {
		id     int64
		action string
		status string
	}{{2, "acknowledged", "To Do"}, {2, "acknowledged", "To Do"}, {3, "resolved", "Done"}, {4, "reopened", "To Do"}, {5, "closed", "Done"}, {5, "closed", "Done"}} {
		if _, err := send(step.id, step.action); err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
		if is.status != step.status {
			t.Errorf("after %s: status %s, want %s", step.action, is.status, step.status)
		}
	}
	if len(is.comments) != 4 {
		t.Errorf("comments %d, want 4 (redeliveries not repeated): %q", len(is.comments), is.comments)
	}
	bad := &Notifier{URL: srv.URL, User: "bot@example.com", Token: "wrong", Project: "OPS"}
	if retry, err := bad.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, inc); err == nil || retry || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong token: retry %v err %v; want a permanent 401", retry, err)
	}
	n.ResolvedStatus = "Won't Do"
	if _, err := send(6, "resolved"); err == nil || !strings.Contains(err.Error(), `no transition to "Won't Do"`) {
		t.Errorf("missing transition: %v", err)
	}
}

// TestJiraTwoWay: the issue's state is read back, and Resolve closes it.
func TestJiraTwoWay(t *testing.T) {
	fake := &fakeJira{t: t, issues: map[string]*fakeIssue{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	n := &Notifier{URL: srv.URL, User: "bot@example.com", Token: "api-token", Project: "OPS"}
	ctx := context.Background()
	if _, err := n.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, &alerting.Incident{ID: 9, Title: "x", Priority: alerting.P3}); err != nil {
		t.Fatal(err)
	}
	st, err := n.State(ctx, "OPS-1")
	if err != nil || st.Closed || st.InProgress || st.Status != "To Do" {
		t.Fatalf("new issue: %+v %v", st, err)
	}
	fake.issues["OPS-1"].assignee = "Bob"
	if st, _ := n.State(ctx, "OPS-1"); !st.InProgress || st.Assignee != "Bob" {
		t.Errorf("assigned: %+v", st)
	}
	for range 3 { // the reconciler at three syncs: one comment
		if err := n.Resolve(ctx, "OPS-1", "incident over"); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(fake.issues["OPS-1"].comments); got != 1 {
		t.Errorf("comments after resolving three times: %d, want 1", got)
	}
	if st, _ := n.State(ctx, "OPS-1"); !st.Closed || st.Status != "Done" {
		t.Errorf("after Resolve: %+v", st)
	}
	if _, err := n.State(ctx, "OPS-99"); err == nil {
		t.Error("unknown issue: no error")
	}
	// A workflow whose configured resolved status is not in the done
	// category: it still counts as done (else the reconciler resolves the
	// issue again at every sync).
	fake.issues["OPS-1"].status = "Resolved"
	n.ResolvedStatus = "Resolved"
	if st, _ := n.State(ctx, "OPS-1"); !st.Closed {
		t.Errorf("in the configured resolved status: %+v, want done", st)
	}
}
