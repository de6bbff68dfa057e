// Package sqlitedb opens SQLite files the way this project wants them
// (WAL, foreign keys, a busy timeout, immediate write transactions) and
// applies embedded, forward-only SQL migrations.
//
// Both the app's store and the sandbox use it, each on its own file.
package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"time"

	"example.com/storefront/sqlmigrate"
	"modernc.org/sqlite"
)

// Open opens (creating if needed) the SQLite database at file and applies
// every migration in migrations (see package sqlmigrate).
//
// Pragmas are DSN parameters, not Exec calls, so that every pooled
// connection gets them; _txlock=immediate makes each transaction take the
// write lock up front, which avoids SQLITE_BUSY on read-then-write.
//
// The file is private to its owner (0600), even when it existed with wider
// permissions: SQLite gives its -wal and -shm files the same mode.
func Open(ctx context.Context, file string, migrations fs.FS, opts ...Option) (*sql.DB, error) {
	if err := private(file); err != nil {
		return nil, err
	}
	cn := newConnector(file)
	for _, o := range opts {
		o(&cn)
	}
	db := sql.OpenDB(cn)
	// database/sql opens connections without limit by default; SQLite has
	// one writer anyway. It also keeps only 2 idle, closing the rest as
	// they are released: a new SQLite connection parses the whole schema
	// and starts with no prepared statements, which under a few
	// concurrent requests was a third of the app's CPU. Keep them all.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", file, err)
	}
	if err := migrate(ctx, db, migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", file, err)
	}
	return db, nil
}

func newConnector(file string) connector {
	q := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(5000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return connector{dsn: "file:" + file + "?" + q.Encode(), driver: &sqlite.Driver{}, gate: newWriteGate()}
}

// private creates file with mode 0600 if it is missing, and sets 0600 on
// it (and its -wal and -shm files) if it exists.
func private(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, err)
	}
	f.Close()
	for _, name := range []string{file, file + "-wal", file + "-shm"} {
		if err := os.Chmod(name, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("make %s private: %w", name, err)
		}
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return sqlmigrate.Apply(ctx, conn, migrations)
}
