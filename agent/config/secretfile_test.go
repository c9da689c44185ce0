package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// The agent refuses a token file others can read, as the collector does.
func TestLoadFileRefusesReadableTokenFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	dir := t.TempDir()
	tok := filepath.Join(dir, "agent.token")
	if err := os.WriteFile(tok, []byte("tok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tok, 0o604); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "agent.yml")
	if err := os.WriteFile(cfg, []byte("push:\n  urls: [http://c:9990]\n  token_file: agent.token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(cfg)
	if want := "push.token_file: " + tok + " holds a secret but is readable by group or others (mode 0604)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want %q", err, want)
	}
}
