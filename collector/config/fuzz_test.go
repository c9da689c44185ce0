package config

import "testing"

// FuzzLoad: no configuration may panic the loader.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("web: {listen_address: ':1'}\nauth:\n  tokens:\n    - {name: a, role: agent, token_file: x}\n"))
	f.Add([]byte("availability: {down_after_intervals: 2, check_interval: 1s}\nrules: {files: [a.yml]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Load("f.yml", data)
	})
}
