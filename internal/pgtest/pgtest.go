// Package pgtest gives tests a real PostgreSQL: URL hands each test a new,
// empty database on a server shared by the test binary, and Start gives a
// test a server of its own to stop, restart or crash.
//
// The server is either the one at PG_TEST_URL, or a throwaway one started
// from the installed binaries (initdb and postgres, found on the PATH,
// under `pg_config --bindir` or in /usr/lib/postgresql/*/bin), in a fresh
// folder under os.TempDir, on a Unix socket, with durability turned off
// for speed. Without either, tests skip saying what to install, and fail
// when CI=true.
//
// A package whose tests call URL stops the shared server in its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Only tests import it.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// EnvURL names the variable holding the URL of a server for the tests to
// create their databases on, instead of starting one. Its user needs the
// CREATEDB privilege.
const EnvURL = "PG_TEST_URL"

// shared is the server that URL creates databases on: one per test binary,
// started by the first test that asks, stopped by Main. It is the
// package's one piece of state, and the reason for the package: a server
// start costs half a second, a database about ten milliseconds.
var shared cluster

type cluster struct {
	once  sync.Once
	err   error   // why there is no server
	srv   *Server // the throwaway server; nil with PG_TEST_URL
	base  string  // URL of a database to connect to for CREATE DATABASE
	admin *sql.DB
	n     atomic.Int64 // databases made, for unique names

	// createOptions end each CREATE DATABASE: PostgreSQL 15 copies the
	// template block by block through the write-ahead log by default;
	// copying its files is cheaper on the throwaway server, which syncs
	// nothing to disk (here, 8 ms of CPU time against 19 ms).
	createOptions string
}

// URL returns the URL of a new, empty database for this test, dropped when
// the test ends. The URL is a plain postgres:// URL that child processes
// can use too. Without a server, the test is skipped (failed when
// CI=true) with a message saying what to install.
func URL(t testing.TB) string {
	t.Helper()
	return shared.url(t)
}

func (c *cluster) url(t testing.TB) string {
	t.Helper()
	c.once.Do(c.start)
	if errors.Is(c.err, errNoBinaries) {
		unavailable(t, c.err)
	}
	if c.err != nil {
		t.Fatal(c.err)
	}
	name := c.name(t.Name())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.admin.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)+c.createOptions); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		// FORCE: connections the test left open must not keep it.
		if _, err := c.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(c.base, name)
}

// start starts the throwaway server, or finds the one at PG_TEST_URL.
func (c *cluster) start() {
	c.base = os.Getenv(EnvURL)
	if c.base == "" {
		bin, err := systemFinder().find()
		if err != nil {
			c.err = err
			return
		}
		if c.srv, err = newServer(bin); err != nil {
			c.err = err
			return
		}
		c.base = c.srv.urlOf("postgres")
	}
	if !strings.HasPrefix(c.base, "postgres://") && !strings.HasPrefix(c.base, "postgresql://") {
		c.err = fmt.Errorf("pgtest: %s must be a postgres:// URL", EnvURL)
		return
	}
	cfg, err := pgx.ParseConfig(c.base)
	if err != nil {
		c.err = fmt.Errorf("pgtest: %s: %w", EnvURL, err)
		return
	}
	c.admin = stdlib.OpenDB(*cfg)
	c.admin.SetMaxOpenConns(8) // enough for parallel tests: creates take turns anyway
	var version int
	if err := c.admin.QueryRow(`SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		c.err = fmt.Errorf("pgtest: connect to %s: %w", redact(c.base), err)
		return
	}
	if c.srv != nil && version >= 150000 { // older servers copy files, and know no STRATEGY
		c.createOptions = " STRATEGY FILE_COPY"
	}
}

// name is a database name unique on the server, even when several test
// binaries share it through PG_TEST_URL, and readable: it says which test
// made it.
func (c *cluster) name(test string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t%d_%d_", os.Getpid(), c.n.Add(1))
	for _, r := range strings.ToLower(test) {
		if b.Len() >= 63 { // PostgreSQL's limit on names
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// close stops the throwaway server and removes its folder.
func (c *cluster) close() error {
	var err error
	if c.admin != nil {
		err = c.admin.Close()
	}
	if c.srv != nil {
		err = errors.Join(err, c.srv.remove())
	}
	return err
}

// Main runs the tests and exits, after stopping the shared server: call
// it from TestMain. (Without it, on Linux, the server is killed when the
// test binary exits, and its folder is removed by the next test binary
// that starts one.)
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests, stops the shared server and removes its folder, and
// returns the exit code: for a TestMain that does more.
func Run(m *testing.M) int {
	code := m.Run()
	shared.once.Do(func() {}) // no test asked: nothing to start later
	if err := shared.close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// withDatabase is base, a postgres:// URL, naming database db instead.
func withDatabase(base, db string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base // pgx.ParseConfig accepted it at start: not reached
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String()
}

func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func quoteIdent(name string) string { return pgx.Identifier{name}.Sanitize() }
