package config

import (
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Query bounds the Prometheus query API (/api/v1/query, /query_range,
// /series, /labels, /label/{name}/values, /federate) over the recent
// window. The defaults are Prometheus's own (its --query.timeout,
// --query.max-samples, --query.max-concurrency and --query.lookback-delta
// flags); they take effect when the collector starts.
type Query struct {
	// Timeout bounds one query (default 2m); a query may ask for less
	// with its timeout parameter.
	Timeout yamlconf.Duration `yaml:"timeout"`
	// MaxSamples is the most samples one query may hold in memory at once
	// (default 50000000); a query needing more fails.
	MaxSamples int `yaml:"max_samples"`
	// MaxConcurrency is how many queries run at once (default 20); more
	// wait for a slot within their timeout.
	MaxConcurrency int `yaml:"max_concurrency"`
	// LookbackDelta is how far back an instant selector and /federate
	// look for a series' latest sample (default 5m).
	LookbackDelta yamlconf.Duration `yaml:"lookback_delta"`
}

// DefaultQuery returns Prometheus's query limits.
func DefaultQuery() Query {
	return Query{
		Timeout:        yamlconf.Duration(2 * time.Minute),
		MaxSamples:     50_000_000,
		MaxConcurrency: 20,
		LookbackDelta:  yamlconf.Duration(5 * time.Minute),
	}
}

func (q *Query) validate(p *yamlconf.Problems) {
	if q.Timeout.D() < time.Second {
		p.Addf("query.timeout", "must be at least 1s, got %s", q.Timeout.D())
	}
	if q.MaxSamples < 1 {
		p.Addf("query.max_samples", "must be at least 1, got %d", q.MaxSamples)
	}
	if q.MaxConcurrency < 1 {
		p.Addf("query.max_concurrency", "must be at least 1, got %d", q.MaxConcurrency)
	}
	if q.LookbackDelta.D() < time.Second {
		p.Addf("query.lookback_delta", "must be at least 1s, got %s", q.LookbackDelta.D())
	}
}
