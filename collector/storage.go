package collector

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/ninesmon/nines/collector/config"
	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/postgres"
	"github.com/ninesmon/nines/collector/store/sqlite"
)

// OpenStore opens the store the configuration names: the embedded SQLite
// database (the default) or a PostgreSQL database. Store files others
// could read are made private, and logged.
func OpenStore(ctx context.Context, s config.Storage, logger *slog.Logger) (store.Store, error) {
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
		for _, p := range st.Repaired() {
			logger.Warn("store file was readable by others: made private (0600, its directory 0700)", "path", p)
		}
		return st, nil
	}
}
