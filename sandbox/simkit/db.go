package simkit

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"example.com/storefront/sqlitedb"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// openDB opens (or creates) the sandbox database at path with every
// provider's tables. The migrations of both providers live here, in one
// sequence, because they share one file (and its idempotency and event
// tables); a published migration never changes.
func openDB(ctx context.Context, path string) (*sql.DB, error) {
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return sqlitedb.Open(ctx, path, migrations)
}

// ErrNotFound is what the providers' store lookups return for ids that do
// not exist, so that a handler can tell "no such object" from a failure.
var ErrNotFound = errors.New("not found")

// Querier is what the providers' store functions need; both *sql.DB and
// *sql.Tx (and so *WriteTx) satisfy it.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// WriteTx is a transaction that also collects the webhook deliveries its
// events queued, so that they start only once the events are committed.
type WriteTx struct {
	*sql.Tx
	deliveries []string // event ids
}

// Write runs fn in one transaction, commits it unless fn fails, and then
// starts the webhook deliveries fn queued. Callers hold the host's lock
// (see Lock).
func (h *Host) Write(ctx context.Context, fn func(tx *WriteTx) error) error {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	wt := &WriteTx{Tx: tx}
	if err := fn(wt); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	h.webhooks.start(wt.deliveries...)
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
