package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// TestMSIUnderWine installs the agent's MSI (make msi: scripts/msi.sh,
// wixl) under Wine as an administrator pushes it to desktops, silently
// with its properties: msiexec /i /qn COLLECTOR_URL=... TOKEN_FILE=...
// LABELS=... LISTEN_ADDRESS=..., into a fresh prefix. The installer's
// custom action (the agent's "service configure") runs. It reads the
// service back from the registry (its command line, automatic start, own
// process, LocalSystem), the Event Log source and the installed file;
// the service, started by the install, pushes to a real collector (UP,
// with the labels); net stop gives the goodbye (SHUTDOWN), net start UP
// again; msiexec /x /qn stops it with a goodbye and removes the service
// and its registry keys; installed again and stopped, msiexec /x removes
// the file too.
func TestMSIUnderWine(t *testing.T) {
	skipUnlessWineCan(t)
	peertest.Find(t, "wixl", "wixl", "NINES_SKIP_MSI")
	dir := t.TempDir()
	exe := buildWindowsAgent(t, dir)
	msi := filepath.Join(dir, "nines-agent.msi")
	ctx, cancel := context.WithTimeout(context.Background(), wineCommandDeadline)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "../../scripts/msi.sh", exe, "v1.4.2", msi).CombinedOutput(); err != nil {
		t.Fatalf("scripts/msi.sh: %v\n%s", err, out)
	}
	w := newWinePrefix(t, dir)

	collectorAddr, agentAddr := freeAddr(t), freeAddr(t)
	writeCollector(t, dir, collectorAddr, `
availability:
  down_after_intervals: 3
  default_push_interval: 15s
  startup_grace: 1s
  check_interval: 100ms
`)
	collector := start(t, "collector", binary(t, "collector/cmd/nines-collector"), "--config", filepath.Join(dir, "collector.yml"))
	api := client{base: "http://" + collectorAddr, token: e2eAdminToken}
	api.waitReady(t, "collector")

	// The token where an administrator would put it before the install.
	tokenDir := filepath.Join(w.root, "drive_c", "ProgramData", "Nines")
	if err := os.MkdirAll(tokenDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(tokenDir, "agent.token"), e2eAgentToken+"\n")
	const tokenFile = `C:\ProgramData\Nines\agent.token`

	installLog := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(w.root, "drive_c", name))
		return string(b)
	}
	metrics := func() string {
		var m string
		(client{base: "http://" + agentAddr}).get(t, "/metrics", &m)
		return m
	}
	// A service's output goes nowhere (Wine gives it /dev/null): failures
	// show the service's state, its /metrics and msiexec's logs.
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		out, err := w.runWithin(30*time.Second, "sc", "query", "nines-agent")
		t.Logf("---- sc query nines-agent: %v ----\n%s", err, out)
		m := metrics()
		t.Logf("---- the agent's /metrics (push, collectors) ----\n%s\n%s", grepLines(m, "nines_agent_push"), grepLines(m, "collector_success"))
		t.Logf("---- msiexec /i log ----\n%s\n---- msiexec /x log ----\n%s", installLog("install.log"), installLog("uninstall.log"))
	})

	out, err := w.run("msiexec", "/i", winPath(msi), "/qn", "/l*v", `C:\install.log`,
		"COLLECTOR_URL=http://"+collectorAddr, "TOKEN_FILE="+tokenFile, "LABELS=site=paris,role=desk", "LISTEN_ADDRESS="+agentAddr)
	if err != nil {
		t.Fatalf("msiexec /i: %v\n%s", err, out)
	}
	// The custom action, the installed agent's "service configure", ran
	// and succeeded (Return="check": a failure fails the install). Wine
	// gives it msiexec's output; it accepts the restart on failure (and
	// ignores it) and refuses the delayed start, which the agent notes.
	if log := installLog("install.log"); !strings.Contains(log, "ConfigureService. Return value 1.") {
		t.Errorf("install log: no successful ConfigureService action")
	}
	for _, want := range []string{"nines-agent: restart on failure after 10s", "nines-agent: start type automatic (delayed start not supported here", "nines-agent: service configure done"} {
		if !strings.Contains(out, want) {
			t.Errorf("msiexec /i output: no %q\n%s", want, out)
		}
	}

	const svcKey = `HKLM\System\CurrentControlSet\Services\nines-agent`
	svc, err := w.regQuery(svcKey)
	if err != nil {
		t.Fatalf("the service's registry key: %v", err)
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}
	// The properties formatted into the service's command line; the empty
	// ones (CONFIG_FILE, TOKEN) are empty flags, which the agent ignores.
	check("ImagePath", svc["ImagePath"], fmt.Sprintf(`C:\Program Files\nines-agent\nines-agent.exe --config "" --push.url "http://%s" `+
		`--push.token-file "%s" --push.token "" --labels "site=paris,role=desk" --web.listen-address "%s"`, collectorAddr, tokenFile, agentAddr))
	check("Start (SERVICE_AUTO_START)", svc["Start"], "0x2")
	check("Type (SERVICE_WIN32_OWN_PROCESS)", svc["Type"], "0x10")
	check("ErrorControl (SERVICE_ERROR_NORMAL)", svc["ErrorControl"], "0x1")
	check("ObjectName", svc["ObjectName"], "LocalSystem")
	check("DisplayName", svc["DisplayName"], "Nines agent")
	const eventKey = `HKLM\System\CurrentControlSet\Services\EventLog\Application\nines-agent`
	ev, err := w.regQuery(eventKey)
	if err != nil {
		t.Errorf("the Event Log source's registry key: %v", err)
	}
	check("Event Log TypesSupported", ev["TypesSupported"], "0x7")
	check("Event Log CustomSource", ev["CustomSource"], "0x1")
	check("Event Log EventMessageFile", strings.ToLower(ev["EventMessageFile"]), `c:\windows\system32\eventcreate.exe`)
	installed := filepath.Join(w.root, "drive_c", "Program Files", "nines-agent", "nines-agent.exe")
	got, err := os.ReadFile(installed)
	if err != nil {
		t.Fatalf("installed agent: %v", err)
	}
	if want, _ := os.ReadFile(exe); !bytes.Equal(got, want) {
		t.Errorf("%s: not the agent the MSI was built with (%d bytes, want %d)", installed, len(got), len(want))
	}

	// The install started the service (ServiceControl Start="install").
	// Its hostname is the machine's: find it by the LABELS it was given.
	var host string
	eventually(t, wineUpDeadline, "the installed service's host UP with the MSI's labels", func() (bool, string) {
		var resp struct{ Data []fullTarget }
		api.get(t, "/api/v1/targets", &resp)
		for _, tg := range resp.Data {
			if tg.Labels["site"] == "paris" && tg.Labels["role"] == "desk" {
				host = tg.Name
				return tg.State == "up", fmt.Sprintf("%+v", tg)
			}
		}
		return false, fmt.Sprintf("no target labelled site=paris,role=desk: %+v", resp.Data)
	})
	eventually(t, wineMetricsDeadline, "windows_exporter names on LISTEN_ADDRESS "+agentAddr, func() (bool, string) {
		m := metrics()
		return strings.Contains(m, "windows_cs_physical_memory_bytes "), "no windows_cs_physical_memory_bytes: " + grepLines(m, "windows_")
	})
	hostState := func(want string) func() (bool, string) { return stateIs(t, api, host, want) }

	scState := func(want string) {
		t.Helper()
		out, err := w.run("sc", "query", "nines-agent")
		if err != nil || !strings.Contains(out, want) {
			t.Errorf("sc query nines-agent: %v, want %s\n%s", err, want, out)
		}
	}
	if out, err := w.run("net", "stop", "nines-agent"); err != nil {
		t.Fatalf("net stop: %v\n%s", err, out)
	}
	eventually(t, wineGoodbyeDeadline, "host SHUTDOWN after net stop", hostState("shutdown"))
	scState("STOPPED")
	if out, err := w.run("net", "start", "nines-agent"); err != nil {
		t.Fatalf("net start: %v\n%s", err, out)
	}
	eventually(t, wineUpDeadline, "host UP after net start", hostState("up"))
	scState("RUNNING")

	if out, err := w.run("msiexec", "/x", winPath(msi), "/qn", "/l*v", `C:\uninstall.log`); err != nil {
		t.Fatalf("msiexec /x: %v\n%s", err, out)
	}
	eventually(t, wineGoodbyeDeadline, "host SHUTDOWN after uninstall", hostState("shutdown"))
	// A service whose process is still exiting is only marked for
	// deletion: removal is a state reached shortly after msiexec returns.
	removed := func(file bool) func() (bool, string) {
		return func() (bool, string) {
			if vals, err := w.regQuery(svcKey); err == nil {
				return false, fmt.Sprintf("the service's registry key remains: %v", vals)
			}
			if out, err := w.run("sc", "query", "nines-agent"); err == nil {
				return false, "sc query still finds the service:\n" + out
			}
			if vals, err := w.regQuery(eventKey); err == nil {
				return false, fmt.Sprintf("the Event Log source remains: %v", vals)
			}
			if _, err := os.Stat(installed); file && !os.IsNotExist(err) {
				return false, fmt.Sprintf("%s remains: %v", installed, err)
			}
			return true, ""
		}
	}
	eventually(t, wineGoodbyeDeadline, "service and registry keys removed after uninstall", removed(false))
	// The file too, unless the agent's process was still exiting when
	// RemoveFiles ran: Wine's msi then cannot delete it (in use) and
	// leaves it (Windows would delete it at the next boot). So the
	// removal is checked again, deterministically, for an installed
	// service that is stopped (its process gone) when msiexec /x runs.
	if _, err := os.Stat(installed); err == nil {
		t.Logf("%s left by the uninstall of a running service (in use while the agent exited)", installed)
	}
	if out, err := w.run("msiexec", "/i", winPath(msi), "/qn", "COLLECTOR_URL=http://"+collectorAddr, "TOKEN_FILE="+tokenFile,
		"LABELS=site=paris,role=desk", "LISTEN_ADDRESS="+agentAddr); err != nil {
		t.Fatalf("msiexec /i again: %v\n%s", err, out)
	}
	eventually(t, wineUpDeadline, "host UP after the second install", hostState("up"))
	if pids := winePIDs(w.root, `nines-agent\nines-agent.exe`); len(pids) == 0 {
		t.Fatalf("host UP but no process of %s found in /proc", installed)
	}
	if out, err := w.run("net", "stop", "nines-agent"); err != nil {
		t.Fatalf("net stop: %v\n%s", err, out)
	}
	eventually(t, wineGoodbyeDeadline, "host SHUTDOWN after net stop", hostState("shutdown"))
	eventually(t, wineGoodbyeDeadline, "the stopped service's process gone", func() (bool, string) {
		pids := winePIDs(w.root, `nines-agent\nines-agent.exe`)
		return len(pids) == 0, fmt.Sprintf("still running: %v", pids)
	})
	if out, err := w.run("msiexec", "/x", winPath(msi), "/qn", "/l*v", `C:\uninstall.log`); err != nil {
		t.Fatalf("msiexec /x of the stopped service: %v\n%s", err, out)
	}
	eventually(t, wineGoodbyeDeadline, "service, registry keys and file removed after uninstall", removed(true))
	collector.stop(t, syscall.SIGTERM)
}

// winePIDs lists the processes of the Wine prefix root whose command line
// contains substr.
func winePIDs(root, substr string) []string {
	var pids []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), substr) {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err == nil && bytes.Contains(env, []byte("\x00WINEPREFIX="+root+"\x00")) {
			pids = append(pids, d.Name())
		}
	}
	return pids
}
