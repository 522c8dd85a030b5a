package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gatehouse-authz/gatehouse/config"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
)

// SQLiteFile is the store's file name inside DATA_DIR.
const SQLiteFile = "gatehouse.db"

// OpenStore opens (and migrates) the configured store: PostgreSQL when
// DATABASE_URL is set, else the SQLite file in DATA_DIR.
func OpenStore(ctx context.Context, s config.Storage) (store.Store, error) {
	if s.DatabaseURL != "" {
		st, err := postgres.Open(ctx, s.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("DATABASE_URL: %w", err)
		}
		return st, nil
	}
	if err := os.MkdirAll(s.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	st, err := sqlite.Open(ctx, filepath.Join(s.DataDir, SQLiteFile))
	if err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	return st, nil
}
