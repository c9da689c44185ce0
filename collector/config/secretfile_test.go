package config

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ninesmon/nines/internal/yamlconf/yamlconftest"
)

// A token file others can read is refused at load (and so by
// --check-config), with the fix in the message.
func TestLoadFileRefusesReadableTokenFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	yamlconftest.ReadableSecretRefused(t, "c.yml", "auth:\n  tokens:\n    - {name: a, role: agent, token_file: secret.file}\n", "auth.tokens[0].token_file",
		func(path string) error { _, err := LoadFile(path); return err })
}

// TestMissingFilesPlacedOnce: a missing token or secret file is reported
// once, at the file and line of its key, like every other problem.
func TestMissingFilesPlacedOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "collector.yml")
	if err := os.WriteFile(path, []byte(`auth:
  tokens:
    - name: agents
      role: agent
      token_file: missing.token
receivers:
  - name: hook
    webhook:
      url: http://127.0.0.1:1/
      secret_file: missing.secret
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if err == nil {
		t.Fatal("loaded a configuration whose token file is missing")
	}
	msg := err.Error()
	for _, want := range []string{
		path + ":5:7: auth.tokens[0].token_file: open " + filepath.Join(dir, "missing.token"),
		path + ":10:7: receivers[0].webhook.secret_file: ",
	} {
		if strings.Count(msg, want) != 1 {
			t.Errorf("want once %q in:\n%s", want, msg)
		}
	}
	if n := strings.Count(msg, "missing.token"); n != 1 {
		t.Errorf("the missing token file is reported %d times:\n%s", n, msg)
	}
}
