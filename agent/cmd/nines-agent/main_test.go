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
	token := filepath.Join(dir, "agent.token")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"version", []string{"--version"}, 0, "nines-agent version"},
		{"help", []string{"--help"}, 0, "--web.listen-address"},
		{"help names the trim", []string{"--help"}, 0, "--runtime.trim-code"},
		{"trim off", []string{"--check-config", "--runtime.trim-code=false"}, 0, "configuration is valid"},
		{"check good", []string{"--check-config", "--config", good}, 0, "configuration is valid"},
		{"check bad reports all", []string{"--check-config", "--config", bad}, 1, "bad.yml:1:"},
		{"bad log level", []string{"--log.level", "loud", "--check-config"}, 2, "unknown level"},
		{"stray argument", []string{"serve"}, 2, "unexpected argument"},
		// The installer's properties (COLLECTOR_URL, TOKEN_FILE, TOKEN, LABELS) as flags.
		{"installer flags", []string{"--check-config", "--push.url", "https://c.example:9990", "--push.token-file", token, "--labels", "site=paris, role=desk"}, 0, "configuration is valid"},
		{"installer flags over a file", []string{"--check-config", "--config", good, "--push.url", "https://c.example:9990", "--push.token", "t", "--labels", ""}, 0, "configuration is valid"},
		{"empty installer properties", []string{"--check-config", "--push.url", "", "--push.token-file", "", "--push.token", "", "--labels", ""}, 0, "configuration is valid"},
		{"url without token", []string{"--check-config", "--push.url", "https://c.example:9990"}, 1, "push: a token or token_file is required"},
		{"bad url", []string{"--check-config", "--push.url", "ftp://x", "--push.token", "t"}, 1, `push.urls[0]: want an http:// or https:// URL, got "ftp://x"`},
		{"bad label name", []string{"--check-config", "--labels", "1x=y"}, 1, `labels.1x: invalid label name "1x"`},
		{"label without value", []string{"--check-config", "--labels", "site"}, 2, `--labels: label "site": want name=value`},
		{"missing token file", []string{"--check-config", "--push.url", "https://c.example:9990", "--push.token-file", filepath.Join(dir, "nope")}, 1, "read token_file"},
		{"service without action", []string{"service"}, 2, "service install|uninstall|start|stop|status"},
		{"service unknown action", []string{"service", "restart-twice"}, 2, `unknown service action "restart-twice"`},
		{"service configure off Windows", []string{"service", "configure"}, 1, "service configure: only on Windows"},
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
