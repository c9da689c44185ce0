package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"

	agentconfig "github.com/ninesmon/nines/agent/config"
	collectorconfig "github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/internal/peertest"
)

// root is the repository's root, seen from this package's directory.
const root = "../.."

func TestPackageVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.0", "1.2.0"},
		{"1.2", "1.2"},
		{"v1.2.0-3-gabc1234", "1.2.0+3.gabc1234"},
		{"v1.2.0-3-gabc1234-dirty", "1.2.0+3.gabc1234.dirty"},
		{"95ed416", "0.0.0+95ed416"},
		{"95ed416-dirty", "0.0.0+95ed416.dirty"},
		{"", "0.0.0+dev"},
		{"dev", "0.0.0+dev"},
	} {
		if got := PackageVersion(tc.in); got != tc.want {
			t.Errorf("PackageVersion(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPackagedUnit turns each unit in deploy/systemd into the package's
// and checks what the package relies on; a unit changed so that a
// rewrite no longer applies is an error, not a silently different unit.
func TestPackagedUnit(t *testing.T) {
	for _, name := range []string{"nines-agent", "nines-collector"} {
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(root, "deploy", "systemd", name+".service"))
			if err != nil {
				t.Fatal(err)
			}
			unit, err := PackagedUnit(name, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{
				"\nExecStart=/usr/bin/" + name + " --config /etc/nines/",
				"\nUser=nines\n", "\nGroup=nines\n",
				"\nStateDirectory=" + name + "\nStateDirectoryMode=0700\n",
			} {
				if !strings.Contains(string(unit), want) {
					t.Errorf("unit lacks %q:\n%s", want, unit)
				}
			}
			for _, bad := range []string{"DynamicUser", "/usr/local/"} {
				if strings.Contains(string(unit), bad) {
					t.Errorf("unit still has %q:\n%s", bad, unit)
				}
			}
			changed := strings.Replace(string(src), "/usr/local/bin/", "/opt/bin/", 1)
			if _, err := PackagedUnit(name, []byte(changed)); err == nil || !strings.Contains(err.Error(), "/usr/local/bin/") {
				t.Errorf("a unit without /usr/local/bin/: got %v, want an error naming it", err)
			}
		})
	}
}

// TestShippedConfigs loads the configurations the packages install with
// the binaries' loaders.
func TestShippedConfigs(t *testing.T) {
	f := "etc/agent.yml"
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agentconfig.Load(f, data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.Push.SpoolDir, "/var/lib/nines-agent/spool"; got == nil || *got != want {
		t.Errorf("agent spool_dir = %v, want %q (in the package's state directory)", got, want)
	}
	f = "etc/collector.yml"
	if data, err = os.ReadFile(f); err != nil {
		t.Fatal(err)
	}
	c, err := collectorconfig.Load(f, data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Storage.Path, "/var/lib/nines-collector/nines.db"; got != want {
		t.Errorf("collector storage.path = %q, want %q (in the package's state directory)", got, want)
	}
}

var (
	buildOnce sync.Once
	buildErr  error
	mu        sync.Mutex
	built     = map[string]map[string]string{} // version → "nines-agent.deb" → path
)

// packages builds the binaries (for this machine's architecture) and the
// packaging program once for all tests, then with it the packages of
// version (once per version), into a directory removed by TestMain. The
// program runs as make package runs it, in its own process: under the
// race detector nfpm's compression takes minutes.
func packages(t *testing.T, version string) map[string]string {
	t.Helper()
	bin := filepath.Join(workDir, "bin")
	buildOnce.Do(func() {
		for _, b := range []string{"nines-agent", "nines-collector", "deploy/package"} {
			pkg := "./" + b
			if b != "deploy/package" {
				pkg = "./" + strings.TrimPrefix(b, "nines-") + "/cmd/" + b
			}
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(bin, filepath.Base(b)), pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", b, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatalf("build the binaries: %v", buildErr)
	}
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[version]; ok {
		return p
	}
	cmd := exec.Command(filepath.Join(bin, "package"), "-root", root, "-bin", bin,
		"-out", filepath.Join(workDir, "dist-"+version), "-version", version, "-arch", runtime.GOARCH)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy/package: %v\n%s%s", err, out, stderr.String())
	}
	paths := map[string]string{}
	for _, p := range strings.Fields(string(out)) {
		name := "nines-agent"
		if strings.Contains(filepath.Base(p), "collector") {
			name = "nines-collector"
		}
		paths[name+filepath.Ext(p)] = p
	}
	if len(paths) != 4 {
		t.Fatalf("deploy/package wrote %v, want a .deb and an .rpm of each binary", paths)
	}
	built[version] = paths
	return paths
}

var workDir string

func TestMain(m *testing.M) {
	var err error
	if workDir, err = os.MkdirTemp("", "nines-package-test-"); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(workDir)
	os.Exit(code)
}

// TestRPM reads the .rpm packages back with rpm: their files, modes,
// owners and conffiles, dependencies and scripts.
func TestRPM(t *testing.T) {
	rpm := peertest.Find(t, "rpm", "rpm", "NINES_SKIP_RPM")
	pkgs := packages(t, "v0.0.1")
	query := func(t *testing.T, p string, args ...string) string {
		t.Helper()
		out, err := exec.Command(rpm, append(args, p)...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	for _, c := range components(root) {
		t.Run(c.Name, func(t *testing.T) {
			p := pkgs[c.Name+".rpm"]
			list := strings.Fields(query(t, p, "-qlp"))
			want := []string{"/usr/bin/" + c.Name, "/usr/lib/systemd/system/" + c.Name + ".service", "/etc/nines/" + c.Config}
			for _, e := range c.Extra {
				want = append(want, e.Destination)
			}
			// Directories too: rpm -e removes only what the package owns.
			want = append(want, c.Dirs...)
			for _, w := range want {
				if !contains(list, w) {
					t.Errorf("rpm -qlp lacks %s: %v", w, list)
				}
			}
			modes := query(t, p, "-qp", "--qf", `[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]`)
			for _, w := range []string{
				"-rwxr-xr-x root:root /usr/bin/" + c.Name,
				"-rw-r--r-- root:root /etc/nines/" + c.Config,
				"-rw-r--r-- root:root /usr/lib/systemd/system/" + c.Name + ".service",
			} {
				if !strings.Contains(modes, w+"\n") {
					t.Errorf("rpm file modes lack %q:\n%s", w, modes)
				}
			}
			if conf := strings.Fields(query(t, p, "-qcp")); !contains(conf, "/etc/nines/"+c.Config) {
				t.Errorf("rpm -qcp (config files) lacks /etc/nines/%s: %v", c.Config, conf)
			}
			if req := query(t, p, "-qRp"); !strings.Contains(req, "/usr/sbin/useradd") {
				t.Errorf("rpm requires lacks /usr/sbin/useradd:\n%s", req)
			}
			scripts := query(t, p, "-qp", "--scripts")
			for _, w := range []string{"preinstall scriptlet", "useradd --system", "install -d -o nines -g nines -m 0700 " + c.StateDir, "preuninstall scriptlet", "disable --now " + c.Name} {
				if !strings.Contains(scripts, w) {
					t.Errorf("rpm scripts lack %q:\n%s", w, scripts)
				}
			}
			if starts.MatchString(scripts) {
				t.Errorf("rpm scripts enable or start the service: %q", starts.FindAllString(scripts, -1))
			}
		})
	}
}

// starts matches a script line that enables or starts a service.
var starts = regexp.MustCompile(`(?m)^[ \t]*(systemctl[ \t]+(--\S+[ \t]+)*(enable|start|restart|reload-or-restart)\b|service[ \t]+\S+[ \t]+start|invoke-rc\.d)`)

func TestStarts(t *testing.T) {
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"systemctl enable --now nines-agent", true},
		{"\tsystemctl --no-reload start nines-agent.service || true", true},
		{"systemctl restart nines-agent", true},
		{"invoke-rc.d nines-agent start", true},
		{"service nines-agent start", true},
		{"\tsystemctl try-restart nines-agent.service || true", false},
		{"\tsystemctl --no-reload disable --now nines-agent.service || true", false},
		{"\techo \"then start it with: systemctl enable --now nines-agent\"", false},
	} {
		if got := starts.MatchString(tc.line); got != tc.want {
			t.Errorf("starts.MatchString(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
