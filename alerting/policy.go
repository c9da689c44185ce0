package alerting

import (
	"strings"
	"time"
)

// Targets are the response and resolution times a priority promises.
type Targets struct {
	Respond time.Duration // to acknowledge
	Resolve time.Duration
}

// Policy decides priorities and their targets. The zero value is not
// useful: start from DefaultPolicy.
type Policy struct {
	// Matrix maps impact, then urgency (high, medium, low) to a priority.
	Matrix map[string]map[string]Priority
	// Targets per priority.
	Targets map[Priority]Targets
	// NearBreach is the share of a target after which an incident is
	// flagged as near breach (default 0.8).
	NearBreach float64
	// CloseAfter closes incidents resolved for this long (0: never).
	CloseAfter time.Duration
}

// DefaultPolicy is the priority table of the domain guide: P1 respond in
// 15 min and resolve in 4 h; P2 30 min / 24 h; P3 4 h / 72 h; P4 24 h /
// 5 days; impact x urgency as ITIL's common 3x3 matrix.
func DefaultPolicy() Policy {
	return Policy{
		Matrix: map[string]map[string]Priority{
			"high":   {"high": P1, "medium": P2, "low": P3},
			"medium": {"high": P2, "medium": P3, "low": P4},
			"low":    {"high": P3, "medium": P4, "low": P4},
		},
		Targets: map[Priority]Targets{
			P1: {Respond: 15 * time.Minute, Resolve: 4 * time.Hour},
			P2: {Respond: 30 * time.Minute, Resolve: 24 * time.Hour},
			P3: {Respond: 4 * time.Hour, Resolve: 72 * time.Hour},
			P4: {Respond: 24 * time.Hour, Resolve: 5 * 24 * time.Hour},
		},
		NearBreach: 0.8,
		CloseAfter: 24 * time.Hour,
	}
}

// Priority derives an alert's priority from its labels: an explicit
// "priority" label wins; then "impact" and "urgency" through the matrix;
// then the severity (critical P2, warning and info P4, otherwise P3).
func (p Policy) Priority(labels map[string]string) Priority {
	switch pr := Priority(strings.ToUpper(labels["priority"])); pr {
	case P1, P2, P3, P4:
		return pr
	}
	if row, ok := p.Matrix[strings.ToLower(labels["impact"])]; ok {
		if pr, ok := row[strings.ToLower(labels["urgency"])]; ok {
			return pr
		}
	}
	switch strings.ToLower(labels["severity"]) {
	case "critical":
		return P2
	case "warning", "info":
		return P4
	default:
		return P3
	}
}
