// Package dbtest runs a test on each database the store supports: a
// SQLite file in a temporary folder, and a fresh PostgreSQL database (a
// package using it calls pgtest.Main from its TestMain).
package dbtest

import (
	"path/filepath"
	"testing"

	"example.com/storefront/internal/pgtest"
)

// Kind is a database the store supports.
type Kind string

const (
	KindSQLite   Kind = "sqlite"
	KindPostgres Kind = "postgres"
)

// New makes a new, empty database of kind k for t, and returns what
// store.Open takes: a file's path, or a URL.
func (k Kind) New(t testing.TB) string {
	if k == KindPostgres {
		return Postgres(t)
	}
	return SQLite(t)
}

// Each runs test once per database kind, as subtests named "sqlite" and
// "postgres"; the test makes its databases with db.New.
func Each(t *testing.T, test func(t *testing.T, db Kind)) {
	t.Helper()
	for _, k := range []Kind{KindSQLite, KindPostgres} {
		t.Run(string(k), func(t *testing.T) { test(t, k) })
	}
}

// SQLite is a new SQLite file's path.
func SQLite(t testing.TB) string { return filepath.Join(t.TempDir(), "app.db") }

// Postgres is the URL of a new, empty PostgreSQL database (see pgtest.URL:
// the test is skipped without PostgreSQL, and fails in CI).
func Postgres(t testing.TB) string { return pgtest.URL(t) }
