// Package e2e holds end-to-end tests that build nines-agent and
// nines-collector and run them as real processes on loopback ports.
package e2e
