package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
	"github.com/ninesmon/nines/internal/yamlconf/yamlconftest"
	"go.yaml.in/yaml/v3"
)

func TestLoadDefaults(t *testing.T) {
	c, err := Load("empty.yml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Interval.D(), 15*time.Second; got != want {
		t.Errorf("interval: got %s, want %s", got, want)
	}
	if got, want := c.Web.ListenAddress, "127.0.0.1:9991"; got != want {
		t.Errorf("listen address: got %s, want %s", got, want)
	}
	d, err := Load("d.yml", []byte("profile: desktop\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := d.Interval.D(), 60*time.Second; got != want {
		t.Errorf("desktop interval: got %s, want %s", got, want)
	}
	if got := c.EnabledCollectors(); strings.Join(got, ",") != "battery,cpu,diskstats,filesystem,hwmon,loadavg,memory,netdev,processes,system,windows_services" {
		t.Errorf("default collectors: got %v", got)
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"unknown key", "intervall: 5s\n", []string{"a.yml:1:1: intervall: unknown key (did you mean interval?)"}},
		{"string for a list", "push:\n  urls: http://c:9990\n", []string{"a.yml:2:3: push.urls: want a list of strings, got a string (http://c:9990)"}},
		{"port out of range", "web: {listen_address: '127.0.0.1:99999'}\n", []string{"web.listen_address: address 127.0.0.1:99999: port 99999 out of range (0 to 65535)"}},
		{"bad profile", "profile: laptop\n", []string{"a.yml:1:1: profile: unknown profile \"laptop\""}},
		{"interval too short", "interval: 1ms\n", []string{"a.yml:1:1: interval: must be at least 100ms"}},
		{"hostname with a space", "hostname: web 1\n", []string{"hostname: want printable UTF-8 without spaces, at most 253 bytes"}},
		{"interval too long", "interval: 2h\n", []string{"a.yml:1:1: interval: must be at most 1h0m0s, got 2h"}},
		{"reserved label name", "labels:\n  __x: y\n", []string{`labels.__x: invalid label name "__x"`}},
		{"control character in a label value", "labels:\n  site: \"a\\tb\"\n", []string{"labels.site: invalid value: want UTF-8 without control characters"}},
		{"bad url and missing token, together", "push:\n  urls: [ftp://x]\n", []string{
			"a.yml:2:10: push.urls[0]: want an http:// or https:// URL", "a.yml:1:1: push: a token or token_file is required"}},
		{"reserved label", "labels:\n  host: x\n", []string{"labels.host: label \"host\" is set by the agent itself"}},
		{"unknown collector", "collectors:\n  enable: [gpu]\n", []string{"a.yml:2:12: collectors.enable[0]: unknown collector \"gpu\""}},
		{"token twice", "push:\n  urls: [http://c]\n  token: a\n  token_file: b\n", []string{"at most one of token & token_file"}},
		{"windows service twice or empty", "windows_services: [Spooler, \"\", Spooler]\n", []string{
			`a.yml:1:33: windows_services[2]: windows service "Spooler" listed twice`, "a.yml:1:29: windows_services[1]: must not be empty"}},
		{"unknown push mode", "push:\n  mode: both\n", []string{"a.yml:2:3: push.mode: unknown mode \"both\" (want failover or all)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load("a.yml", []byte(tc.in))
			if err == nil {
				t.Fatalf("got no error, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got %q, want it to contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadFileResolvesTokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tok"), []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "agent.yml")
	if err := os.WriteFile(path, []byte("push:\n  urls: [http://c:1]\n  token_file: tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Push.Token.Reveal(); got != "s3cret" {
		t.Errorf("token: got %q, want s3cret", got)
	}
}

// TestValidateChangesNothing: defaults are ApplyDefaults' job; Validate,
// called twice or on an invalid configuration, only reads.
func TestValidateChangesNothing(t *testing.T) {
	example, err := os.ReadFile("../../deploy/examples/agent.yml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"example": example,
		"invalid": []byte("profile: desktop\ninterval: 0s\nchecks:\n  - {name: a, type: tcp, target: nohost}\n"),
	} {
		for _, defaults := range []bool{false, true} {
			decode := func() *Config {
				c := Default()
				c.Interval = 0
				if err := yaml.Unmarshal(data, c); err != nil {
					t.Fatal(err)
				}
				if defaults {
					c.ApplyDefaults()
				}
				return c
			}
			got, want := decode(), decode()
			var p yamlconf.Problems
			got.Validate(&p)
			got.Validate(&p)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (defaults %t): Validate changed the configuration", name, defaults)
			}
		}
	}
}

// TestEveryFileKeyResolved: every *_file key anywhere in the agent's
// configuration is resolved at load (a check's ca_file was left relative).
func TestEveryFileKeyResolved(t *testing.T) {
	var c Config
	yamlconftest.EveryFileKeyResolved(t, &c, func(dir string) error {
		return c.Resolve(dir)
	})
}
