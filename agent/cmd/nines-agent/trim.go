package main

import (
	"context"
	"errors"
	"log/slog"
	"runtime/debug"

	"github.com/ninesmon/nines/agent"
	"github.com/ninesmon/nines/agent/internal/exetrim"
)

// settleMemory gives back, once the agent has started (its second
// collection done), the memory that only start-up used:
//   - the heap's garbage from parsing the configuration and building the
//     collectors (debug.FreeOSMemory: one collection, pages returned);
//   - with trimCode, the resident pages of the agent's own code and
//     read-only data: fault-around made nearly all of the binary resident
//     at start-up, though most of it (flag, YAML and TLS set-up, error
//     paths) never runs again. The pages still in use fault back in from
//     the page cache. In bench/agent.sh an agent pushing every second
//     went from 11.4 to 10.3 MB, its CPU time did not move
//     (bench/RESULTS.md).
func settleMemory(ctx context.Context, a *agent.Agent, logger *slog.Logger, trimCode bool) {
	select {
	case <-ctx.Done():
		return
	case <-a.Settled():
	}
	debug.FreeOSMemory()
	if !trimCode {
		return
	}
	res, err := exetrim.Trim()
	switch {
	case errors.Is(err, exetrim.ErrUnsupported):
	case err != nil:
		logger.Warn("cannot trim the resident pages of the agent's code", "err", err)
	default:
		logger.Debug("trimmed the resident pages of the agent's code", "mappings", res.Mappings, "bytes", res.Bytes, "skipped", res.Skipped)
	}
}
