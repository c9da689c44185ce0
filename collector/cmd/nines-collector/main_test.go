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
