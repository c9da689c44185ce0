package config

import (
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Ingest bounds what senders may send.
type Ingest struct {
	// MaxBodyBytes bounds a request body, counted after decompression.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxLineBytes rejects longer line-protocol lines.
	MaxLineBytes int `yaml:"max_line_bytes"`
	// MaxSeriesPerTarget bounds the series of one host (cardinality
	// limit); samples of new series beyond it are refused and counted.
	MaxSeriesPerTarget int `yaml:"max_series_per_target"`
	// MaxConcurrentRequests are decoded at once; more get 429.
	MaxConcurrentRequests int `yaml:"max_concurrent_requests"`
}

// Availability sets how target states are decided.
type Availability struct {
	// DownAfterIntervals: a host is DOWN after this many push intervals
	// without data.
	DownAfterIntervals int `yaml:"down_after_intervals"`
	// DefaultPushInterval applies to senders that do not announce one.
	DefaultPushInterval yamlconf.Duration `yaml:"default_push_interval"`
	// StartupGrace delays DOWN decisions after the collector starts, so
	// agents' queued data arrives first. Default: two default intervals.
	StartupGrace yamlconf.Duration `yaml:"startup_grace"`
	// CheckInterval is how often deadlines are checked.
	CheckInterval yamlconf.Duration `yaml:"check_interval"`
	// CheckFailures: an active check's target is DOWN after this many
	// consecutive failures.
	CheckFailures int `yaml:"check_failures"`
}

func (in *Ingest) validate(p *yamlconf.Problems) {
	if in.MaxBodyBytes < 1024 {
		p.Addf("ingest.max_body_bytes", "must be at least 1024")
	}
	if in.MaxLineBytes < 256 {
		p.Addf("ingest.max_line_bytes", "must be at least 256")
	}
	if in.MaxSeriesPerTarget < 1 {
		p.Addf("ingest.max_series_per_target", "must be at least 1")
	}
	if in.MaxConcurrentRequests < 1 {
		p.Addf("ingest.max_concurrent_requests", "must be at least 1")
	}
}

func (a *Availability) applyDefaults() {
	if a.StartupGrace == 0 {
		a.StartupGrace = 2 * a.DefaultPushInterval
	}
}

func (a *Availability) validate(p *yamlconf.Problems) {
	if a.DownAfterIntervals < 1 {
		p.Addf("availability.down_after_intervals", "must be at least 1")
	}
	if a.DefaultPushInterval.D() <= 0 {
		p.Addf("availability.default_push_interval", "must be positive")
	}
	if a.StartupGrace < 0 {
		p.Addf("availability.startup_grace", "must not be negative")
	}
	if a.CheckFailures < 1 {
		p.Addf("availability.check_failures", "must be at least 1")
	}
	if a.CheckInterval.D() < 10*time.Millisecond {
		p.Addf("availability.check_interval", "must be at least 10ms")
	}
}
