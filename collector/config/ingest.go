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
	// MaxConcurrentPerSender is one sender's share of
	// MaxConcurrentRequests (a push's host, a write's token); more get
	// 429. 0: a quarter of MaxConcurrentRequests.
	MaxConcurrentPerSender int `yaml:"max_concurrent_per_sender"`
	// MaxBodyReadTime bounds the time to read a whole body (408 beyond).
	MaxBodyReadTime yamlconf.Duration `yaml:"max_body_read_time"`
	// MinBodyRate (bytes per second) is the slowest a body may come once
	// BodyRateGrace has passed (408 below); 0: no minimum.
	MinBodyRate int64 `yaml:"min_body_rate"`
	// BodyRateGrace is how long a body may be slower than MinBodyRate.
	BodyRateGrace yamlconf.Duration `yaml:"body_rate_grace"`
	// MaxBodyBytesInFlight bounds the body bytes held in memory, after
	// decompression, across concurrent requests; requests beyond wait a
	// second, then get 503 with Retry-After. At least MaxBodyBytes;
	// default: 128 MiB, or twice MaxBodyBytes when that is more.
	MaxBodyBytesInFlight int64 `yaml:"max_body_bytes_in_flight"`
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
	if in.MaxConcurrentPerSender < 0 || in.MaxConcurrentPerSender > in.MaxConcurrentRequests {
		p.Addf("ingest.max_concurrent_per_sender", "must be from 0 (a quarter of max_concurrent_requests) to max_concurrent_requests (%d)", in.MaxConcurrentRequests)
	}
	if in.MaxBodyReadTime.D() < time.Second {
		p.Addf("ingest.max_body_read_time", "must be at least 1s")
	}
	if in.MinBodyRate < 0 {
		p.Addf("ingest.min_body_rate", "must not be negative (0: no minimum)")
	}
	if in.BodyRateGrace.D() < 100*time.Millisecond || in.BodyRateGrace > in.MaxBodyReadTime {
		p.Addf("ingest.body_rate_grace", "must be from 100ms to max_body_read_time")
	}
	if in.MaxBodyBytesInFlight < in.MaxBodyBytes {
		p.Addf("ingest.max_body_bytes_in_flight", "must be at least max_body_bytes (%d)", in.MaxBodyBytes)
	}
}

func (in *Ingest) applyDefaults() {
	if in.MaxBodyBytesInFlight == 0 {
		in.MaxBodyBytesInFlight = max(128<<20, 2*in.MaxBodyBytes)
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
