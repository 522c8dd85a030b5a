package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// schema creates a schema with a random name for one test, dropped at its
// end, and returns a pool configuration whose search_path selects it.
func schema(t *testing.T) *pgxpool.Config {
	t.Helper()
	dsn := testenv.PostgresDSN(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "gh_test_" + hex.EncodeToString(b[:])
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+name); err != nil {
		_ = admin.Close(ctx)
		t.Fatalf("create schema: %v", err)
	}
	_ = admin.Close(ctx)
	t.Cleanup(func() {
		// Runs after the stores' Close (cleanups run last-in first-out).
		admin, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("connect for cleanup: %v", err)
			return
		}
		defer func() { _ = admin.Close(ctx) }()
		if _, err := admin.Exec(ctx, `DROP SCHEMA `+name+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse dsn: %v", err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = name
	cfg.MaxConns = 8
	return cfg
}

func openConfig(t *testing.T, cfg *pgxpool.Config) *postgres.Store {
	t.Helper()
	s, err := postgres.OpenConfig(t.Context(), cfg.Copy())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func open(t *testing.T) store.Store { return openConfig(t, schema(t)) }

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestIssuerConformance(t *testing.T) { storetest.RunIssuer(t, open) }

func TestConcurrency(t *testing.T) { storetest.RunConcurrency(t, open) }

// TestNotify uses two Stores, two pools as two replicas would have, on one
// schema.
func TestNotify(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) (store.Store, store.Store) {
		cfg := schema(t)
		return openConfig(t, cfg), openConfig(t, cfg)
	})
}

// TestOpenRace starts replicas together on a fresh schema: the migration
// lock must let all of them succeed, with the schema migrated once.
func TestOpenRace(t *testing.T) {
	cfg := schema(t)
	const replicas = 4
	errs := make(chan error, replicas)
	stores := make(chan *postgres.Store, replicas)
	for range replicas {
		go func() {
			s, err := postgres.OpenConfig(t.Context(), cfg.Copy())
			if err == nil {
				stores <- s
			}
			errs <- err
		}()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
	close(stores)
	for s := range stores {
		t.Cleanup(func() { _ = s.Close() })
		if v, err := s.Version(t.Context()); err != nil || v != 0 {
			t.Errorf("Version after racing Opens: %d, %v", v, err)
		}
	}
}

// TestListenerReconnects kills the listener's backend: the store must
// reconnect and signal, so a write made while it was away is not missed.
func TestListenerReconnects(t *testing.T) {
	cfg := schema(t)
	app := cfg.ConnConfig.RuntimeParams["search_path"] // unique per test
	cfg.ConnConfig.RuntimeParams["application_name"] = app
	a, b := openConfig(t, cfg), openConfig(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	ch := b.Changes(ctx)

	// The listener signals once connected. Consume that signal so that any
	// later one must come from after the termination.
	select {
	case <-ch:
	case <-ctx.Done():
		t.Fatal("listener never connected")
	}
	for killed := false; !killed; {
		var n int
		err := a.Pool().QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE application_name = $1 AND query LIKE 'LISTEN%'`, app).Scan(&n)
		if err != nil {
			t.Fatalf("terminate listener: %v", err)
		}
		killed = n > 0
		if !killed {
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("listener never connected")
			}
		}
	}
	before, err := b.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if _, err := a.CreateGroup(ctx, "ops"); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	for {
		select {
		case <-ch:
			if v, err := b.Version(ctx); err == nil && v > before {
				return
			}
		case <-ctx.Done():
			t.Fatal("no signal after the listener was terminated")
		}
	}
}

func TestAgents(t *testing.T) { storetest.RunAgents(t, open) }

// TestClaimReplicas races ClaimOnce on two Stores (two pools) on one schema.
func TestClaimReplicas(t *testing.T) {
	storetest.RunClaimReplicas(t, func(t *testing.T) (store.Store, store.Store) {
		cfg := schema(t)
		return openConfig(t, cfg), openConfig(t, cfg)
	})
}
