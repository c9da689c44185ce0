//go:build !windows

package agent

import "github.com/ninesmon/nines/agent/host"

// exposed is the batch /metrics serves: the collected one (see
// wincompat_windows.go for Windows).
func exposed(b *host.Batch) *host.Batch { return b }
