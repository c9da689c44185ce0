package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ninesmon/nines/collector"
	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/state"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rules := write("r.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n")
	badRules := write("bad.rules.yml", "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up ==\n      - alert: B\n")
	failing := write("failing.test.yml", "rule_files: [r.yml]\ntests:\n  - input_series: [{series: 'up{job=\"x\"}', values: '0 0 0'}]\n    alert_rule_test: [{eval_time: 1m, alertname: A, exp_alerts: []}]\n")
	good := write("c.yml", "storage: {path: n.db}\nrules: {files: [r.yml]}\n")
	bad := write("bad.yml", "web: {listen_address: nope}\nrules: {files: [bad.rules.yml]}\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"version", []string{"--version"}, 0, "nines-collector version"},
		{"check good", []string{"--check-config", "--config", good}, 0, "configuration is valid (1 rule files)"},
		{"check bad", []string{"--check-config", "--config", bad}, 1, "web.listen_address"},
		{"rules check good", []string{"rules", "check", rules}, 0, "1 groups, 1 rules: OK"},
		{"rules check bad", []string{"rules", "check", badRules}, 1, `bad.rules.yml:5:9: groups[0].rules[0].expr: group "g", rule 1 "A": could not parse expression`},
		{"rules check usage", []string{"rules"}, 2, "usage"},
		{"rules test passes", []string{"rules", "test", "../../../deploy/examples/rules.test.yml"}, 0, "rules.test.yml: SUCCESS"},
		{"rules test fails", []string{"rules", "test", failing}, 1, "FAILED"},
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
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "c.yml")
	os.WriteFile(cfgPath, []byte("storage: {path: n.db}\nservices:\n  - {name: erp, components: {selector: {role: app}}}\ninventory:\n  hosts:\n    - {name: app1, labels: {role: app}}\n"), 0o600)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "n.db"))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	for _, ch := range []state.Change{
		{Target: "app1", Kind: state.KindHost, From: state.Unknown, To: state.Up, At: at("2026-09-01T00:00:00Z")},
		{Target: "app1", Kind: state.KindHost, From: state.Up, To: state.Down, At: at("2026-10-05T10:00:00Z")},
		{Target: "app1", Kind: state.KindHost, From: state.Down, To: state.Up, At: at("2026-10-05T11:00:00Z")},
	} {
		if err := st.RecordChange(ctx, ch); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	out := filepath.Join(dir, "oct.html")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"report", "--config", cfgPath, "--month", "2026-10", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("report: exit %d: %s", code, stderr.String())
	}
	html, _ := os.ReadFile(out)
	if !strings.Contains(string(html), "60.00 min") || !strings.Contains(string(html), "app1 down") {
		t.Errorf("html report lacks the hour of downtime through the selector:\n%.600s", html)
	}
	stdout.Reset()
	if code := run([]string{"report", "--config", cfgPath, "--month", "2026-10", "--format", "csv"}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "erp,2026-10-01T00:00:00Z,2026-11-01T00:00:00Z,0.999000,0.998656,false,2678400,3600,") {
		t.Errorf("csv: %d %s %s", code, stdout.String(), stderr.String())
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"report", "--month", "2026-10"}, 2, "--config: required"},
		{[]string{"report", "--config", cfgPath}, 2, "month or from and to: required"},
		{[]string{"report", "--config", cfgPath, "--month", "2026-10", "--format", "doc"}, 2, "format: unknown"},
		{[]string{"report", "--config", cfgPath, "--month", "2026-10", "--service", "nope"}, 1, `unknown service "nope"`},
	} {
		stderr.Reset()
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}

// TestIncidentsCommand works an incident of a running collector from the
// command line.
func TestIncidentsCommand(t *testing.T) {
	t.Setenv("NINES_TOKEN", "")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	os.WriteFile(filepath.Join(dir, "op.token"), []byte("op-token\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "r.yml"), []byte("groups:\n  - name: g\n    interval: 100ms\n    rules:\n      - alert: DiskFull\n        expr: vector(1)\n        labels: {priority: P3}\n        annotations: {summary: Disk full}\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "c.yml"), []byte("web: {listen_address: \""+addr+"\"}\nstorage: {path: n.db}\nrules: {files: [r.yml]}\nauth:\n  tokens:\n    - {name: alice, role: operator, token_file: op.token}\n"), 0o600)
	cfg, err := config.LoadFile(filepath.Join(dir, "c.yml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := collector.New(ctx, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()
	cli := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(append([]string{"incidents", "--url", "http://" + addr, "--token-file", filepath.Join(dir, "op.token")}, args...), &out, &errb)
		return code, out.String() + errb.String()
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, out := cli("list")
		if code == 0 && strings.Contains(out, "Disk full") {
			if !strings.Contains(out, "P3") || !strings.Contains(out, "open") {
				t.Errorf("list: %s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list: %d %s", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ack", "1", "looking", "now"}, 0, "#1 is acknowledged"},
		{[]string{"assign", "1", "storage-team"}, 0, "#1 is acknowledged"},
		{[]string{"comment", "1", "disk", "replaced"}, 0, "#1 is acknowledged"},
		{[]string{"close", "1"}, 1, "409 Conflict"},
		{[]string{"resolve", "1"}, 0, "#1 is resolved"},
		{[]string{"show", "1"}, 0, "assigned to storage-team"},
		{[]string{"show", "99"}, 1, "incident 99 not found"},
		{[]string{"comment", "1"}, 2, "Usage"},
		{[]string{"dance"}, 2, `unknown command "dance"`},
	} {
		code, out := cli(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d %q; want %d and %q", tc.args, code, out, tc.code, tc.want)
		}
	}
	_, out := cli("show", "1")
	for _, want := range []string{"acknowledged alice      looking now", "commented    alice      disk replaced", "assigned     alice      to storage-team"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	var errb bytes.Buffer
	if code := run([]string{"incidents", "--url", "http://" + addr, "list"}, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), "no token") {
		t.Errorf("without a token: %d %s", code, errb.String())
	}
}
