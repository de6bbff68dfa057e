// Package dbtest runs a test on each database the store supports: a
// SQLite file in a temporary folder, and a fresh PostgreSQL database.
package dbtest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
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

// Postgres is the URL of a new, empty PostgreSQL database (TEMPORARY: on PG_TEST_URL).
func Postgres(t testing.TB) string {
	base := os.Getenv("PG_TEST_URL")
	if base == "" {
		t.Skip("PG_TEST_URL not set")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := fmt.Sprintf("t_%d", time.Now().UnixNano())
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, _ := sql.Open("pgx", base)
		db.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		db.Close()
	})
	i := strings.LastIndex(base, "/")
	return base[:i+1] + name
}
