package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/ninesmon/nines/alerting"
)

// Fingerprint identifies an incident's ticket in a ticketing system (a
// Redmine custom field, a ServiceNow correlation_id, a Jira label), so the
// ticket is found again instead of made twice.
func Fingerprint(incidentID int64) string { return fmt.Sprintf("nines-incident-%d", incidentID) }

// Subject is a ticket's title: "[P2] <title>", at most max bytes.
func Subject(inc *alerting.Incident, max int) string {
	s := fmt.Sprintf("[%s] %s", inc.Priority, inc.Title)
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// Description is a ticket's body: the incident's description, then its
// facts as a list (bullet "* " for wiki markup, "" for plain text).
func Description(inc *alerting.Incident, bullet string) string {
	var b strings.Builder
	if inc.Description != "" {
		b.WriteString(inc.Description + "\n\n")
	}
	for _, kv := range [][2]string{
		{"Priority", string(inc.Priority)}, {"Severity", inc.Severity}, {"Target", inc.Target}, {"Service", inc.Service},
		{"Rule", inc.Group + " / " + inc.Rule}, {"Opened", inc.OpenedAt.UTC().Format(time.RFC3339)},
	} {
		fmt.Fprintf(&b, "%s%s: %s\n", bullet, kv[0], kv[1])
	}
	return b.String()
}

// UpdateText is the note or comment of an incident update, tagged with
// the notification's id so that a redelivery can be recognised.
func UpdateText(note alerting.Notification) (text, marker string) {
	marker = fmt.Sprintf("(Nines notification %d)", note.ID)
	text = "Incident " + note.Action
	if note.Text != "" {
		text += ": " + note.Text
	}
	return text + "\n\n" + marker, marker
}
