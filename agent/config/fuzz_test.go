package config

import "testing"

// FuzzLoad: no configuration may panic the loader.
func FuzzLoad(f *testing.F) {
	f.Add([]byte("interval: 5s\npush:\n  urls: [http://c:1]\n  token: x\n"))
	f.Add([]byte("profile: desktop\nlabels: {site: a}\ncollectors: {disable: [cpu]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Load("f.yml", data)
	})
}
