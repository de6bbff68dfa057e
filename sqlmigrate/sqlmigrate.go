// Package sqlmigrate applies embedded, forward-only SQL migrations: files
// named NNNN_name.sql, in lexical order, each once, each in its own
// transaction, recorded in schema_migrations. The same runner serves
// SQLite and PostgreSQL; each database keeps its own folder of files.
package sqlmigrate

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"
)

// Apply applies every migration in files that conn has not applied yet.
// The caller makes conn exclusive for the run (PostgreSQL: an advisory
// lock held on conn; SQLite: its write lock, taken by each transaction),
// so that processes starting together apply each migration once.
func Apply(ctx context.Context, conn *sql.Conn, files fs.FS) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		if err := applyFile(ctx, conn, files, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func applyFile(ctx context.Context, conn *sql.Conn, files fs.FS, name string) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	// $1 is a placeholder both databases read (SQLite as ?1).
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = $1`, path.Base(name)).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := fs.ReadFile(files, name)
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(body)) == "" {
		return fmt.Errorf("empty migration")
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)`,
		path.Base(name), time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return err
	}
	return tx.Commit()
}
