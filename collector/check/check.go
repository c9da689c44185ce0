// Package check runs active checks from the collector itself, for things
// no agent runs on: TCP connect, HTTP(S) (status, body, certificate
// expiry), DNS and ICMP ping. Each check runs on its own interval with a
// timeout shorter than the interval; a check still running when the next
// is due is skipped and counted, never stacked.
package check

import "github.com/ninesmon/nines/internal/probe"

// Spec, Result and Run are the probe package's: one check, run once.
type (
	Spec     = probe.Spec
	HTTPSpec = probe.HTTPSpec
	DNSSpec  = probe.DNSSpec
	Result   = probe.Result
)

// Run runs s once with its timeout.
var Run = probe.Run
