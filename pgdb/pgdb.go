// Package pgdb opens PostgreSQL the way this project wants it: through
// pgx's database/sql driver, with the store's ? placeholders read as
// PostgreSQL's $1, $2, …, and embedded forward-only migrations applied
// under an advisory lock, so that instances starting together migrate once.
package pgdb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"example.com/storefront/sqlmigrate"
)

// migrationLock is the advisory lock key the migration runner holds: any
// fixed number, the same in every instance.
const migrationLock = 7_140_217_017

// Open connects to the database at rawURL (postgres://… or
// postgresql://…), checks that it answers, and applies every migration in
// migrations that it lacks. Errors name the database without its password;
// the caller says which setting it came from.
func Open(ctx context.Context, rawURL string, migrations fs.FS) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Redact(rawURL), err)
	}
	db := sql.OpenDB(connector{Connector: stdlib.GetConnector(*cfg), rebound: newRebindCache()})
	// Instances share the server's connections (100 by default): a few
	// per instance, kept warm.
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s does not answer: %w", Redact(rawURL), err)
	}
	if err := migrate(ctx, db, migrations); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate %s: %w", Redact(rawURL), err)
	}
	return db, nil
}

// IsURL reports whether s names a PostgreSQL database rather than a file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact is rawURL without its password, for messages and logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// migrate applies the migrations on one connection holding a session
// advisory lock: a second instance waits, then finds them applied.
func migrate(ctx context.Context, db *sql.DB, migrations fs.FS) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	// Unlocked explicitly: the connection goes back to the pool, where
	// a session lock would outlive the run.
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	return sqlmigrate.Apply(ctx, conn, migrations)
}

// Unavailable reports whether err means the database could not be
// reached or dropped the connection (a restart, a network fault, a server
// shutting down or out of connections), as opposed to a bad query: the
// request may succeed if tried again later.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now; 53300: too many connections.
		return strings.HasPrefix(pgErr.Code, "08") || pgErr.Code == "57P01" || pgErr.Code == "57P02" ||
			pgErr.Code == "57P03" || pgErr.Code == "53300"
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) || pgconn.SafeToRetry(err) || errors.Is(err, driver.ErrBadConn) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
}
