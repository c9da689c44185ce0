package host

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v3/common"
)

// Threads reads the number of kernel scheduling entities, every thread of
// every process, from /proc/loadavg's fourth field ("running/total").
func (SystemPS) Threads(ctx context.Context) (uint64, error) {
	root := "/proc"
	if env, ok := ctx.Value(common.EnvKey).(common.EnvMap); ok && env[common.HostProcEnvKey] != "" {
		root = env[common.HostProcEnvKey]
	} else if v := os.Getenv("HOST_PROC"); v != "" {
		root = v
	}
	path := filepath.Join(root, "loadavg")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) < 4 {
		return 0, fmt.Errorf("%s: want 5 fields, got %q", path, b)
	}
	_, total, ok := strings.Cut(fields[3], "/")
	n, err := strconv.ParseUint(total, 10, 64)
	if !ok || err != nil {
		return 0, fmt.Errorf("%s: bad running/total field %q", path, fields[3])
	}
	return n, nil
}
