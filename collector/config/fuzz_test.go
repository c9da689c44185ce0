package config

import (
	"os"
	"reflect"
	"testing"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// FuzzLoad: no configuration may panic the loader, and what Load accepts
// validates clean again and is not changed by validating it (a reload
// may validate what was loaded).
func FuzzLoad(f *testing.F) {
	f.Add([]byte("web: {listen_address: ':1'}\nauth:\n  tokens:\n    - {name: a, role: agent, token_file: x}\n"))
	f.Add([]byte("availability: {down_after_intervals: 2, check_interval: 1s}\nrules: {files: [a.yml]}\n"))
	f.Add([]byte("storage: {samples_retention: 30d}\nincidents: {targets: {P1: {respond: 15m, resolve: 1w}}}\n"))
	f.Add([]byte("services:\n  - {name: a, components: {services: [b]}}\n  - {name: b, components: {services: [a]}}\n"))
	f.Add([]byte("services:\n  - {name: a, objective: .nan, components: {targets: [x]}}\nincidents: {near_breach: .nan}\n"))
	for _, file := range []string{"../../deploy/examples/collector.yml", "testdata/sections.good.yml"} {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load("f.yml", data)
		if err != nil {
			return
		}
		again, err := Load("f.yml", data)
		if err != nil {
			t.Fatalf("second Load: %v", err)
		}
		var p yamlconf.Problems
		c.Validate(&p)
		if p.Len() != 0 {
			t.Fatalf("Validate after Load found %d problems", p.Len())
		}
		if !reflect.DeepEqual(c, again) {
			t.Fatal("Validate changed a loaded configuration")
		}
	})
}
