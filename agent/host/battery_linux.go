package host

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v3/common"
)

// readBatteries reads /sys/class/power_supply (under the fixture root in
// tests, as gopsutil does for /sys).
func readBatteries(ctx context.Context) ([]Battery, error) {
	root := "/sys"
	if env, ok := ctx.Value(common.EnvKey).(common.EnvMap); ok {
		if v, ok := env[common.HostSysEnvKey]; ok {
			root = v
		}
	}
	if v := os.Getenv("HOST_SYS"); v != "" && root == "/sys" {
		root = v
	}
	dirs, err := filepath.Glob(filepath.Join(root, "class", "power_supply", "*"))
	if err != nil {
		return nil, err
	}
	var out []Battery
	for _, d := range dirs {
		read := func(f string) string {
			b, _ := os.ReadFile(filepath.Join(d, f))
			return strings.TrimSpace(string(b))
		}
		if read("type") != "Battery" {
			continue
		}
		capacity, err := strconv.ParseFloat(read("capacity"), 64)
		if err != nil {
			continue
		}
		out = append(out, Battery{Name: filepath.Base(d), Capacity: capacity, Present: read("present") == "1", Status: read("status")})
	}
	return out, nil
}
