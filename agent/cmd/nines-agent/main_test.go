package main

import (
	"bytes"
	"context"
	"log/slog"
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

// TestRecordLevel: the level of a record, as the text and JSON handlers
// write it, decides its Windows event type; a message that mentions a
// level does not.
func TestRecordLevel(t *testing.T) {
	var text, js strings.Builder
	for _, l := range []slog.Level{slog.LevelError, slog.LevelWarn, slog.LevelInfo} {
		text.Reset()
		js.Reset()
		slog.New(slog.NewTextHandler(&text, nil)).Log(context.Background(), l, "said level=ERROR once", "k", `"level":"ERROR"`)
		slog.New(slog.NewJSONHandler(&js, nil)).Log(context.Background(), l, "said level=ERROR once")
		if got := recordLevel(text.String()); got != l {
			t.Errorf("text record %q: %v, want %v", text.String(), got, l)
		}
		if got := recordLevel(js.String()); got != l {
			t.Errorf("JSON record %q: %v, want %v", js.String(), got, l)
		}
	}
}
