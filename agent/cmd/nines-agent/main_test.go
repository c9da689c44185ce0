package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(good, []byte("interval: 5s\n"), 0o600)
	os.WriteFile(bad, []byte("interval: 5\nprofile: laptop\nbogus: 1\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"version", []string{"--version"}, 0, "nines-agent version"},
		{"help", []string{"--help"}, 0, "--web.listen-address"},
		{"check good", []string{"--check-config", "--config", good}, 0, "configuration is valid"},
		{"check bad reports all", []string{"--check-config", "--config", bad}, 1, "bad.yml:1:"},
		{"bad log level", []string{"--log.level", "loud", "--check-config"}, 2, "unknown level"},
		{"stray argument", []string{"serve"}, 2, "unexpected argument"},
		{"service without action", []string{"service"}, 2, "service install|uninstall|start|stop|status"},
		{"service unknown action", []string{"service", "restart-twice"}, 2, `unknown service action "restart-twice"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tc.args, &out, &errb)
			all := out.String() + errb.String()
			if code != tc.code || !strings.Contains(all, tc.contains) {
				t.Errorf("got exit %d and %q, want %d and %q", code, all, tc.code, tc.contains)
			}
		})
	}
	var out, errb bytes.Buffer
	run([]string{"--check-config", "--config", bad}, &out, &errb)
	if n := strings.Count(errb.String(), "bad.yml:"); n != 3 {
		t.Errorf("errors reported: got %d, want all 3:\n%s", n, errb.String())
	}
}
