// Package postgres is the store.Store on PostgreSQL through pgx v5, for one
// or more Gatehouse replicas sharing a database.
//
// Each write transaction bumps a one-row version counter and sends NOTIFY
// on the gatehouse_changes channel (payload: the schema) before it commits,
// so both become visible exactly when the write does. Changes listens on a
// dedicated connection and also polls Version, because notifications sent
// while the listener reconnects are lost.
//
// Update closures (UpdateUser and the like) run inside the transaction
// while it holds the row lock (SELECT ... FOR UPDATE): concurrent updates of
// one record take turns, and none is lost.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

const (
	// Channel is the NOTIFY channel of writes.
	Channel = "gatehouse_changes"
	// migrationLock is the pg_advisory_xact_lock key that serialises
	// migrations of replicas starting together ("gatehouse" in ASCII,
	// truncated to 8 bytes).
	migrationLock int64 = 0x67617465686f7573
	// envLock serialises SyncEnvTokens across replicas, which all run it at
	// start: without it two would race to create the same users.
	envLock int64 = 0x6761746568656e76
	// pollInterval is how often Changes re-reads Version in case a
	// notification was lost.
	pollInterval = 60 * time.Second
)

// Store is a store.Store on PostgreSQL.
type Store struct {
	pool    *pgxpool.Pool
	changes storeutil.Broadcaster
	// onWrite runs after each committed local write (OnLocalWrite).
	onWrite storeutil.WriteHooks

	// The listener and poller start with the first Changes call and stop
	// at Close.
	start     sync.Once
	bgCtx     context.Context
	stop      context.CancelFunc
	bg        sync.WaitGroup
	pollEvery time.Duration
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a libpq URL or key=value string)
// and applies pending migrations.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a parsed pool configuration, for settings a DSN
// cannot carry. The schema is the first of the connection's search_path.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	bgCtx, stop := context.WithCancel(context.Background())
	return &Store{pool: pool, bgCtx: bgCtx, stop: stop, pollEvery: pollInterval}, nil
}

// Close stops the listener, closes every Changes channel and the pool.
func (s *Store) Close() error {
	s.stop()
	s.bg.Wait()
	s.changes.Close()
	s.pool.Close()
	return nil
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations in one transaction, under an advisory lock so that
// replicas starting together take turns (CREATE TABLE IF NOT EXISTS alone
// races on the catalog).
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	slices.Sort(names)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer PRIMARY KEY,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("migrate: schema_migrations: %w", err)
		}
		var current int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("migrate: read version: %w", err)
		}
		for _, name := range names {
			v, err := migrationVersion(name)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			if v <= current {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("migrate: %w", err)
			}
			// No arguments: pgx sends it with the simple protocol, which
			// allows several statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migrate: apply %s: %w", name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, v); err != nil {
				return fmt.Errorf("migrate: record %s: %w", name, err)
			}
		}
		return nil
	})
}

// migrationVersion is the number a migration file name starts with
// ("0001_init.sql" is 1).
func migrationVersion(name string) (int, error) {
	base := path.Base(name)
	num, _, ok := strings.Cut(base, "_")
	v, err := strconv.Atoi(num)
	if !ok || err != nil || v <= 0 {
		return 0, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
	}
	return v, nil
}

// Version reads the write counter.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool.QueryRow(ctx, `SELECT version FROM store_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: version: %w", err)
	}
	return v, nil
}

// Changes signals after writes by any replica on this schema. The first
// call starts the listener; it signals once each time it (re)connects,
// since notifications sent while it was away are lost.
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	ch := s.changes.Subscribe(ctx)
	s.start.Do(func() {
		s.bg.Add(2)
		go s.listen()
		go s.poll()
	})
	return ch
}

// listen holds a LISTEN connection of its own (not from the pool, which it
// would drain of one connection forever), reconnecting with backoff.
func (s *Store) listen() {
	defer s.bg.Done()
	const maxBackoff = 30 * time.Second
	backoff := 100 * time.Millisecond
	for {
		connected, err := s.listenOnce(s.bgCtx)
		if s.bgCtx.Err() != nil {
			return
		}
		if connected {
			backoff = 100 * time.Millisecond
		}
		slog.Warn("store: change listener lost its connection", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.bgCtx.Done():
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// listenOnce connects, listens and relays notifications for this schema
// until the connection fails or ctx ends.
func (s *Store) listenOnce(ctx context.Context) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return false, err
	}
	if _, err := conn.Exec(ctx, `LISTEN `+Channel); err != nil {
		return false, err
	}
	s.changes.Notify()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		// Other schemas in the database (other deployments, tests) use
		// the same channel.
		if n.Payload == schema {
			s.changes.Notify()
		}
	}
}

// poll re-reads Version every pollEvery and signals when it moved.
func (s *Store) poll() {
	defer s.bg.Done()
	last, _ := s.Version(s.bgCtx)
	t := time.NewTicker(s.pollEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-s.bgCtx.Done():
			return
		}
		v, err := s.Version(s.bgCtx)
		if err != nil {
			slog.Warn("store: poll version", "err", err)
			continue
		}
		if v != last {
			last = v
			s.changes.Notify()
		}
	}
}

// querier is what reads need: the pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// txn is a write transaction that remembers whether any statement changed
// a row, so that no-op writes (an idempotent sync) leave Version alone.
type txn struct {
	pgx.Tx
	changed bool
}

// exec runs a statement and returns the rows it affected.
func (t *txn) exec(ctx context.Context, sql string, args ...any) (int64, error) {
	tag, err := t.Exec(ctx, sql, args...)
	if err != nil {
		return 0, classify(err)
	}
	if tag.RowsAffected() > 0 {
		t.changed = true
	}
	return tag.RowsAffected(), nil
}

// write runs fn in a transaction; when fn changed something it bumps Version
// and notifies in the same transaction. Version is locked last, after
// whatever rows fn locked, so writers never wait on each other in a cycle
// through it.
func (s *Store) write(ctx context.Context, fn func(t *txn) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	t := &txn{Tx: tx}
	if err := fn(t); err != nil {
		return err
	}
	if !t.changed {
		return nil
	}
	if _, err := tx.Exec(ctx, `UPDATE store_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump version: %w", err)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_notify($1, current_schema())`, Channel); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	s.onWrite.Run()
	return nil
}

// classify wraps constraint violations in the store's sentinels.
func classify(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		return fmt.Errorf("%w: %w", gatehouse.ErrAlreadyExists, err)
	case "23503": // foreign_key_violation: the referenced row is gone
		return fmt.Errorf("%w: %w", gatehouse.ErrNotFound, err)
	}
	return err
}

// notFound maps pgx.ErrNoRows to gatehouse.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return gatehouse.ErrNotFound
	}
	return err
}

// nullTime encodes the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromNullTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// jsonb encodes v for a jsonb parameter ([]byte is sent as raw JSON).
func jsonb(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

func fromJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// collect reads rows with scan into a slice.
func collect[T any](rows pgx.Rows, err error, scan func(pgx.CollectableRow) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, scan)
	if len(out) == 0 {
		out = nil
	}
	return out, err
}

func scanString(r pgx.CollectableRow) (string, error) {
	var s string
	err := r.Scan(&s)
	return s, err
}

type rowScanner interface{ Scan(dest ...any) error }

// exists reports whether query (selecting one row by key) finds a row.
func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// mustExist returns ErrNotFound, naming what, when the row is missing. The
// explicit checks give clearer errors than a foreign key failure would.
func mustExist(ctx context.Context, q querier, what, query string, args ...any) error {
	ok, err := exists(ctx, q, query, args...)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s: %w", what, gatehouse.ErrNotFound)
	}
	return nil
}

// Pool is the store's connection pool, for health checks and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// OnLocalWrite registers f to run after each write through this Store that
// changed something, once committed and before the write returns
// (in-process identity caches: promise 7, a revocation refused at the next
// request). Writes by other processes arrive through Changes instead.
func (s *Store) OnLocalWrite(f func()) { s.onWrite.Add(f) }
