package config

import (
	"time"

	"github.com/ninesmon/nines/internal/yamlconf"
)

// Storage is where state is kept.
type Storage struct {
	// Driver is "sqlite" (default: the embedded database at Path) or
	// "postgres" (a PostgreSQL database named by DSN, which a collector
	// HA pair can share).
	Driver string `yaml:"driver"`
	// Path of the SQLite database. Default data/nines.db, relative to the
	// config file's directory.
	Path string `yaml:"path"`
	// DSN is the PostgreSQL connection string
	// (postgres://nines@db.example.internal/nines?sslmode=verify-full), a
	// secret since it may hold a password; or DSNFile.
	DSN     yamlconf.Secret `yaml:"dsn"`
	DSNFile string          `yaml:"dsn_file"`
	// SamplesRetention is the in-memory window rules can look at.
	SamplesRetention yamlconf.Duration `yaml:"samples_retention"`
	// MaxSeries bounds the in-memory series; beyond it new series are
	// rejected and counted.
	MaxSeries int `yaml:"max_series"`
}

// The storage drivers.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

func (s *Storage) validate(p *yamlconf.Problems) {
	switch s.Driver {
	case DriverSQLite, "":
		if s.Path == "" {
			p.Addf("storage.path", "must not be empty")
		}
		if s.DSN != "" || s.DSNFile != "" {
			p.Addf("storage.dsn", "is for driver postgres; the sqlite driver uses path")
		}
	case DriverPostgres:
		if (s.DSN == "") == (s.DSNFile == "") {
			p.Addf("storage", "exactly one of dsn & dsn_file must be configured for driver postgres")
		}
	default:
		p.Addf("storage.driver", "unknown driver %q (want sqlite or postgres)", s.Driver)
	}
	if s.SamplesRetention.D() < time.Minute {
		p.Addf("storage.samples_retention", "must be at least 1m, got %s", s.SamplesRetention)
	}
	if s.MaxSeries < 1 {
		p.Addf("storage.max_series", "must be at least 1")
	}
}
