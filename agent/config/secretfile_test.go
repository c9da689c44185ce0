package config

import (
	"runtime"
	"testing"

	"github.com/ninesmon/nines/internal/yamlconf/yamlconftest"
)

// The agent refuses a token file others can read, as the collector does.
func TestLoadFileRefusesReadableTokenFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no mode bits on Windows")
	}
	yamlconftest.ReadableSecretRefused(t, "agent.yml", "push:\n  urls: [http://c:9990]\n  token_file: secret.file\n", "push.token_file",
		func(path string) error { _, err := LoadFile(path); return err })
}
