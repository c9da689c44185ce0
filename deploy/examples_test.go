package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	agentconfig "github.com/ninesmon/nines/agent/config"
	collectorconfig "github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/samples"
	"github.com/ninesmon/nines/internal/peertest"
	"github.com/ninesmon/nines/rules"
)

// TestExamples loads every file in examples/ with the loader of its kind,
// so an example can never drift from the code.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob("examples/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(f)
			switch {
			case strings.Contains(base, "collector"):
				cfg, err := collectorconfig.Load(f, data)
				if err != nil {
					t.Fatal(err)
				}
				// Token files name paths on a real host; the rule files it
				// names must exist beside it and parse.
				for _, pattern := range cfg.Rules.Files {
					matches, _ := filepath.Glob(filepath.Join(filepath.Dir(f), pattern))
					if len(matches) == 0 {
						t.Errorf("rules.files %q matches nothing", pattern)
					}
					for _, m := range matches {
						rf, err := rules.ParseFile(m)
						if err != nil {
							t.Error(err)
							continue
						}
						for _, slo := range rf.SLOs {
							if slo.Service != "" && cfg.Service(slo.Service) == nil {
								t.Errorf("%s: slo %q names service %q, which %s does not define", m, slo.Name, slo.Service, f)
							}
						}
					}
				}
			case strings.Contains(base, "agent"):
				if _, err := agentconfig.Load(f, data); err != nil {
					t.Fatal(err)
				}
			case strings.Contains(base, ".test."):
				var out strings.Builder
				if !rules.RunTestFile(f, &out, func() rules.TestStorage { return samples.ForRuleTests() }) {
					t.Fatalf("rule tests failed:\n%s", out.String())
				}
			case strings.Contains(base, "rules"):
				if _, err := rules.Parse(f, data); err != nil {
					t.Fatal(err)
				}
			default:
				t.Fatalf("no loader for example %s: name it *collector*, *agent*, *rules* or *.test.*", base)
			}
		})
	}
}

// TestRuleTestsAgreeWithPromtool runs the example rule tests with
// Prometheus's own promtool too: the runner must mean what promtool means.
// nines-*.test.yml test rules with Nines's extensions, which promtool does
// not read.
func TestRuleTestsAgreeWithPromtool(t *testing.T) {
	promtool := peertest.Find(t, "promtool", "prometheus", "NINES_SKIP_PROMETHEUS")
	files, _ := filepath.Glob("examples/*.test.yml")
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), "nines-") {
			continue
		}
		cmd := exec.Command(promtool, "test", "rules", filepath.Base(f))
		cmd.Dir = filepath.Dir(f)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("promtool test rules %s: %v\n%s", f, err, out)
		}
	}
}

// TestExampleFilesAreRead loads the example collector configuration as
// an operator installs it: every file it names under /etc/nines exists,
// and each secret given by *_file reaches the configuration (the trap
// receiver's v3 passphrase files were never read). Without those files,
// loading fails naming the key and the file.
func TestExampleFilesAreRead(t *testing.T) {
	data, err := os.ReadFile("examples/collector.yml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc")
	if err := os.Mkdir(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`/etc/nines/[A-Za-z0-9._-]+`)
	for _, p := range re.FindAllString(string(data), -1) {
		if err := os.WriteFile(filepath.Join(etc, filepath.Base(p)), []byte("value of "+filepath.Base(p)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	installed := filepath.Join(dir, "collector.yml")
	if err := os.WriteFile(installed, []byte(strings.ReplaceAll(string(data), "/etc/nines/", etc+"/")), 0o600); err != nil {
		t.Fatal(err)
	}
	rulesFiles, _ := filepath.Glob("examples/*rules.yml")
	for _, rf := range rulesFiles {
		b, err := os.ReadFile(rf)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(rf)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := collectorconfig.LoadFile(installed)
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.SNMP.Traps
	if tr == nil || tr.V3 == nil || tr.V3.AuthPassphrase.Reveal() != "value of traps-auth" || tr.V3.PrivPassphrase.Reveal() != "value of traps-priv" {
		t.Errorf("trap receiver v3 passphrases not read from their files: %+v", tr)
	}
	for _, d := range cfg.Devices {
		if d.Version != "3" && d.Community.Reveal() == "" {
			t.Errorf("device %s: no community", d.Name)
		}
	}
	// As shipped, on a host without those files: a clear error.
	if err := os.Remove(filepath.Join(etc, "traps-auth")); err != nil {
		t.Fatal(err)
	}
	_, err = collectorconfig.LoadFile(installed)
	if err == nil || !strings.Contains(err.Error(), "snmp.traps.v3.auth_passphrase_file") || !strings.Contains(err.Error(), "traps-auth") {
		t.Errorf("a missing passphrase file: got %v, want an error naming snmp.traps.v3.auth_passphrase_file and the file", err)
	}
}
