package sandbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// errNotFound is returned by store lookups of ids that do not exist.
var errNotFound = errors.New("not found")

// querier is what the store functions need; both *sql.DB and *sql.Tx
// (and so *writeTx) satisfy it.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// writeTx is a transaction that also collects the webhook deliveries its
// events queued, so that they start only once the events are committed.
type writeTx struct {
	*sql.Tx
	deliveries []string // event ids
}

// write runs fn in one transaction, commits it unless fn fails, and then
// starts the webhook deliveries fn queued. Callers hold s.mu.
func (s *Sandbox) write(ctx context.Context, fn func(tx *writeTx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	wt := &writeTx{Tx: tx}
	if err := fn(wt); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	s.webhooks.start(wt.deliveries...)
	return nil
}

// jsonText encodes v for a JSON text column.
func jsonText(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// nullJSON encodes v for a nullable JSON text column: a nil pointer (or nil
// map) becomes NULL.
func nullJSON[T any](v *T) (sql.NullString, error) {
	if v == nil {
		return sql.NullString{}, nil
	}
	s, err := jsonText(v)
	return sql.NullString{String: s, Valid: err == nil}, err
}

// scanJSON decodes a nullable JSON text column into a new T, or nil.
func scanJSON[T any](col sql.NullString) (*T, error) {
	if !col.Valid {
		return nil, nil
	}
	v := new(T)
	if err := json.Unmarshal([]byte(col.String), v); err != nil {
		return nil, fmt.Errorf("decode %T: %w", v, err)
	}
	return v, nil
}

// nullString maps a nil pointer to NULL, for optional text columns;
// stringPtr maps back.
func nullString(s *string) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: *s, Valid: true}
}

func stringPtr(ns sql.NullString) *string {
	if !ns.Valid {
		return nil
	}
	return &ns.String
}
