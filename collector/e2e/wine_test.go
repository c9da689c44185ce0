package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// Deadlines of the Wine tests. Idle, Wine creates a prefix in about 5 s,
// a command answers in under a second and the agent pushes within 3 s of
// its start; on a small machine under load each can take ten times that.
// They are generous bounds that turn a hang into a failure naming what
// hung, not timings.
const (
	// winePrefixDeadline: create a prefix (wineboot) and answer a first command.
	winePrefixDeadline = 3 * time.Minute
	// wineCommandDeadline: any one wine command (msiexec, reg, net, sc,
	// the agent's --version, --check-config, service ...).
	wineCommandDeadline = 2 * time.Minute
	// wineUpDeadline: an agent started under Wine pushes; its host is UP.
	wineUpDeadline = 2 * time.Minute
	// wineMetricsDeadline: the agent's collectors have run a few cycles.
	wineMetricsDeadline = time.Minute
	// wineGoodbyeDeadline: an agent told to stop says goodbye (SHUTDOWN)
	// and exits.
	wineGoodbyeDeadline = time.Minute
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

// winePrefix is a fresh Wine prefix (a Windows installation) for one
// test, with the ProcessPrng stand-in in system32 and a cmd.exe kept
// running until the test ends: Wine ends its services (services.exe and
// what it started) once the last Windows process of the prefix exits, so
// without it a service would be stopped between two commands.
type winePrefix struct {
	t                *testing.T
	wine, wineserver string
	dir              string // the test's directory, where commands run
	root             string // WINEPREFIX
	env              []string
	keep             *proc // wine cmd, reading commands from keepIn
	keepIn           io.WriteCloser
}

// newWinePrefix creates a prefix under dir and returns when its cmd.exe
// answers. Everything Wine started is killed when the test ends
// (wineserver -k).
func newWinePrefix(t *testing.T, dir string) *winePrefix {
	t.Helper()
	const optOut = "NINES_SKIP_WINE"
	w := &winePrefix{
		t:          t,
		wine:       peertest.Find(t, "wine", "wine wine64", optOut),
		wineserver: peertest.Find(t, "wineserver", "wine wine64", optOut),
		dir:        dir,
		root:       filepath.Join(dir, "prefix"),
	}
	gcc := peertest.Find(t, "x86_64-w64-mingw32-gcc", "gcc-mingw-w64-x86-64", optOut)
	w.env = append(os.Environ(), "WINEPREFIX="+w.root, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")

	write(t, filepath.Join(dir, "prng.c"), prngShim)
	dll := filepath.Join(dir, "bcryptprimitives.dll")
	if out, err := exec.Command(gcc, "-shared", "-O2", "-o", dll, filepath.Join(dir, "prng.c")).CombinedOutput(); err != nil {
		t.Fatalf("build the ProcessPrng stand-in: %v\n%s", err, out)
	}

	// The first command creates the prefix; an interactive cmd.exe reading
	// a pipe stays until the pipe closes or wineserver -k.
	w.keep = &proc{name: "wine cmd (keeps the prefix's services running)", cmd: exec.Command(w.wine, "cmd"), done: make(chan struct{})}
	w.keep.cmd.Env, w.keep.cmd.Dir = w.env, dir
	w.keep.cmd.Stdout, w.keep.cmd.Stderr = w.keep, w.keep
	in, err := w.keep.cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.keepIn = in
	if err := w.keep.cmd.Start(); err != nil {
		t.Fatalf("start wine cmd: %v", err)
	}
	go func() { _ = w.keep.cmd.Wait(); close(w.keep.done) }()
	t.Cleanup(w.close)
	// %OS% is expanded by cmd.exe only: the answer, not an echo of the line.
	if _, err := io.WriteString(in, "echo nines-ready-%OS%\r\n"); err != nil {
		t.Fatalf("write to wine cmd: %v", err)
	}
	eventually(t, winePrefixDeadline, "Wine prefix created and cmd.exe answering", func() (bool, string) {
		select {
		case <-w.keep.done:
			t.Fatalf("wine cmd exited: %v\n%s", w.keep.cmd.ProcessState, w.keep.output())
		default:
		}
		return strings.Contains(w.keep.output(), "nines-ready-Windows_NT"), w.keep.output()
	})
	// Go loads system DLLs from system32 only.
	data, err := os.ReadFile(dll)
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(w.root, "drive_c", "windows", "system32", "bcryptprimitives.dll"), string(data))
	return w
}

// close kills every process of the prefix, bounded: a Wine that does not
// answer fails the test instead of hanging it.
func (w *winePrefix) close() {
	t := w.t
	ctx, cancel := context.WithTimeout(context.Background(), wineCommandDeadline)
	defer cancel()
	k := exec.CommandContext(ctx, w.wineserver, "-k")
	k.Env, k.WaitDelay = w.env, 5*time.Second
	if out, err := k.CombinedOutput(); err != nil && ctx.Err() != nil {
		t.Errorf("wineserver -k: no exit within %s: %v\n%s", wineCommandDeadline, err, out)
	}
	_ = w.keepIn.Close()
	w.keep.stopWithin(t, syscall.SIGKILL, 10*time.Second)
	if t.Failed() {
		t.Logf("---- %s output ----\n%s", w.keep.name, w.keep.output())
	}
}

// run runs a Windows program (a name Wine knows, like msiexec, or the
// path of an .exe) in the test's directory and returns its output; after
// wineCommandDeadline it is killed and the error says so.
func (w *winePrefix) run(args ...string) (string, error) {
	return w.runWithin(wineCommandDeadline, args...)
}

func (w *winePrefix) runWithin(d time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	c := exec.CommandContext(ctx, w.wine, args...)
	c.Env, c.Dir = w.env, w.dir
	// A child left holding the output pipe must not hang the test either.
	c.WaitDelay = 5 * time.Second
	out, err := c.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("wine %s: no exit within %s (killed): %v", strings.Join(args, " "), d, err)
	}
	if err != nil {
		return string(out), fmt.Errorf("wine %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// start starts a Windows program as a process of the test, its output
// kept (and logged if the test fails).
func (w *winePrefix) start(name string, args ...string) *proc {
	w.t.Helper()
	p := &proc{name: name, cmd: exec.Command(w.wine, args...), done: make(chan struct{})}
	p.cmd.Env, p.cmd.Dir = w.env, w.dir
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		w.t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	w.t.Cleanup(func() {
		p.stop(w.t, syscall.SIGKILL)
		if w.t.Failed() {
			w.t.Logf("---- %s output ----\n%s", name, p.output())
		}
	})
	return p
}

var regValueLine = regexp.MustCompile(`^\s+(\S+)\s+(REG_[A-Z_]+)\s*(.*)$`)

// regQuery reads the values of a registry key with reg query: name to
// value as reg prints it (REG_DWORD as 0x2).
func (w *winePrefix) regQuery(key string) (map[string]string, error) {
	out, err := w.run("reg", "query", key)
	if err != nil {
		return nil, fmt.Errorf("%w\n%s", err, out)
	}
	vals := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if m := regValueLine.FindStringSubmatch(strings.TrimRight(l, "\r")); m != nil {
			vals[m[1]] = m[3]
		}
	}
	return vals, nil
}

// winPath is a Linux path as Wine's Z: drive shows it.
func winPath(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }

// buildWindowsAgent builds nines-agent.exe into dir as make cross does.
func buildWindowsAgent(t *testing.T, dir string) string {
	t.Helper()
	exe := filepath.Join(dir, "nines-agent.exe")
	b := exec.Command("go", "build", "-o", exe, "github.com/ninesmon/nines/agent/cmd/nines-agent")
	b.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := b.CombinedOutput(); err != nil {
		t.Fatalf("go build for windows: %v\n%s", err, out)
	}
	return exe
}

// skipUnlessWineCan skips where the test cannot run at all: -short, or
// not linux/amd64 (Wine runs the amd64 agent there).
func skipUnlessWineCan(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds both binaries and starts Wine")
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skip("Wine runs the amd64 agent on linux/amd64")
	}
}

// TestWindowsAgentUnderWine runs the Windows agent (built as make cross
// builds it) under Wine: --version, --check-config good and bad, then a
// run pushing to a real collector (the host UP, the system collector
// succeeding, windows_exporter names and a watched service's state on
// /metrics) and an interrupt giving a goodbye (SHUTDOWN, not DOWN); then
// the agent as a service of Wine's service manager: install (the start
// type Wine supports), start (UP), stop (goodbye: SHUTDOWN), uninstall.
// Wine cannot cover power and shutdown notices or the Event Log.
func TestWindowsAgentUnderWine(t *testing.T) {
	skipUnlessWineCan(t)
	dir := t.TempDir()
	exe := buildWindowsAgent(t, dir)
	w := newWinePrefix(t, dir)

	if out, err := w.run(exe, "--version"); err != nil || !strings.Contains(out, "windows/amd64") {
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
	if out, err := w.run(exe, "--config", "agent.yml", "--check-config"); err != nil {
		t.Fatalf("--check-config good: %v\n%s", err, out)
	}
	if out, err := w.run(exe, "--config", "bad.yml", "--check-config"); err == nil || !strings.Contains(out, "bogus_key") {
		t.Fatalf("--check-config bad: want an error naming bogus_key, got %v\n%s", err, out)
	}

	collector := start(t, "collector", binary(t, "collector/cmd/nines-collector"), "--config", filepath.Join(dir, "collector.yml"))
	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	api.waitReady(t, "collector")
	hostState := func(want string) func() (bool, string) { return stateIs(t, api, "wine-host", want) }
	metrics := func() string {
		var m string
		(client{base: "http://" + agentAddr}).get(t, "/metrics", &m)
		return m
	}

	// The agent's output (its log) is in the test log if anything fails.
	agent := w.start("wine agent", exe, "--config", "agent.yml")
	eventually(t, wineUpDeadline, "Windows host UP", hostState("up"))
	eventually(t, wineMetricsDeadline, "system, cpu, memory and filesystem collectors succeed", func() (bool, string) {
		m := metrics()
		for _, c := range []string{"system", "cpu", "memory", "filesystem"} {
			if !strings.Contains(m, `node_scrape_collector_success{collector="`+c+`"} 1`) {
				return false, c + " not succeeding: " + grepLines(m, "collector_success")
			}
		}
		return true, ""
	})
	// windows_exporter's names next to node_*'s (agent/wincompat), and a
	// service Wine runs, through the windows_services collector.
	eventually(t, wineMetricsDeadline, "windows_exporter names on /metrics", func() (bool, string) {
		m := metrics()
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
			if !strings.Contains(m, want) {
				return false, "missing " + want + ": " + grepLines(m, "windows_")
			}
		}
		return true, ""
	})

	// Wine turns SIGINT into the console's Ctrl-C event.
	agent.stopWithin(t, syscall.SIGINT, wineGoodbyeDeadline)
	eventually(t, wineGoodbyeDeadline, "Windows host SHUTDOWN after interrupt", hostState("shutdown"))

	// The same agent as a service of Wine's service manager: install
	// (automatic start; Wine refuses the delayed start, which must not fail
	// the install), start (the host UP again), stop (the goodbye through
	// the service handler, power.ServiceControl's Stop: SHUTDOWN),
	// uninstall. A service's output goes nowhere (Wine gives it
	// /dev/null), so failures show the service's state and /metrics.
	t.Cleanup(func() {
		if t.Failed() {
			out, err := w.runWithin(30*time.Second, "sc", "query", "nines-agent")
			t.Logf("---- sc query nines-agent: %v ----\n%s\n---- the agent's /metrics (push, collectors) ----\n%s",
				err, out, grepLines(metrics(), "nines_agent_push")+"\n"+grepLines(metrics(), "collector_success"))
		}
	})
	out, err := w.run(exe, "--config", filepath.Join(dir, "agent.yml"), "service", "install")
	if err != nil || !strings.Contains(out, "start type automatic") || !strings.Contains(out, "restart on failure after 10s") {
		t.Fatalf("service install: %v\n%s", err, out)
	}
	t.Log(strings.TrimSpace(out))
	if out, err := w.run(exe, "service", "start"); err != nil {
		t.Fatalf("service start: %v\n%s", err, out)
	}
	eventually(t, wineUpDeadline, "Windows host UP as a service", hostState("up"))
	if out, err := w.run(exe, "service", "status"); err != nil || !strings.Contains(out, "running") {
		t.Errorf("service status: %v\n%s", err, out)
	}
	if out, err := w.run(exe, "service", "stop"); err != nil {
		t.Fatalf("service stop: %v\n%s", err, out)
	}
	eventually(t, wineGoodbyeDeadline, "Windows host SHUTDOWN after service stop", hostState("shutdown"))
	if out, err := w.run(exe, "service", "uninstall"); err != nil {
		t.Errorf("service uninstall: %v\n%s", err, out)
	}
	// Deleted once its process has exited.
	eventually(t, wineGoodbyeDeadline, "service gone after uninstall", func() (bool, string) {
		out, err := w.run("sc", "query", "nines-agent")
		return err != nil, "sc query still finds it:\n" + out
	})
	collector.stop(t, syscall.SIGTERM)
}
