package config

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

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
	// Retention bounds the tables that grow without end.
	Retention Retention `yaml:"retention"`
	// HeartbeatInterval is how often the collector records in the store
	// that it is alive (default 5s, at most 10s). Collectors sharing a
	// PostgreSQL count one as gone, and take over its SNMP devices and
	// checks, when its last heartbeat is three intervals old.
	HeartbeatInterval yamlconf.Duration `yaml:"heartbeat_interval"`
}

// Retention is how long the store keeps rows that would otherwise grow
// forever; 0 keeps them.
type Retention struct {
	// Audit: audit log entries (default 400d: a year and a month, for
	// yearly reviews).
	Audit yamlconf.Duration `yaml:"audit"`
	// Notifications: delivered or given-up notifications of incidents
	// resolved at least this long ago (default 90d).
	Notifications yamlconf.Duration `yaml:"notifications"`
	// History: the state history, collector runs, ended maintenance
	// windows and resolved incidents with their events and tickets
	// (default 800d: two years of monthly SLA reports and the year
	// before, to compare). Each target keeps its last state before the
	// cutoff. At least 62d, so last month's report always has its data.
	History yamlconf.Duration `yaml:"history"`
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
	if d := s.HeartbeatInterval.D(); d < 100*time.Millisecond || d > 10*time.Second {
		p.Addf("storage.heartbeat_interval", "must be between 100ms and 10s (a gap in the collectors' run history starts 30s after the last heartbeat), got %s", s.HeartbeatInterval)
	}
	if s.MaxSeries < 1 {
		p.Addf("storage.max_series", "must be at least 1")
	}
	for _, r := range []struct {
		key string
		d   yamlconf.Duration
	}{{"audit", s.Retention.Audit}, {"notifications", s.Retention.Notifications}} {
		if key, d := r.key, r.d; d.D() < 0 || (d.D() > 0 && d.D() < 24*time.Hour) {
			p.Addf("storage.retention."+key, "must be 0 (keep forever) or at least 1d, got %s", d)
		}
	}
	if d := s.Retention.History; d.D() < 0 || (d.D() > 0 && d.D() < 62*24*time.Hour) {
		p.Addf("storage.retention.history", "must be 0 (keep forever) or at least 62d (last month's SLA report reads it), got %s", d)
	}
}

// Describe names the store for logs: the SQLite file, or the PostgreSQL
// server and database (never the user or password).
func (s *Storage) Describe() string {
	if s.Driver != "postgres" {
		return "sqlite " + s.Path
	}
	cfg, err := pgconn.ParseConfig(s.DSN.Reveal())
	if err != nil {
		return "postgres (DSN not readable)"
	}
	return fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database)
}
