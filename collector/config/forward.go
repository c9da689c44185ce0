package config

import (
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Forward sends everything ingested on to long-term storage.
type Forward struct {
	RemoteWrite *RemoteWrite `yaml:"remote_write"`
}

// RemoteWrite is a Prometheus remote-write receiver.
type RemoteWrite struct {
	URL             string            `yaml:"url"`
	BearerTokenFile string            `yaml:"bearer_token_file"`
	QueueSize       int               `yaml:"queue_size"`
	BatchSize       int               `yaml:"batch_size"`
	FlushInterval   yamlconf.Duration `yaml:"flush_interval"`
	Timeout         yamlconf.Duration `yaml:"timeout"`
	ExternalLabels  map[string]string `yaml:"external_labels"`

	// BearerToken is read from BearerTokenFile by Resolve.
	BearerToken yamlconf.Secret `yaml:"-"`
}

func (f *Forward) applyDefaults() {
	rw := f.RemoteWrite
	if rw == nil {
		return
	}
	if rw.QueueSize == 0 {
		rw.QueueSize = 1_000_000
	}
	if rw.BatchSize == 0 {
		rw.BatchSize = 5000
	}
	if rw.FlushInterval == 0 {
		rw.FlushInterval = yamlconf.Duration(time.Second)
	}
	if rw.Timeout == 0 {
		rw.Timeout = yamlconf.Duration(30 * time.Second)
	}
}

func (f *Forward) validate(p *yamlconf.Problems) {
	rw := f.RemoteWrite
	if rw == nil {
		return
	}
	if !httpURL(rw.URL) {
		p.Addf("forward.remote_write.url", "want an http:// or https:// URL, got %q", rw.URL)
	}
	if rw.QueueSize < rw.BatchSize || rw.BatchSize < 1 {
		p.Addf("forward.remote_write", "batch_size must be at least 1 and no larger than queue_size")
	}
	for k := range rw.ExternalLabels {
		if !labelNameRE.MatchString(k) {
			p.Addf("forward.remote_write.external_labels."+k, "invalid label name %q", k)
		}
	}
}
