package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// prngShim is a stand-in bcryptprimitives.dll: Go 1.26's runtime needs
// ProcessPrng, which Wine 8.0 lacks; it forwards to
// advapi32.SystemFunction036 (RtlGenRandom).
const prngShim = `#include <windows.h>
typedef BOOLEAN (WINAPI *genfn)(PVOID, ULONG);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	static genfn fn;
	if (!fn) fn = (genfn)GetProcAddress(LoadLibraryA("advapi32.dll"), "SystemFunction036");
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!fn || !fn(data, n)) return FALSE;
		data += n; len -= n;
	}
	return TRUE;
}
`

// TestWindowsAgentUnderWine runs the Windows agent (built as make cross
// builds it) under Wine: --version, --check-config good and bad, then a
// run pushing to a real collector (the host UP, the system collector
// succeeding, windows_exporter names and a watched service's state on
// /metrics) and an interrupt giving a goodbye (SHUTDOWN, not DOWN); then
// the agent as a service of Wine's service manager: install (the start
// type Wine supports), start (UP), stop (goodbye: SHUTDOWN), uninstall.
// Wine cannot cover power and shutdown notices or the Event Log.
func TestWindowsAgentUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both binaries and starts Wine")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("Wine runs the amd64 agent on linux/amd64")
	}
	const optOut = "NINES_SKIP_WINE"
	wine := peertest.Find(t, "wine", "wine wine64", optOut)
	wineserver := peertest.Find(t, "wineserver", "wine wine64", optOut)
	gcc := peertest.Find(t, "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64", optOut)

	dir := t.TempDir()
	prefix := filepath.Join(dir, "prefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
	t.Cleanup(func() {
		k := exec.Command(wineserver, "-k")
		k.Env = env
		_ = k.Run()
	})

	exe := filepath.Join(dir, "nines-agent.exe")
	b := exec.Command("go", "build", "-o", exe, "github.com/ninesmon/nines/agent/cmd/nines-agent")
	b.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := b.CombinedOutput(); err != nil {
		t.Fatalf("go build for windows: %v\n%s", err, out)
	}
	write(t, filepath.Join(dir, "prng.c"), prngShim)
	dll := filepath.Join(dir, "bcryptprimitives.dll")
	if out, err := exec.Command(gcc, "-shared", "-O2", "-o", dll, filepath.Join(dir, "prng.c")).CombinedOutput(); err != nil {
		t.Fatalf("build the ProcessPrng stand-in: %v\n%s", err, out)
	}

	winerun := func(args ...string) (string, error) {
		c := exec.Command(wine, append([]string{exe}, args...)...)
		c.Env, c.Dir = env, dir
		out, err := c.CombinedOutput()
		return string(out), err
	}
	// The first run creates the prefix (about 10 s here); Go loads
	// system DLLs from system32 only, so the stand-in goes there.
	boot := exec.Command(wine, "cmd", "/c", "exit")
	boot.Env = env
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("create wine prefix: %v\n%s", err, out)
	}
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(filepath.Join(sys32, "bcryptprimitives.dll")); err != nil {
		data, err := os.ReadFile(dll)
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(sys32, "bcryptprimitives.dll"), string(data))
	}

	if out, err := winerun("--version"); err != nil || !strings.Contains(out, "windows/amd64") {
		t.Fatalf("--version: %v\n%s", err, out)
	}

	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	writeCollector(t, dir, collectorAddr, `
availability:
  down_after_intervals: 3
  default_push_interval: 1s
  startup_grace: 1s
  check_interval: 100ms
`)
	write(t, filepath.Join(dir, "agent.yml"), fmt.Sprintf(`
interval: 1s
hostname: wine-host
web: {listen_address: %q}
push:
  urls: ["http://%s"]
  token_file: agent.token
  spool_dir: spool
windows_services: [PlugPlay]
`, agentAddr, collectorAddr))
	write(t, filepath.Join(dir, "bad.yml"), "interval: 1s\nbogus_key: 1\n")
	if out, err := winerun("--config", "agent.yml", "--check-config"); err != nil {
		t.Fatalf("--check-config good: %v\n%s", err, out)
	}
	if out, err := winerun("--config", "bad.yml", "--check-config"); err == nil || !strings.Contains(out, "bogus_key") {
		t.Fatalf("--check-config bad: want an error naming bogus_key, got %v\n%s", err, out)
	}

	collector := start(t, "collector", binary(t, "collector/cmd/nines-collector"), "--config", filepath.Join(dir, "collector.yml"))
	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	api.waitReady(t, "collector")
	hostState := func(want string) func() (bool, string) { return stateIs(t, api, "wine-host", want) }

	agent := &proc{name: "wine agent", cmd: exec.Command(wine, exe, "--config", "agent.yml"), done: make(chan struct{})}
	agent.cmd.Env, agent.cmd.Dir = env, dir
	agent.cmd.Stdout, agent.cmd.Stderr = agent, agent
	if err := agent.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = agent.cmd.Wait(); close(agent.done) }()
	t.Cleanup(func() {
		agent.stop(t, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("---- wine agent output ----\n%s", agent.output())
		}
	})
	eventually(t, 60*time.Second, "Windows host UP", hostState("up"))
	eventually(t, 30*time.Second, "system collector succeeds", func() (bool, string) {
		var metrics string
		(client{base: "http://" + agentAddr}).get(t, "/metrics", &metrics)
		for _, c := range []string{"system", "cpu", "memory", "filesystem"} {
			if !strings.Contains(metrics, `node_scrape_collector_success{collector="`+c+`"} 1`) {
				return false, c + " not succeeding: " + grepLines(metrics, "collector_success")
			}
		}
		return true, ""
	})
	// windows_exporter's names next to node_*'s (agent/wincompat), and a
	// service Wine runs, through the windows_services collector.
	eventually(t, 30*time.Second, "windows_exporter names on /metrics", func() (bool, string) {
		var metrics string
		(client{base: "http://" + agentAddr}).get(t, "/metrics", &metrics)
		for _, want := range []string{
			`windows_cpu_time_total{core="0,0",mode="idle"} `,
			"windows_cs_physical_memory_bytes ",
			"windows_os_physical_memory_free_bytes ",
			`windows_logical_disk_size_bytes{volume="C:"} `,
			"windows_system_system_up_time ",
			`windows_service_state{name="PlugPlay",state="running"} 1`,
			`node_scrape_collector_success{collector="windows_services"} 1`,
			"node_memory_MemTotal_bytes ",
		} {
			if !strings.Contains(metrics, want) {
				return false, "missing " + want + ": " + grepLines(metrics, "windows_")
			}
		}
		return true, ""
	})

	// Wine turns SIGINT into the console's Ctrl-C event.
	agent.stop(t, syscall.SIGINT)
	eventually(t, 10*time.Second, "Windows host SHUTDOWN after interrupt", hostState("shutdown"))

	// The same agent as a service of Wine's service manager: install
	// (automatic start; Wine refuses the delayed start, which must not fail
	// the install), start (the host UP again), stop (the goodbye through
	// the service handler, power.ServiceControl's Stop: SHUTDOWN),
	// uninstall.
	out, err := winerun("--config", filepath.Join(dir, "agent.yml"), "service", "install")
	if err != nil || !strings.Contains(out, "start type automatic") {
		t.Fatalf("service install: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
	// Wine's service manager starts automatic services by itself (real
	// Windows waits for the next boot), so the start may find it running.
	if out, err := winerun("service", "start"); err != nil && !strings.Contains(out, "Service already running") {
		t.Fatalf("service start: %v\n%s", err, out)
	}
	eventually(t, 60*time.Second, "Windows host UP as a service", hostState("up"))
	if out, err := winerun("service", "status"); err != nil || !strings.Contains(out, "running") {
		t.Errorf("service status: %v\n%s", err, out)
	}
	if out, err := winerun("service", "stop"); err != nil {
		t.Fatalf("service stop: %v\n%s", err, out)
	}
	eventually(t, 15*time.Second, "Windows host SHUTDOWN after service stop", hostState("shutdown"))
	if out, err := winerun("service", "uninstall"); err != nil {
		t.Errorf("service uninstall: %v\n%s", err, out)
	}
	collector.stop(t, syscall.SIGTERM)
}
