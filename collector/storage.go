package collector

import (
	"context"
	"fmt"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/postgres"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

// OpenStore opens the store the configuration names: the embedded SQLite
// database (the default) or a PostgreSQL database.
func OpenStore(ctx context.Context, s config.Storage) (store.Store, error) {
	switch s.Driver {
	case config.DriverPostgres:
		st, err := postgres.Open(ctx, s.DSN.Reveal())
		if err != nil {
			return nil, fmt.Errorf("open the PostgreSQL store: %w", err)
		}
		return st, nil
	default:
		st, err := sqlite.Open(ctx, s.Path)
		if err != nil {
			return nil, fmt.Errorf("open the SQLite store %s: %w", s.Path, err)
		}
		return st, nil
	}
}
