package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ninesmon/nines/internal/peertest"
)

// TestMSI builds the Windows installer as make msi does (scripts/msi.sh,
// wixl) and reads its tables back with msiinfo: the agent's file, the
// service (automatic start, own process, LocalSystem, its command line made
// of the silent-install properties), the service control events, the
// custom action that sets restart on failure and the delayed start, the
// properties and the Event Log source. The service's command line, as
// msiexec formats it, is then given to the agent with --check-config,
// with the properties empty and set, so the installer cannot pass flags
// the agent refuses. The installation itself (msiexec) is run under Wine
// by collector/e2e's TestMSIUnderWine.
func TestMSI(t *testing.T) {
	const optOut = "NINES_SKIP_MSI"
	peertest.Find(t, "wixl", "wixl", optOut)
	msiinfo := peertest.Find(t, "msiinfo", "msitools", optOut)

	dir := t.TempDir()
	exe := filepath.Join(dir, "nines-agent.exe")
	goBuild(t, exe, "GOOS=windows", "GOARCH=amd64")
	msi := filepath.Join(dir, "nines-agent.msi")
	if out, err := exec.Command("../scripts/msi.sh", exe, "v1.4.2-7-gdeadbee", msi).CombinedOutput(); err != nil {
		t.Fatalf("scripts/msi.sh: %v\n%s", err, out)
	}
	table := func(name string) []map[string]string {
		t.Helper()
		out, err := exec.Command(msiinfo, "export", msi, name).Output()
		if err != nil {
			t.Fatalf("msiinfo export %s: %v", name, err)
		}
		// Tab-separated: column names, column types, the table's key, rows.
		lines := strings.Split(strings.TrimRight(string(out), "\r\n"), "\n")
		if len(lines) < 3 {
			t.Fatalf("table %s: %q", name, out)
		}
		cols := strings.Split(strings.TrimRight(lines[0], "\r"), "\t")
		var rows []map[string]string
		for _, l := range lines[3:] {
			row := map[string]string{}
			for i, v := range strings.Split(strings.TrimRight(l, "\r"), "\t") {
				if i < len(cols) {
					row[cols[i]] = v
				}
			}
			rows = append(rows, row)
		}
		return rows
	}
	one := func(name string) map[string]string {
		t.Helper()
		rows := table(name)
		if len(rows) != 1 {
			t.Fatalf("table %s: got %d rows, want 1: %v", name, len(rows), rows)
		}
		return rows[0]
	}
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("%s: got %q, want %q", what, got, want)
		}
	}

	props := map[string]string{}
	for _, r := range table("Property") {
		props[r["Property"]] = r["Value"]
	}
	check("ProductVersion", props["ProductVersion"], "1.4.2")
	check("ProductName", props["ProductName"], "Nines agent")
	check("ALLUSERS (per machine)", props["ALLUSERS"], "1")
	check("LISTEN_ADDRESS default", props["LISTEN_ADDRESS"], "127.0.0.1:9991")
	check("MsiHiddenProperties", props["MsiHiddenProperties"], "TOKEN")
	if props["UpgradeCode"] == "" {
		t.Error("no UpgradeCode: upgrades would install side by side")
	}

	file := one("File")
	check("File name", file["FileName"], "nines-agent.exe")
	st, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	check("File size", file["FileSize"], strconv.FormatInt(st.Size(), 10))
	comp := one("Component")
	check("Component directory", comp["Directory_"], "INSTALLDIR")
	check("Component key path", comp["KeyPath"], file["File"])
	dirs := map[string]map[string]string{}
	for _, r := range table("Directory") {
		dirs[r["Directory"]] = r
	}
	check("INSTALLDIR parent", dirs["INSTALLDIR"]["Directory_Parent"], "ProgramFiles64Folder")
	check("INSTALLDIR name", dirs["INSTALLDIR"]["DefaultDir"], "nines-agent")

	svc := one("ServiceInstall")
	check("service name", svc["Name"], "nines-agent")
	check("service type (SERVICE_WIN32_OWN_PROCESS)", svc["ServiceType"], "16")
	check("start type (SERVICE_AUTO_START)", svc["StartType"], "2")
	check("error control (SERVICE_ERROR_NORMAL)", svc["ErrorControl"], "1")
	check("account", svc["StartName"], "LocalSystem")
	check("service component", svc["Component_"], comp["Component"])
	args := svc["Arguments"]
	for flag, prop := range map[string]string{
		"--config": "CONFIG_FILE", "--push.url": "COLLECTOR_URL", "--push.token-file": "TOKEN_FILE",
		"--push.token": "TOKEN", "--labels": "LABELS", "--web.listen-address": "LISTEN_ADDRESS",
	} {
		if !strings.Contains(args, flag+` "[`+prop+`]"`) {
			t.Errorf("service arguments %q: want %s \"[%s]\"", args, flag, prop)
		}
	}

	ctl := one("ServiceControl")
	check("controlled service", ctl["Name"], "nines-agent")
	// msidbServiceControlEvent: start on install 0x1, stop on install 0x2
	// (an upgrade), stop on uninstall 0x20, delete on uninstall 0x80.
	check("service control events", ctl["Event"], strconv.Itoa(0x1|0x2|0x20|0x80))
	check("wait for the service", ctl["Wait"], "1")

	seq := map[string]map[string]string{}
	for _, r := range table("InstallExecuteSequence") {
		seq[r["Action"]] = r
	}
	for _, a := range []string{"InstallFiles", "InstallServices", "ConfigureService", "StartServices", "StopServices", "DeleteServices", "WriteRegistryValues", "RemoveExistingProducts"} {
		if seq[a] == nil {
			t.Errorf("InstallExecuteSequence lacks %s", a)
		}
	}

	// Restart on failure and the delayed start, which wixl cannot put in
	// the tables: the installed agent's "service configure", once the
	// service exists and before it starts, as LocalSystem, not on
	// uninstall.
	ca := one("CustomAction")
	check("custom action", ca["Action"], "ConfigureService")
	// msidbCustomActionType: an .exe from the File table (2+16), deferred
	// (0x400), not impersonated (0x800), its exit code checked (no 0x40).
	check("custom action type", ca["Type"], strconv.Itoa(2+16+0x400+0x800))
	check("custom action file", ca["Source"], file["File"])
	check("custom action command", ca["Target"], "service configure")
	check("custom action condition", seq["ConfigureService"]["Condition"], `NOT REMOVE="ALL"`)
	at := func(a string) int { n, _ := strconv.Atoi(seq[a]["Sequence"]); return n }
	if !(at("InstallServices") < at("ConfigureService") && at("ConfigureService") < at("StartServices")) {
		t.Errorf("ConfigureService at %d: want between InstallServices (%d) and StartServices (%d)",
			at("ConfigureService"), at("InstallServices"), at("StartServices"))
	}

	reg := map[string]string{}
	for _, r := range table("Registry") {
		if r["Root"] == "2" && strings.HasPrefix(r["Key"], `SYSTEM\CurrentControlSet\Services\EventLog\Application\nines-agent`) {
			reg[r["Name"]] = r["Value"]
		}
	}
	check("Event Log message file", reg["EventMessageFile"], `[System64Folder]EventCreate.exe`)
	check("Event Log types", reg["TypesSupported"], "#7")

	sum, err := exec.Command(msiinfo, "suminfo", msi).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sum), "Template: x64;1033") {
		t.Errorf("summary information: want an x64 package\n%s", sum)
	}

	// The command line msiexec gives the service, for the agent.
	agent := filepath.Join(dir, "nines-agent")
	goBuild(t, agent)
	token := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(token, []byte("t0ken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, values := range map[string]map[string]string{
		"no properties": {"LISTEN_ADDRESS": props["LISTEN_ADDRESS"]},
		"token file": {"COLLECTOR_URL": "https://collector.example:9990", "TOKEN_FILE": token,
			"LABELS": "site=paris,role=desk", "LISTEN_ADDRESS": "0.0.0.0:9991"},
		"token": {"COLLECTOR_URL": "https://collector.example:9990", "TOKEN": "t0ken"},
	} {
		cmdline := formatted(args, values)
		out, err := exec.Command(agent, append(splitArgs(cmdline), "--check-config")...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "configuration is valid") {
			t.Errorf("%s: nines-agent %s --check-config: %v\n%s", name, cmdline, err, out)
		}
	}
	out, err := exec.Command(agent, append(splitArgs(formatted(args, map[string]string{"COLLECTOR_URL": "https://c.example"})), "--check-config")...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "token or token_file is required") {
		t.Errorf("COLLECTOR_URL without a token: got %v, want the agent to refuse it\n%s", err, out)
	}
}

func goBuild(t *testing.T, out string, env ...string) {
	t.Helper()
	b := exec.Command("go", "build", "-o", out, "github.com/ninesmon/nines/agent/cmd/nines-agent")
	b.Env = append(append(os.Environ(), "CGO_ENABLED=0"), env...)
	if o, err := b.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", out, err, o)
	}
}

// formatted replaces [PROPERTY] as the installer formats a field; a
// property not set is empty.
func formatted(s string, props map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "[")
		j := strings.Index(s, "]")
		if i < 0 || j < i {
			return b.String() + s
		}
		b.WriteString(s[:i])
		b.WriteString(props[s[i+1:j]])
		s = s[j+1:]
	}
}

// splitArgs splits a command line as the Go runtime does on Windows for
// the simple case the installer writes: spaces between arguments, double
// quotes around each value (no escaped quotes).
func splitArgs(s string) []string {
	var args []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				args = append(args, cur.String())
			}
			cur.Reset()
			have = false
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if have {
		args = append(args, cur.String())
	}
	return args
}
