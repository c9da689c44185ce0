package servicenow

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// fakeServiceNow checks each request against the Table API's documented
// shape (basic auth, JSON, /api/now/table/incident, sysparm_query on
// correlation_id, PATCH by sys_id) and keeps the incidents it made.
type fakeServiceNow struct {
	t       *testing.T
	mu      sync.Mutex
	records map[string]map[string]string // sys_id -> fields
	// failCreate answers the next create with this status; lostAnswer
	// creates the record but answers 502, as a proxy that timed out.
	failCreate int
	lostAnswer bool
	patches    []map[string]string
}

func (f *fakeServiceNow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != "nines" || p != "secret" {
		http.Error(w, `{"error":{"message":"User Not Authenticated"}}`, http.StatusUnauthorized)
		return
	}
	if r.Header.Get("Accept") != "application/json" {
		f.t.Errorf("%s %s: Accept %q", r.Method, r.URL, r.Header.Get("Accept"))
	}
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api/now/table/incident" && strings.HasPrefix(r.URL.Query().Get("sysparm_query"), "number="):
		number := strings.TrimPrefix(r.URL.Query().Get("sysparm_query"), "number=")
		if r.URL.Query().Get("sysparm_display_value") != "all" {
			f.t.Errorf("lookup by number without display values: %s", r.URL.RawQuery)
		}
		res := []map[string]any{}
		for id, rec := range f.records {
			if rec["number"] == number {
				names := map[string]string{"1": "New", "2": "In Progress", "6": "Resolved", "7": "Closed"}
				res = append(res, map[string]any{
					"sys_id":      map[string]string{"value": id, "display_value": id},
					"state":       map[string]string{"value": rec["state"], "display_value": names[rec["state"]]},
					"assigned_to": map[string]string{"value": rec["assigned_to"], "display_value": rec["assigned_to"]},
				})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"result": res})
	case r.Method == http.MethodGet && r.URL.Path == "/api/now/table/incident":
		q := r.URL.Query()
		fp, ok := strings.CutPrefix(q.Get("sysparm_query"), "correlation_id=")
		if !ok || q.Get("sysparm_limit") != "1" {
			f.t.Errorf("lookup query %q", r.URL.RawQuery)
		}
		res := []map[string]string{}
		for id, rec := range f.records {
			if rec["correlation_id"] == fp {
				res = append(res, map[string]string{"sys_id": id, "number": rec["number"], "state": rec["state"]})
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"result": res})
	case r.Method == http.MethodPost && r.URL.Path == "/api/now/table/incident":
		if f.failCreate != 0 {
			code := f.failCreate
			f.failCreate = 0
			http.Error(w, `{"error":{"message":"busy"}}`, code)
			return
		}
		var rec map[string]string
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		for _, k := range []string{"short_description", "impact", "urgency", "correlation_id"} {
			if rec[k] == "" {
				f.t.Errorf("create lacks %s: %v", k, rec)
			}
		}
		id := fmt.Sprintf("sys%d", len(f.records)+1)
		rec["number"], rec["state"] = fmt.Sprintf("INC%07d", len(f.records)+1), "1"
		f.records[id] = rec
		if f.lostAnswer {
			f.lostAnswer = false
			http.Error(w, "gateway timeout", http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"result": map[string]string{"sys_id": id, "number": rec["number"], "state": "1"}})
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/api/now/table/incident/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/now/table/incident/")
		rec := f.records[id]
		if rec == nil {
			http.Error(w, `{"error":{"message":"No Record found"}}`, http.StatusNotFound)
			return
		}
		var up map[string]string
		json.NewDecoder(r.Body).Decode(&up)
		if up["state"] == "6" && (up["close_code"] == "" || up["close_notes"] == "") {
			http.Error(w, `{"error":{"message":"close_code and close_notes are mandatory"}}`, http.StatusForbidden)
			return
		}
		for k, v := range up {
			rec[k] = v
		}
		f.patches = append(f.patches, up)
		json.NewEncoder(w).Encode(map[string]any{"result": rec})
	default:
		f.t.Errorf("unexpected %s %s", r.Method, r.URL)
		http.Error(w, "no", http.StatusBadRequest)
	}
}

func TestServiceNow(t *testing.T) {
	fake := &fakeServiceNow{t: t, records: map[string]map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	linked := map[int64]Ticket{}
	n := &Notifier{URL: srv.URL, User: "nines", Password: "secret", Timeout: 5 * time.Second,
		OnTicket: func(_ context.Context, id int64, tk Ticket) { linked[id] = tk }}
	ctx := context.Background()
	inc := &alerting.Incident{ID: 7, Title: "Host db1 is down", Priority: alerting.P1, Target: "db1", OpenedAt: time.Now()}
	send := func(id int64, action string) (bool, error) {
		return n.Notify(ctx, alerting.Notification{ID: id, IncidentID: inc.ID, Action: action}, inc)
	}
	// Busy: retry. The create then succeeds but its answer is lost: the
	// retry finds the record instead of making a second.
	fake.failCreate = http.StatusServiceUnavailable
	if retry, err := send(1, "opened"); err == nil || !retry {
		t.Fatalf("503: retry %v, err %v", retry, err)
	}
	fake.lostAnswer = true
	if retry, err := send(1, "opened"); err == nil || !retry {
		t.Fatalf("lost answer: retry %v, err %v", retry, err)
	}
	if _, err := send(1, "opened"); err != nil {
		t.Fatal(err)
	}
	if len(fake.records) != 1 {
		t.Fatalf("records: %d, want 1", len(fake.records))
	}
	rec := fake.records["sys1"]
	if rec["impact"] != "1" || rec["urgency"] != "1" || rec["correlation_id"] != "nines-incident-7" || rec["short_description"] != "[P1] Host db1 is down" {
		t.Errorf("record %v", rec)
	}
	if linked[7].ID != "INC0000001" || !strings.Contains(linked[7].URL, "sys_id=sys1") {
		t.Errorf("linked %+v", linked[7])
	}
	for i, action := range []string{"acknowledged", "resolved", "reopened", "closed"} {
		if _, err := send(int64(i+2), action); err != nil {
			t.Fatalf("%s: %v", action, err)
		}
	}
	if rec["state"] != "7" || len(fake.patches) != 4 || fake.patches[1]["state"] != "6" || fake.patches[1]["close_code"] == "" || fake.patches[2]["state"] != "2" {
		t.Errorf("patches %v, state %s", fake.patches, rec["state"])
	}
	if !strings.Contains(fake.patches[0]["work_notes"], "Incident acknowledged") {
		t.Errorf("work notes %q", fake.patches[0]["work_notes"])
	}
	bad := &Notifier{URL: srv.URL, User: "nines", Password: "wrong"}
	if retry, err := bad.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, inc); err == nil || retry || !strings.Contains(err.Error(), "401") {
		t.Errorf("wrong password: retry %v err %v", retry, err)
	}
}

// TestServiceNowTwoWay: the incident's state is read back by number, and
// Resolve resolves it with a close code.
func TestServiceNowTwoWay(t *testing.T) {
	fake := &fakeServiceNow{t: t, records: map[string]map[string]string{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	n := &Notifier{URL: srv.URL, User: "nines", Password: "secret"}
	ctx := context.Background()
	if _, err := n.Notify(ctx, alerting.Notification{ID: 1, Action: "opened"}, &alerting.Incident{ID: 5, Title: "x", Priority: alerting.P2}); err != nil {
		t.Fatal(err)
	}
	st, err := n.State(ctx, "INC0000001")
	if err != nil || st.Closed || st.InProgress || st.Status != "New" {
		t.Fatalf("new: %+v %v", st, err)
	}
	fake.records["sys1"]["assigned_to"] = "Beth Anglin"
	if st, _ := n.State(ctx, "INC0000001"); !st.InProgress || st.Assignee != "Beth Anglin" {
		t.Errorf("assigned: %+v", st)
	}
	if err := n.Resolve(ctx, "INC0000001", "incident over in Nines"); err != nil {
		t.Fatal(err)
	}
	if st, _ := n.State(ctx, "INC0000001"); !st.Closed || st.Status != "Resolved" {
		t.Errorf("after Resolve: %+v", st)
	}
	if _, err := n.State(ctx, "INC9999999"); err == nil {
		t.Error("unknown incident: no error")
	}
}
