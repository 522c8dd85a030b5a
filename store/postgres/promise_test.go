package postgres_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/internal/testenv"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/postgres"
)

// TestPromise3_KilledMidWriteLeavesNothingHalfWritten runs a multi-statement
// write (AUTH_TOKENS sync: a user, its grants, its token, the version) on a
// throwaway cluster, holds it half-way on a table lock, then kills its
// connection — and, in a second round, crashes the whole server
// (pg_ctl stop -m immediate). Each time nothing of the interrupted write is
// visible, nothing committed before is lost, and running the write again
// leaves exactly one of everything (nothing duplicated).
func TestPromise3_KilledMidWriteLeavesNothingHalfWritten(t *testing.T) {
	pg := testenv.NewPGCluster(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	st, err := postgres.Open(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	line := func(login string) store.EnvToken {
		return store.EnvToken{Login: login, Digest: sha256.Sum256([]byte("secret-of-" + login)), Permissions: []string{"view_x", "change_x"}}
	}
	svc, svc2 := line("svc"), line("svc2")

	// Round 1: the writer's connection is terminated mid-transaction.
	v0 := mustVersion(t, st)
	errc := writeHeldMidway(t, pg, func() error { return st.SyncEnvTokens(ctx, []store.EnvToken{svc}) },
		func(db *pgx.Conn, pid int) {
			if _, err := db.Exec(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
				t.Fatalf("terminate: %v", err)
			}
		})
	if err := <-errc; err == nil {
		t.Fatal("the interrupted write reported success")
	}
	wantAbsent(t, st, svc)
	if v := mustVersion(t, st); v != v0 {
		t.Fatalf("version moved from %d to %d for an interrupted write", v0, v)
	}
	if err := st.SyncEnvTokens(ctx, []store.EnvToken{svc}); err != nil {
		t.Fatalf("the write again: %v", err)
	}
	wantOnce(t, pg, svc)

	// Round 2: the server crashes mid-transaction.
	errc = writeHeldMidway(t, pg, func() error { return st.SyncEnvTokens(ctx, []store.EnvToken{svc, svc2}) },
		func(*pgx.Conn, int) { pg.StopImmediate() })
	if err := <-errc; err == nil {
		t.Fatal("the write interrupted by a crash reported success")
	}
	pg.Start()
	// The pool reconnects by itself; the first call may still meet a dead
	// connection, so poll (bounded).
	waitStore(t, func() error { _, err := st.Version(ctx); return err })
	wantAbsent(t, st, svc2)
	wantOnce(t, pg, svc) // committed before the crash: not lost
	if err := st.SyncEnvTokens(ctx, []store.EnvToken{svc, svc2}); err != nil {
		t.Fatalf("the write again after the crash: %v", err)
	}
	wantOnce(t, pg, svc)
	wantOnce(t, pg, svc2)
}

// writeHeldMidway locks api_tokens from another connection, starts write
// (which changes users and grants, then blocks on api_tokens), waits until
// its backend waits on the lock, calls interrupt with that backend's pid,
// then releases the lock. It returns write's result.
func writeHeldMidway(t *testing.T, pg *testenv.PGCluster, write func() error, interrupt func(db *pgx.Conn, pid int)) <-chan error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	locker, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(context.Background())
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- write() }()

	monitor, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer monitor.Close(context.Background())
	var pid int
	for {
		// The writer has inserted its user and grants and waits on the
		// token table.
		err := monitor.QueryRow(ctx, `SELECT pid FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND state = 'active' AND query ILIKE '%api_tokens%' AND pid <> pg_backend_pid() LIMIT 1`).Scan(&pid)
		if err == nil {
			break
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		select {
		case <-ctx.Done():
			t.Fatal("the write never reached the locked table")
		case <-time.After(10 * time.Millisecond):
		}
	}
	interrupt(monitor, pid)
	_ = tx.Rollback(context.Background()) // fails harmlessly after a crash
	return errc
}

func mustVersion(t *testing.T, st store.Store) int64 {
	t.Helper()
	v, err := st.Version(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// waitStore polls fn until it succeeds (bounded, generous).
func waitStore(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not recover: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// wantAbsent fails if anything of the line's write is visible.
func wantAbsent(t *testing.T, st store.Store, l store.EnvToken) {
	t.Helper()
	if u, err := st.GetUserByLogin(t.Context(), l.Login); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("user %s of an interrupted write: %+v, %v", l.Login, u, err)
	}
	if tok, err := st.TokenByDigest(t.Context(), l.Digest); !errors.Is(err, gatehouse.ErrNotFound) {
		t.Fatalf("token of an interrupted write: %+v, %v", tok, err)
	}
}

// wantOnce counts the line's rows directly: one user, one token, its grants
// once each.
func wantOnce(t *testing.T, pg *testenv.PGCluster, l store.EnvToken) {
	t.Helper()
	ctx := t.Context()
	db, err := pgx.Connect(ctx, pg.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var users, tokens, grants int
	if err := db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM users WHERE login = $1),
		(SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.login = $1),
		(SELECT count(*) FROM user_grants g JOIN users u ON u.id = g.user_id WHERE u.login = $1)`, l.Login).Scan(&users, &tokens, &grants); err != nil {
		t.Fatal(err)
	}
	if users != 1 || tokens != 1 || grants != len(l.Permissions) {
		t.Fatalf("%s: %d users, %d tokens, %d grants; want 1, 1, %d", l.Login, users, tokens, grants, len(l.Permissions))
	}
}
