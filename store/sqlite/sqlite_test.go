package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/sqlite"
	"github.com/gatehouse-authz/gatehouse/store/storetest"
)

func open(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
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

func TestConformance(t *testing.T) { storetest.Run(t, open) }

func TestIssuerConformance(t *testing.T) { storetest.RunIssuer(t, open) }

func TestConcurrency(t *testing.T) { storetest.RunConcurrency(t, open) }

// TestNotify runs the notification checks with one store as both replicas:
// SQLite signals writes within its process only.
func TestNotify(t *testing.T) {
	storetest.RunNotify(t, func(t *testing.T) (store.Store, store.Store) {
		s := open(t)
		return s, s
	})
}

// TestReopen checks that migrations are recorded: a second Open of the same
// file applies nothing and sees the data.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := s.CreateGroup(ctx, "ops"); err != nil {
		t.Fatalf("CreateGroup: %v", err)
	}
	// WAL mode leaves its log beside the database while a connection is open.
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log: %v", err)
	}
	v, err := s.Version(ctx)
	if err != nil {
		t.Fatalf("Version: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	defer func() { _ = s.Close() }()
	gs, err := s.ListGroups(ctx)
	if err != nil || len(gs) != 1 {
		t.Fatalf("ListGroups after reopen: %v, %v", gs, err)
	}
	if v2, err := s.Version(ctx); err != nil || v2 != v {
		t.Fatalf("Version after reopen: %d, %v; want %d", v2, err, v)
	}
}

func TestAgents(t *testing.T) { storetest.RunAgents(t, open) }

// TestClaimReplicas runs the replica race with one store twice, as the
// single-replica backend is used.
func TestClaimReplicas(t *testing.T) {
	storetest.RunClaimReplicas(t, func(t *testing.T) (store.Store, store.Store) {
		s := open(t)
		return s, s
	})
}

// TestOpenAnyPath: a data directory whose name holds the characters the
// driver's DSN syntax uses ('?', '#', '%', '&', a space) still opens as
// itself, and its data survives a reopen.
func TestOpenAnyPath(t *testing.T) {
	ctx := context.Background()
	for _, dir := range []string{"seed#0", "what?mode=ro", "100% & more", "./rel"} {
		t.Run(dir, func(t *testing.T) {
			base := t.TempDir()
			full := filepath.Join(base, dir)
			if err := os.MkdirAll(full, 0o700); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(full, "gatehouse.db")
			s, err := sqlite.Open(ctx, path)
			if err != nil {
				t.Fatalf("Open(%q): %v", path, err)
			}
			if _, err := s.CreateGroup(ctx, "ops"); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the database is not at the path given: %v", err)
			}
			s, err = sqlite.Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = s.Close() }()
			if gs, err := s.ListGroups(ctx); err != nil || len(gs) != 1 {
				t.Fatalf("after reopen: %v, %v", gs, err)
			}
		})
	}
}
