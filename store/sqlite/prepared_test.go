package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
)

func TestPreparedDB(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()

	one := func(q string) int {
		t.Helper()
		var n int
		if err := s.r.QueryRowContext(ctx, q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	if one(`SELECT 1`) != 1 || one(`SELECT 1`) != 1 {
		t.Fatal("a prepared query answered wrong")
	}
	if len(s.r.stmts) != 1 {
		t.Fatalf("%d statements cached for one query, want 1", len(s.r.stmts))
	}

	// Past the bound, queries still run, unprepared.
	for i := range maxPrepared + 10 {
		if got := one(fmt.Sprintf(`SELECT %d`, i+2)); got != i+2 {
			t.Fatalf("query %d answered %d", i+2, got)
		}
	}
	if len(s.r.stmts) != maxPrepared {
		t.Fatalf("%d statements cached, bound is %d", len(s.r.stmts), maxPrepared)
	}

	// A statement that cannot be prepared reports its error when run.
	_, err = s.r.QueryContext(ctx, `SELECT * FROM no_such_table`)
	if err == nil {
		t.Fatal("a query on a missing table succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.r.QueryRowContext(cancelled, `SELECT version FROM store_version WHERE id = 1`).Scan(new(int64)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled query: %v, want context.Canceled", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM store_version WHERE id = 2`).Scan(new(int64)); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no row: %v, want sql.ErrNoRows", err)
	}
}
