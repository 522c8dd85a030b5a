// Package sqlite is the single-replica store.Store on a SQLite file, with
// the pure-Go driver modernc.org/sqlite (no cgo).
//
// SQLite allows one writer at a time. The store keeps two pools on the file:
// a writer limited to one connection, which serialises this process's
// writes in Go instead of letting them fail with SQLITE_BUSY, and a reader
// pool that WAL mode lets run beside the writer. busy_timeout covers another
// process (a CLI) writing the same file.
//
// Update closures (UpdateUser and the like) run inside the write
// transaction, holding the only writer connection: they must not write
// through the Store themselves.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-authz/gatehouse"
	"github.com/gatehouse-authz/gatehouse/store"
	"github.com/gatehouse-authz/gatehouse/store/internal/storeutil"
	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store on a SQLite file. Its Changes signal writes made
// through this Store only: SQLite has no cross-process notification, and
// Gatehouse runs one replica on SQLite.
type Store struct {
	w       *preparedDB // exactly one connection: the only writer
	r       *preparedDB // readers, concurrent with the writer under WAL
	changes storeutil.Broadcaster
	// onWrite runs after each committed local write (OnLocalWrite).
	onWrite storeutil.WriteHooks
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	name := fileURI(path)
	// Every connection: wait for locks rather than fail, enforce foreign
	// keys (off by default in SQLite), WAL so readers do not block the
	// writer. synchronous=NORMAL is durable in WAL mode except for the last
	// transactions on power loss, the usual trade.
	pragmas := "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	// BEGIN IMMEDIATE takes the write lock up front, so a read-then-write
	// transaction cannot fail half-way with SQLITE_BUSY against another
	// process.
	w, err := sql.Open("sqlite", name+pragmas+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: newPreparedDB(w)}
	if err := s.migrate(ctx); err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	r, err := sql.Open("sqlite", name+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		_ = w.Close()
		return nil, fmt.Errorf("sqlite: open %q: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	s.r = newPreparedDB(r)
	return s, nil
}

// fileURI names path as an SQLite URI filename: the driver reads a plain
// name's query from its first '?', so a path holding '?' or '#' would be
// cut; escaped in a file: URI, every path opens as itself.
func fileURI(path string) string {
	return "file:" + (&url.URL{Path: filepath.Clean(path)}).EscapedPath()
}

// Close closes the database and every Changes channel.
func (s *Store) Close() error {
	s.changes.Close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, all in one transaction: a failure leaves the schema as
// it was. The immediate transaction also keeps two processes from
// migrating at once.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	slices.Sort(names)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("migrate: schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
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
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return fmt.Errorf("migrate: apply %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("migrate: record %s: %w", name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
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
	if err := s.r.QueryRowContext(ctx, `SELECT version FROM store_version WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("store: version: %w", err)
	}
	return v, nil
}

// Changes signals after each committed write through this Store.
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	return s.changes.Subscribe(ctx)
}

// querier is what reads need: the reader pool or a write transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// txn is a write transaction that remembers whether any statement changed
// a row, so that no-op writes (an idempotent sync) leave Version alone.
type txn struct {
	*sql.Tx
	changed bool
}

// exec runs a statement and returns the rows it affected.
func (t *txn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, classify(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if n > 0 {
		t.changed = true
	}
	return n, nil
}

// write runs fn in a transaction on the writer; when fn changed something it
// bumps Version in the same transaction and signals after the commit.
func (s *Store) write(ctx context.Context, fn func(t *txn) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	t := &txn{Tx: tx}
	if err := fn(t); err != nil {
		return err
	}
	if !t.changed {
		return nil // nothing to commit; the rollback is free
	}
	if _, err := tx.ExecContext(ctx, `UPDATE store_version SET version = version + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", classify(err))
	}
	s.onWrite.Run()
	s.changes.Notify()
	return nil
}

// classify wraps constraint violations in the store's sentinels.
func classify(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return fmt.Errorf("%w: %w", gatehouse.ErrAlreadyExists, err)
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return fmt.Errorf("%w: %w", gatehouse.ErrNotFound, err)
	}
	return err
}

// notFound maps sql.ErrNoRows to gatehouse.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return gatehouse.ErrNotFound
	}
	return err
}

// micros encodes a time as microseconds, or NULL for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// jsonText encodes v for a JSON text column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode: %w", err)
	}
	return string(b), nil
}

func fromJSON(s string, v any) error {
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// collect reads rows with scan into a slice.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanString(rows *sql.Rows) (string, error) {
	var s string
	err := rows.Scan(&s)
	return s, err
}

// OnLocalWrite registers f to run after each write through this Store that
// changed something, once committed and before the write returns
// (in-process identity caches: promise 7, a revocation refused at the next
// request). Writes by other processes arrive through Changes instead.
func (s *Store) OnLocalWrite(f func()) { s.onWrite.Add(f) }
