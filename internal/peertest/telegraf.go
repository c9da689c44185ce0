package peertest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TelegrafVersion is the Telegraf release the tests build from the Go
// module proxy (the newest 1.39.x it serves).
const TelegrafVersion = "v1.39.3"

// TelegrafOptOut is the variable that skips the tests running Telegraf.
const TelegrafOptOut = "NINES_SKIP_TELEGRAF"

// telegrafBuildTimeout bounds a build: a cold module cache downloads
// some 300 modules first.
const telegrafBuildTimeout = 15 * time.Minute

// Telegraf returns the path of a Telegraf TelegrafVersion built with
// the given build tags (e.g. "custom,inputs.cpu,outputs.influxdb": only
// the plugins named), building it first when it is not cached. The
// build runs `go install` of github.com/influxdata/telegraf/cmd/telegraf
// from the Go module proxy into the user's cache directory
// (os.UserCacheDir()/nines/telegraf/<version>-<tags hash>/), where later
// runs find it: the first build takes a minute or two with a warm module
// cache, several minutes with a cold one. When the build fails (no
// network, a module missing from the proxy), the test fails with the go
// command's output and the name of the opt-out variable; with
// NINES_SKIP_TELEGRAF=1 the test is skipped before anything is built.
func Telegraf(t testing.TB, tags string) string {
	t.Helper()
	if os.Getenv(TelegrafOptOut) == "1" {
		t.Skipf("Telegraf test skipped because %s=1", TelegrafOptOut)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		Missing(t, "no cache directory to build Telegraf into: "+err.Error(), "set HOME or XDG_CACHE_HOME", TelegrafOptOut)
	}
	sum := sha256.Sum256([]byte(tags + "\x00" + runtime.GOOS + "/" + runtime.GOARCH))
	dir := filepath.Join(cache, "nines", "telegraf", TelegrafVersion+"-"+hex.EncodeToString(sum[:6]))
	bin := filepath.Join(dir, "telegraf")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		Missing(t, "no go command on PATH to build Telegraf with", "put Go's bin directory on PATH", TelegrafOptOut)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Into a directory of its own, renamed when complete: a build that
	// is interrupted, or runs beside another, leaves no half binary.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), telegrafBuildTimeout)
	defer cancel()
	pkg := "github.com/influxdata/telegraf/cmd/telegraf@" + TelegrafVersion
	cmd := exec.CommandContext(ctx, goBin, "install", "-trimpath", "-tags", tags, pkg)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	t.Logf("building Telegraf %s (tags %s) into %s; the first build takes minutes", TelegrafVersion, tags, dir)
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if lines := strings.Split(strings.TrimSpace(tail), "\n"); len(lines) > 40 {
			tail = strings.Join(lines[len(lines)-40:], "\n")
		}
		t.Logf("%s:\n%s", cmd, tail)
		Missing(t, "cannot build Telegraf "+TelegrafVersion+" from the Go module proxy (go install, output above): "+err.Error(),
			"give the tests access to the Go module proxy (GOPROXY)", TelegrafOptOut)
	}
	if err := os.Rename(filepath.Join(tmp, "telegraf"), bin); err != nil {
		t.Fatal(err)
	}
	t.Logf("built Telegraf in %s", time.Since(start).Round(time.Second))
	return bin
}
