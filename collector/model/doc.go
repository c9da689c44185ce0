// Package model holds the model-based tests of the collector's engine:
// one driver runs the real availability tracker, recent-sample window,
// rule evaluation, incident manager, outbox, dispatcher and SQLite store
// on a simulated clock through random event scripts (agents with and
// without labels pushing, falling silent, saying goodbye, coming back;
// the collector stopped cleanly or killed and started again over the same
// store; maintenance windows; a receiver failing for a while; a ticket
// closed by hand), and a deliberately simple oracle, written from the
// documented semantics and not from the code, says what must hold: one
// outage, one incident, one ticket; resolved when the host is back; the
// durable state history and the availability figures as the oracle
// computes them.
//
// `go test ./collector/model` runs as many scripts as fit in
// NINES_MODEL_BUDGET (default 90s; 5s under the race detector, and make
// test runs it once more without); a failure prints its seed and the
// shortest script that still fails, and NINES_SEED=<seed> replays one.
package model
