package config

import (
	"runtime"
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
