package postgres

import (
	"context"
	"testing"

	"github.com/ninesmon/nines/collector/store"
	"github.com/ninesmon/nines/collector/store/postgres/pgtest"
	"github.com/ninesmon/nines/collector/store/storetest"
)

// TestConformance runs the store suite against a real PostgreSQL, one
// database per subtest.
func TestConformance(t *testing.T) {
	srv := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, srv.NewDatabase(t))
	})
}

// open opens a store on dsn, closed when t ends.
func open(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
