package sqlite

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// crashChildEnv, set in a re-executed test binary, names the database the
// child writes to before its failpoint kills it.
const crashChildEnv = "NINES_TEST_OUTBOX_CRASH_DB"

var crashT0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// TestEventAndOutboxCommitTogether kills the process (SIGKILL, through
// the event.before_outbox failpoint) after an event's row is written and
// before its notifications are: after a restart the store holds neither,
// never an event whose receivers were not told.
func TestEventAndOutboxCommitTogether(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "n.db")
	s := open(t, path)
	inc := &alerting.Incident{DedupKey: "k", Group: "g", Rule: "R", Priority: alerting.P3, Status: alerting.StatusOpen,
		Labels: map[string]string{}, OpenedAt: crashT0}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for _, step := range []string{"comment", "severity"} {
		t.Run(step, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestEventAndOutboxCommitTogether$")
			cmd.Env = append(os.Environ(), crashChildEnv+"="+path, "NINES_TEST_OUTBOX_CRASH_STEP="+step, "NINES_FAILPOINTS=event.before_outbox")
			out, err := cmd.CombinedOutput()
			if !strings.Contains(string(out), "failpoint event.before_outbox: SIGKILL") {
				t.Fatalf("the child did not reach the failpoint (err %v):\n%s", err, out)
			}
			s := open(t, path)
			defer s.Close()
			evs, err := s.Events(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != 1 || evs[0].Action != "opened" {
				t.Errorf("timeline after the crash: %+v; want only the opening (the %s event rolled back)", evs, step)
			}
			due, err := s.DueNotifications(ctx, crashT0.Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(due) != 0 {
				t.Errorf("outbox after the crash: %+v; want empty", due)
			}
			got, err := s.Incident(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Severity != "" || got.Priority != alerting.P3 {
				t.Errorf("severity after the crash: %s/%s; want the old one", got.Severity, got.Priority)
			}
		})
	}
}

// crashChild records one event with a notification; the armed failpoint
// kills it between the event's row and the outbox's.
func crashChild(path string) {
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(2)
	}
	ev := alerting.Event{IncidentID: 1, At: crashT0.Add(time.Minute), Actor: "alice", Action: "commented", Text: "x", Notify: []string{"desk"}}
	switch os.Getenv("NINES_TEST_OUTBOX_CRASH_STEP") {
	case "comment":
		err = s.AddEvent(ctx, ev)
	case "severity":
		ev.Action, ev.Actor = "severity", alerting.Automatic
		err = s.SetSeverity(ctx, 1, "critical", alerting.P2, ev)
	}
	os.Stderr.WriteString("no crash: " + errors.Join(err, errors.New("failpoint not armed")).Error())
	os.Exit(3)
}

// TestSetSeverityWithEvent: the severity change, its event and its
// notifications are one fact; an ended incident refuses it whole.
func TestSetSeverityWithEvent(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "n.db"))
	defer s.Close()
	inc := &alerting.Incident{DedupKey: "k", Group: "g", Rule: "R", Severity: "warning", Priority: alerting.P4, Status: alerting.StatusOpen,
		Labels: map[string]string{}, OpenedAt: crashT0}
	if err := s.InsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	at := crashT0.Add(time.Minute)
	ev := alerting.Event{At: at, Actor: alerting.Automatic, Action: "severity", Text: "warning/P4 -> critical/P2", Notify: []string{"desk"}}
	if err := s.SetSeverity(ctx, inc.ID, "critical", alerting.P2, ev); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Incident(ctx, inc.ID)
	if got.Severity != "critical" || got.Priority != alerting.P2 {
		t.Errorf("severity: got %s/%s, want critical/P2", got.Severity, got.Priority)
	}
	evs, _ := s.Events(ctx, inc.ID)
	if len(evs) != 2 || evs[1].Action != "severity" || !evs[1].At.Equal(at) {
		t.Errorf("timeline: got %+v, want opened then severity at %v", evs, at)
	}
	due, _ := s.DueNotifications(ctx, at, 10)
	if len(due) != 1 || due[0].Action != "severity" || due[0].Receiver != "desk" {
		t.Errorf("outbox: got %+v, want the severity change to desk", due)
	}

	live := []alerting.Status{alerting.StatusOpen, alerting.StatusAcknowledged}
	if err := s.Transition(ctx, inc.ID, live, alerting.StatusResolved, alerting.Event{At: at.Add(time.Minute), Actor: "nines", Action: "resolved"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSeverity(ctx, inc.ID, "warning", alerting.P4, ev); !errors.Is(err, alerting.ErrConflict) {
		t.Errorf("severity of a resolved incident: got %v, want ErrConflict", err)
	}
	if err := s.AddEvent(ctx, alerting.Event{IncidentID: 999, At: at}); !errors.Is(err, alerting.ErrNotFound) {
		t.Errorf("event of a missing incident: got %v, want ErrNotFound", err)
	}
	if evs, _ := s.Events(ctx, inc.ID); len(evs) != 3 {
		t.Errorf("timeline after the refused change: %d events, want 3", len(evs))
	}
}

// TestDueNotificationsLimitPerReceiver: the limit applies per receiver,
// so a receiver with a backlog does not hide another's notifications;
// and an incident's later notification waits behind its earlier one.
func TestDueNotificationsLimitPerReceiver(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "n.db"))
	defer s.Close()
	for i := range 4 {
		inc := &alerting.Incident{DedupKey: string(rune('a' + i)), Group: "g", Rule: "R", Priority: alerting.P3, Status: alerting.StatusOpen,
			Labels: map[string]string{}, OpenedAt: crashT0, Notify: []string{"busy"}}
		if i == 3 {
			inc.Notify = []string{"quiet"}
		}
		if err := s.InsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		if err := s.AddEvent(ctx, alerting.Event{IncidentID: inc.ID, At: crashT0, Actor: "alice", Action: "commented", Notify: inc.Notify}); err != nil {
			t.Fatal(err)
		}
	}
	due, err := s.DueNotifications(ctx, crashT0, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range due {
		got = append(got, n.Receiver+"/"+n.Action)
	}
	if want := "busy/opened,busy/opened,quiet/opened"; strings.Join(got, ",") != want {
		t.Errorf("due: got %v, want %s", got, want)
	}
}
