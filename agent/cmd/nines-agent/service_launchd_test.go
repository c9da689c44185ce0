package main

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"howett.net/plist"
)

// TestLaunchdPlist parses the launchd job "service install" writes on
// macOS and checks the keys launchd acts on. launchd itself is not run
// (no macOS machine in CI).
func TestLaunchdPlist(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "agent & co.yml") // escaped in XML
	out, err := launchdPlist(serviceConfig(cfgFile), "/usr/local/bin/nines-agent")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "<?xml") || !strings.Contains(out, "<!DOCTYPE plist") {
		t.Errorf("not an XML property list:\n%s", out)
	}
	var got map[string]any
	format, err := plist.Unmarshal([]byte(out), &got)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, out)
	}
	if format != plist.XMLFormat {
		t.Errorf("format %d, want XML", format)
	}
	want := map[string]any{
		"Label":             "nines-agent",
		"Disabled":          false,
		"KeepAlive":         true,
		"RunAtLoad":         true,
		"SessionCreate":     false,
		"StandardOutPath":   "/var/log/nines-agent.out.log",
		"StandardErrorPath": "/var/log/nines-agent.err.log",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %v, want %v", k, got[k], v)
		}
	}
	var args []string
	for _, a := range got["ProgramArguments"].([]any) {
		args = append(args, a.(string))
	}
	if wantArgs := []string{"/usr/local/bin/nines-agent", "--config", cfgFile}; !slices.Equal(args, wantArgs) {
		t.Errorf("ProgramArguments: got %q, want %q", args, wantArgs)
	}
	if len(got) != len(want)+1 {
		t.Errorf("keys: got %d (%v), want %d", len(got), got, len(want)+1)
	}

	if _, err := launchdPlist(serviceConfig("/etc/{{nines}}.yml"), "/usr/local/bin/nines-agent"); err == nil {
		t.Error(`a "{{" in an argument: no error`)
	}
}
