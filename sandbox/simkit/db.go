package simkit

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	"example.com/storefront/sqlitedb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// openDB opens (or creates) the sandbox database at path with every
// provider's tables. The migrations of both providers live here, in one
// sequence, because they share one file (and its idempotency and event
// tables); a published migration never changes.
func openDB(ctx context.Context, path string, opts ...sqlitedb.Option) (*sql.DB, error) {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return sqlitedb.Open(ctx, path, migrations, opts...)
}

// ErrNotFound is what the providers' store lookups return for ids that do
// not exist, so that a handler can tell "no such object" from a failure.
var ErrNotFound = errors.New("not found")

// Querier is what the providers' store functions need; *sql.DB, *sql.Tx
// and *WriteTx satisfy it.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// WriteTx is a transaction on the writer's connection that also collects
// the webhook deliveries its events queued, so that they start only once
// the events are committed.
//
// It is begun and ended with BEGIN IMMEDIATE and COMMIT statements rather
// than as a database/sql Tx, which starts a goroutine for itself and one
// for every query in it, to roll back if the context ends: the driver
// checks the context at each statement and row instead (sqlitedb.Detach),
// and write rolls back whatever did not commit.
type WriteTx struct {
	conn       *sql.Conn
	deliveries []queuedDelivery
}

// ExecContext runs a statement in the transaction.
func (tx *WriteTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.conn.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (tx *WriteTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.conn.QueryContext(sqlitedb.Detach(ctx), query, args...)
}

// QueryRowContext runs a query of one row in the transaction.
func (tx *WriteTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.conn.QueryRowContext(sqlitedb.Detach(ctx), query, args...)
}

// walAutocheckpoint is how many WAL pages the writer lets pile up before
// it copies them into the database file (SQLite's default is 1,000). Each
// checkpoint costs two fsyncs and copies each page once however often it
// changed, so rarer ones cost the sandbox much less CPU per request. The
// WAL file grows to about this many 4 KiB pages (16 MiB) and is reused.
// Durability is the same: a commit is in the WAL either way.
const walAutocheckpoint = 4000

// writer is the one connection every write of the sandbox goes through,
// one transaction at a time: SQLite has one writer anyway, and a mutex
// hands it on more cheaply than SQLite's busy waiting. Reads outside a
// write (webhook deliveries) use the pool.
type writer struct {
	mu     sync.Mutex
	conn   *sql.Conn
	closed bool
	log    *slog.Logger
	late   lateStatements // see later
}

func newWriter(ctx context.Context, db *sql.DB, log *slog.Logger) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, walAutocheckpoint)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("writer connection: %w", err)
	}
	w := &writer{conn: conn, log: log}
	w.late.flush = w.flushLate
	return w, nil
}

// exec runs one statement in a transaction of its own.
func (w *writer) exec(ctx context.Context, query string, args ...any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.conn.ExecContext(ctx, query, args...)
	return err
}

// close writes what was left for later and closes the connection.
func (w *writer) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.late.pending() {
		if _, err := w.transact(context.Background(), nil, false); err != nil {
			w.log.Error("sandbox: write what was left for later", "err", err)
		}
	}
	w.closed = true
	return w.conn.Close()
}

// Write runs fn in one transaction, commits it unless fn fails, and then
// starts the webhook deliveries fn queued. Callers hold the host's lock
// (see Lock), except the mailbox's, which keeps to its own table.
func (h *Host) Write(ctx context.Context, fn func(tx *WriteTx) error) error {
	deliveries, err := h.write(ctx, fn)
	if err != nil {
		return err
	}
	h.webhooks.start(deliveries...)
	return nil
}

// write runs fn in a transaction on the writer, with what was left for
// later (see writer.later) at its end, and returns the deliveries fn
// queued once it is committed.
func (h *Host) write(ctx context.Context, fn func(tx *WriteTx) error) ([]queuedDelivery, error) {
	w := h.writer
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errWriterClosed
	}
	return w.transact(ctx, fn, true)
}

var errWriterClosed = errors.New("the sandbox's database is closed")

// transact runs fn (if any) in one transaction, followed by the statements
// left for later; the caller holds w.mu. A late statement that fails is
// logged and dropped, the transaction going ahead: each records what may
// be lost (see later). When the transaction does not commit, the late
// statements it took are left for later again if requeue is set.
func (w *writer) transact(ctx context.Context, fn func(tx *WriteTx) error, requeue bool) ([]queuedDelivery, error) {
	conn := w.conn
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	committed := false
	var late []lateStatement
	defer func() {
		if !committed {
			// Also ends a transaction a failed COMMIT left open; where
			// SQLite rolled back already, the error says so and is moot.
			conn.ExecContext(context.Background(), `ROLLBACK`)
			if requeue {
				w.late.requeue(late)
			}
		}
	}()
	wt := &WriteTx{conn: conn}
	if fn != nil {
		if err := fn(wt); err != nil {
			return nil, err
		}
	}
	late = w.late.take()
	// Not cut short by ctx: they are no part of its request, and if ctx
	// has ended, the COMMIT fails and leaves them for later again.
	lctx := context.WithoutCancel(ctx)
	for i, st := range late {
		if _, err := conn.ExecContext(lctx, st.query, st.args...); err != nil {
			w.log.Error("sandbox: a write left for later failed; dropped", "statements", len(late)-i, "err", err)
			late = nil
			break
		}
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	committed = true
	return wt.deliveries, nil
}

// Savepoint runs fn inside tx so that, if fn fails, only fn's writes are
// undone: what tx did before stays, to be committed. It returns fn's error.
func (tx *WriteTx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := tx.ExecContext(ctx, `SAVEPOINT nested`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	queued := len(tx.deliveries)
	if err := fn(); err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO nested`); rerr != nil {
			// Not fn's error: the transaction is in no state to commit.
			return fmt.Errorf("roll back to savepoint after %v: %w", err, rerr)
		}
		tx.deliveries = tx.deliveries[:queued]
		if _, rerr := tx.ExecContext(ctx, `RELEASE nested`); rerr != nil {
			return fmt.Errorf("release savepoint after %v: %w", err, rerr)
		}
		return err
	}
	if _, err := tx.ExecContext(ctx, `RELEASE nested`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// JSONText encodes v for a JSON text column.
func JSONText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// NullJSON encodes v for a nullable JSON text column: a nil pointer (or nil
// map) becomes NULL.
func NullJSON[T any](v *T) (sql.NullString, error) {
	if v == nil {
		return sql.NullString{}, nil
	}
	s, err := JSONText(v)
	return sql.NullString{String: s, Valid: err == nil}, err
}

// ScanJSON decodes a nullable JSON text column into a new T, or nil.
func ScanJSON[T any](col sql.NullString) (*T, error) {
	if !col.Valid {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(col.String), v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// NullString maps a nil pointer to NULL, for optional text columns;
// StringPtr maps back.
func NullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func StringPtr(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	return &ns.String
}

// Deref is the value of an optional field, or "" when it is absent.
func Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
