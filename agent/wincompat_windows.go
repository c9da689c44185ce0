package agent

import (
	"github.com/ninesmon/nines/agent/host"
	"github.com/ninesmon/nines/agent/wincompat"
)

// exposed is the batch /metrics serves: on Windows the collected samples
// and their windows_exporter names (package wincompat); the pushed batch
// keeps only the agent's own names.
func exposed(b *host.Batch) *host.Batch {
	n := len(b.Samples)
	return &host.Batch{Time: b.Time, Samples: wincompat.Append(b.Samples[:n:n], b.Samples)}
}
