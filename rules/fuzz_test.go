package rules

import "testing"

// FuzzParse: no rule file may panic the parser.
func FuzzParse(f *testing.F) {
	f.Add([]byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        for: 5m\n"))
	f.Add([]byte("groups:\n  - name: g\n    rules:\n      - record: a:b\n        expr: sum(rate(x[5m]))\n"))
	f.Add([]byte("groups: [{name: g, rules: [{alert: A, expr: 'up', annotations: {s: '{{ $value }}'}}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse("f.yml", data)
	})
}
