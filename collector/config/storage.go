package config

import (
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Storage is where state is kept.
type Storage struct {
	// Path of the SQLite database. Default data/nines.db, relative to the
	// config file's directory.
	Path string `yaml:"path"`
	// SamplesRetention is the in-memory window rules can look at.
	SamplesRetention yamlconf.Duration `yaml:"samples_retention"`
	// MaxSeries bounds the in-memory series; beyond it new series are
	// rejected and counted.
	MaxSeries int `yaml:"max_series"`
}

func (s *Storage) validate(p *yamlconf.Problems) {
	if s.Path == "" {
		p.Addf("storage.path", "must not be empty")
	}
	if s.SamplesRetention.D() < time.Minute {
		p.Addf("storage.samples_retention", "must be at least 1m, got %s", s.SamplesRetention)
	}
	if s.MaxSeries < 1 {
		p.Addf("storage.max_series", "must be at least 1")
	}
}
