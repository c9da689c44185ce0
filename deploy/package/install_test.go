package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/peertest"
)

// optOut skips TestDebInstall (it needs root and dpkg, and installs into
// the real system).
const optOut = "NINES_SKIP_PACKAGES"

// system paths the packages own or create; the test refuses to run where
// any exists, so it never touches a real installation.
var (
	stateDirs = []string{"/var/lib/nines-agent", "/var/lib/nines-collector"}
	tokens    = []string{"/etc/nines/agent.token", "/etc/nines/admin.token"}
)

// TestDebInstall installs both .deb packages on this machine as an
// operator would (dpkg -i), checks the files, the user and the modes,
// that nothing was started, runs the installed binaries with
// --check-config on the installed configurations, starts them by hand as
// the system user with generated tokens until the agent's host is UP in
// the collector's API, upgrades them (edits, tokens and state kept), and
// purges both packages, checking that only the
// system user is left (Debian policy). Whatever happens, the cleanup
// stops what it started, purges the packages and removes what the test
// created, the user included.
func TestDebInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		peertest.Missing(t, "not root", "run the test as root (CI does): it installs the packages with dpkg", optOut)
	}
	dpkg := peertest.Find(t, "dpkg", "dpkg", optOut)
	for _, p := range []string{"nines-agent", "nines-collector"} {
		if installed(p) {
			t.Fatalf("package %s is already installed on this machine; the test would replace it: remove it, or set %s=1", p, optOut)
		}
	}
	for _, p := range append([]string{"/etc/nines"}, stateDirs...) {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s exists: the test would overwrite a real installation; remove it, or set %s=1", p, optOut)
		}
	}
	_, err := user.Lookup(User)
	userExisted := err == nil
	pkgs := packages(t, "v0.0.1")
	upgrade := packages(t, "v0.0.2")

	t.Cleanup(func() {
		for _, p := range []string{"nines-agent", "nines-collector"} {
			if installed(p) {
				out, err := exec.Command(dpkg, "--purge", p).CombinedOutput()
				t.Logf("cleanup: dpkg --purge %s: %v\n%s", p, err, out)
			}
		}
		for _, p := range append([]string{"/etc/nines"}, stateDirs...) {
			os.RemoveAll(p)
		}
		if !userExisted {
			if _, err := user.Lookup(User); err == nil {
				if out, err := exec.Command("userdel", User).CombinedOutput(); err != nil {
					t.Errorf("cleanup: userdel %s: %v: %s", User, err, out)
				}
			}
			if _, err := user.LookupGroup(User); err == nil {
				if out, err := exec.Command("groupdel", User).CombinedOutput(); err != nil {
					t.Errorf("cleanup: groupdel %s: %v: %s", User, err, out)
				}
			}
		}
	})

	dpkgRun(t, dpkg, "-i", pkgs["nines-agent.deb"], pkgs["nines-collector.deb"])

	// The user: a system account without a login.
	u, err := user.Lookup(User)
	if err != nil {
		t.Fatalf("user %s after installing: %v", User, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid == 0 || uid >= 1000 {
		t.Errorf("user %s has uid %d, want a system uid (1..999)", User, uid)
	}
	if shell := passwdField(t, User, 6); shell != "/usr/sbin/nologin" {
		t.Errorf("user %s has shell %q, want /usr/sbin/nologin", User, shell)
	}

	// Files, owners and modes.
	for _, f := range []struct {
		path       string
		mode       fs.FileMode
		uid, gid   int
		wantTokens bool
	}{
		{path: "/usr/bin/nines-agent", mode: 0o755},
		{path: "/usr/bin/nines-collector", mode: 0o755},
		{path: "/usr/lib/systemd/system/nines-agent.service", mode: 0o644},
		{path: "/usr/lib/systemd/system/nines-collector.service", mode: 0o644},
		{path: "/etc/nines", mode: fs.ModeDir | 0o755},
		{path: "/etc/nines/agent.yml", mode: 0o644},
		{path: "/etc/nines/collector.yml", mode: 0o644},
		{path: "/etc/nines/rules/rules.yml", mode: 0o644},
		{path: "/etc/nines/rules/nines-rules.yml", mode: 0o644},
		{path: "/var/lib/nines-agent", mode: fs.ModeDir | 0o700, uid: uid, gid: gid},
		{path: "/var/lib/nines-collector", mode: fs.ModeDir | 0o700, uid: uid, gid: gid},
	} {
		checkFile(t, f.path, f.mode, f.uid, f.gid)
	}
	for _, p := range []string{"nines-agent", "nines-collector"} {
		var conf []string
		for _, l := range strings.Split(strings.TrimSpace(dpkgQuery(t, "${Conffiles}", p)), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				conf = append(conf, f[0])
			}
		}
		want := map[string][]string{
			"nines-agent":     {"/etc/nines/agent.yml"},
			"nines-collector": {"/etc/nines/collector.yml", "/etc/nines/rules/nines-rules.yml", "/etc/nines/rules/rules.yml"},
		}[p]
		if strings.Join(conf, " ") != strings.Join(want, " ") {
			t.Errorf("%s conffiles %v, want %v", p, conf, want)
		}
		for _, script := range []string{"preinst", "postinst", "prerm", "postrm"} {
			b, err := os.ReadFile("/var/lib/dpkg/info/" + p + "." + script)
			if err != nil {
				t.Errorf("%s has no %s: %v", p, script, err)
			} else if m := starts.FindAllString(string(b), -1); m != nil {
				t.Errorf("%s %s enables or starts a service: %q", p, script, m)
			}
		}
		unit, err := os.ReadFile("/usr/lib/systemd/system/" + p + ".service")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"\nUser=nines\n", "\nExecStart=/usr/bin/" + p + " --config /etc/nines/"} {
			if !bytes.Contains(unit, []byte(want)) {
				t.Errorf("installed unit %s lacks %q", p, want)
			}
		}
	}
	// systemd's own check of the installed units (the binary, the user,
	// every directive), offline: systemd need not be running.
	analyze := peertest.Find(t, "systemd-analyze", "systemd", optOut)
	for _, p := range []string{"nines-agent", "nines-collector"} {
		if out, err := exec.Command(analyze, "verify", "/usr/lib/systemd/system/"+p+".service").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", p, err, out)
		}
	}
	if pids := running(); len(pids) > 0 {
		t.Errorf("installing started the installed binaries (pids %v): an unconfigured service must not start", pids)
	}

	// Unconfigured, the check names the missing token; with tokens
	// readable by the nines user alone, the installed configurations pass.
	// Pdeathsig: should the test binary die (a -timeout panic skips the
	// cleanups), the kernel kills what it started.
	asNines := &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, Pdeathsig: syscall.SIGKILL}
	checkConfig := func(bin, conf string) (string, error) {
		cmd := exec.Command(bin, "--config", conf, "--check-config")
		cmd.SysProcAttr = asNines
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := checkConfig("/usr/bin/nines-agent", "/etc/nines/agent.yml"); err == nil || !strings.Contains(out, "/etc/nines/agent.token") {
		t.Errorf("nines-agent --check-config without its token: %v, %s; want an error naming /etc/nines/agent.token", err, out)
	}
	token := map[string]string{}
	for _, p := range tokens {
		b := make([]byte, 32)
		rand.Read(b)
		token[p] = base64.StdEncoding.EncodeToString(b)
		if err := os.WriteFile(p, []byte(token[p]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range [][2]string{{"/usr/bin/nines-agent", "/etc/nines/agent.yml"}, {"/usr/bin/nines-collector", "/etc/nines/collector.yml"}} {
		if out, err := checkConfig(c[0], c[1]); err != nil {
			t.Fatalf("%s --config %s --check-config: %v\n%s", c[0], c[1], err, out)
		}
	}

	// Started by hand as the nines user, on loopback ports. The agent's
	// configuration is the installed one pointed at this collector.
	collectorAddr, agentAddr := peertest.FreeAddr(t), peertest.FreeAddr(t)
	start(t, asNines, "/usr/bin/nines-collector", "--config", "/etc/nines/collector.yml", "--web.listen-address", collectorAddr)
	installedAgent, err := os.ReadFile("/etc/nines/agent.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(installedAgent, []byte("http://127.0.0.1:9990")) {
		t.Fatalf("/etc/nines/agent.yml no longer pushes to http://127.0.0.1:9990: update the test")
	}
	confDir, err := os.MkdirTemp("", "nines-package-agent-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(confDir) })
	if err := os.Chmod(confDir, 0o755); err != nil {
		t.Fatal(err)
	}
	agentConf := filepath.Join(confDir, "agent.yml")
	if err := os.WriteFile(agentConf, bytes.ReplaceAll(installedAgent, []byte("http://127.0.0.1:9990"), []byte("http://"+collectorAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, asNines, "/usr/bin/nines-agent", "--config", agentConf, "--web.listen-address", agentAddr)

	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	var last string
	began := time.Now()
	deadline := began.Add(90 * time.Second)
	for {
		state, body := targetState(token["/etc/nines/admin.token"], "http://"+collectorAddr, host)
		if state == "up" {
			t.Logf("host %s UP in the collector's API %v after starting", host, time.Since(began).Round(time.Millisecond))
			break
		}
		last = body
		if time.Now().After(deadline) {
			t.Fatalf("host %s not UP in the collector's API after 90 s; last answer: %s", host, last)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// What the binaries created is private to the nines user.
	checkFile(t, "/var/lib/nines-agent/spool", fs.ModeDir|0o700, uid, gid)
	checkFile(t, "/var/lib/nines-collector/nines.db", 0o600, uid, gid)
	stopAll(t)

	// An upgrade keeps the operator's edits, the tokens and the state.
	edited := append(installedAgent, "# edited by the operator\n"...)
	if err := os.WriteFile("/etc/nines/agent.yml", edited, 0o644); err != nil {
		t.Fatal(err)
	}
	dpkgRun(t, dpkg, "-i", upgrade["nines-agent.deb"], upgrade["nines-collector.deb"])
	for _, p := range []string{"nines-agent", "nines-collector"} {
		if v := dpkgQuery(t, "${Version}", p); v != "0.0.2-1" {
			t.Errorf("%s version %q after the upgrade, want 0.0.2-1", p, v)
		}
	}
	if got, err := os.ReadFile("/etc/nines/agent.yml"); err != nil || !bytes.Equal(got, edited) {
		t.Errorf("the upgrade replaced the edited /etc/nines/agent.yml (%v):\n%s", err, got)
	}
	for _, p := range tokens {
		checkFile(t, p, 0o600, uid, gid)
	}
	checkFile(t, "/var/lib/nines-collector", fs.ModeDir|0o700, uid, gid)
	checkFile(t, "/var/lib/nines-collector/nines.db", 0o600, uid, gid)
	if pids := running(); len(pids) > 0 {
		t.Errorf("the upgrade started the installed binaries (pids %v)", pids)
	}

	// Purge: the tokens are the operator's, so the operator removes them;
	// then nothing is left but the user.
	for _, p := range tokens {
		os.Remove(p)
	}
	dpkgRun(t, dpkg, "--purge", "nines-agent", "nines-collector")
	for _, p := range []string{"nines-agent", "nines-collector"} {
		if installed(p) {
			t.Errorf("%s still known to dpkg after --purge: %s", p, dpkgQuery(t, "${db:Status-Abbrev}", p))
		}
	}
	for _, p := range append([]string{"/etc/nines", "/usr/bin/nines-agent", "/usr/bin/nines-collector",
		"/usr/lib/systemd/system/nines-agent.service", "/usr/lib/systemd/system/nines-collector.service",
		"/usr/share/doc/nines-agent", "/usr/share/doc/nines-collector"}, stateDirs...) {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left after dpkg --purge (%v)", p, err)
		}
	}
	if _, err := user.Lookup(User); err != nil {
		t.Errorf("user %s removed by the purge (%v); Debian policy keeps system users", User, err)
	}
}

// dpkgRun runs dpkg with args; its output must hold no warning or error.
func dpkgRun(t *testing.T, dpkg string, args ...string) {
	t.Helper()
	out, err := exec.Command(dpkg, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	lower := strings.ToLower(string(out))
	if strings.Contains(lower, "warning") || strings.Contains(lower, "error") {
		t.Errorf("dpkg %s warned:\n%s", strings.Join(args, " "), out)
	}
	t.Logf("dpkg %s:\n%s", strings.Join(args, " "), out)
}

// installed tells whether dpkg knows package p in any state but
// not-installed.
func installed(p string) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${db:Status-Abbrev}", p).Output()
	return err == nil && len(out) > 0 && !strings.HasPrefix(string(out), "un")
}

func dpkgQuery(t *testing.T, format, p string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f="+format, p).CombinedOutput()
	if err != nil {
		t.Errorf("dpkg-query %s: %v: %s", p, err, out)
	}
	return string(out)
}

// passwdField returns field i (0-based) of name's passwd entry.
func passwdField(t *testing.T, name string, i int) string {
	t.Helper()
	out, err := exec.Command("getent", "passwd", name).Output()
	if err != nil {
		t.Fatalf("getent passwd %s: %v", name, err)
	}
	f := strings.Split(strings.TrimSpace(string(out)), ":")
	if len(f) <= i {
		t.Fatalf("getent passwd %s: %q", name, out)
	}
	return f[i]
}

func checkFile(t *testing.T, path string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Error(err)
		return
	}
	st := fi.Sys().(*syscall.Stat_t)
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s: mode %v owner %d:%d, want mode %v owner %d:%d", path, got, st.Uid, st.Gid, mode, uid, gid)
	}
}

// running returns the pids of processes running an installed binary.
func running() []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && (exe == "/usr/bin/nines-agent" || exe == "/usr/bin/nines-collector") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// started are the processes start ran, stopped by stopAll (also at
// cleanup, whatever the test's outcome).
var started []*exec.Cmd

func start(t *testing.T, attr *syscall.SysProcAttr, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = attr
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	started = append(started, cmd)
	t.Cleanup(func() {
		stopAll(t)
		if t.Failed() {
			t.Logf("%s output:\n%s", bin, log.String())
		}
	})
}

// stopAll stops the started processes (SIGTERM, then SIGKILL after 15 s)
// and waits for them.
func stopAll(t *testing.T) {
	for _, cmd := range started {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Errorf("%s did not stop within 15 s of SIGTERM: killed", cmd.Path)
			cmd.Process.Kill()
			<-done
		}
	}
	started = nil
}

// targetState returns the state of target name in the collector's API
// (empty when absent) and the answer, for a failure message.
func targetState(token, base, name string) (string, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/targets", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	var body struct {
		Data []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"data"`
	}
	var raw bytes.Buffer
	if err := json.NewDecoder(io.TeeReader(resp.Body, &raw)).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Sprintf("%s: %v: %s", resp.Status, err, raw.String())
	}
	for _, tg := range body.Data {
		if tg.Name == name {
			return tg.State, raw.String()
		}
	}
	return "", raw.String()
}
