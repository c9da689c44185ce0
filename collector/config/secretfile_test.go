package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// A token file others can read is refused at load (and so by
// --check-config), with the fix in the message.
func TestLoadFileRefusesReadableTokenFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	dir := t.TempDir()
	tok := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tok, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tok, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "c.yml")
	if err := os.WriteFile(cfg, []byte("auth:\n  tokens:\n    - {name: a, role: agent, token_file: agent.token}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(cfg)
	if want := "auth.tokens[0].token_file: " + tok + " holds a secret but is readable by group or others (mode 0644): run chmod 600 " + tok; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
	if err := os.Chmod(tok, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(cfg); err != nil {
		t.Errorf("0600: %v", err)
	}
}
