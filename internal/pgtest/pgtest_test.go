package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func mustExec(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, conn *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func TestURLsAreIsolatedAndDropped(t *testing.T) {
	var first string
	t.Run("two databases", func(t *testing.T) {
		first = URL(t)
		second := URL(t)
		if first == second {
			t.Fatalf("two tests got the same URL %s", first)
		}
		a, b := connect(t, first), connect(t, second)
		mustExec(t, a, `CREATE TABLE mandates (id text PRIMARY KEY)`)
		mustExec(t, a, `INSERT INTO mandates VALUES ('m_1')`)
		if n := count(t, b, `SELECT count(*) FROM pg_tables WHERE tablename = 'mandates'`); n != 0 {
			t.Errorf("the second database sees the first one's table")
		}
		if n := count(t, b, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`); n != 0 {
			t.Errorf("a new database has %d tables, want none", n)
		}
		// Left open on purpose: the drop must not wait for it.
		_ = a
	})
	// The subtest's cleanup dropped its databases.
	admin := connect(t, withDatabase(first, "postgres"))
	u, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if n := count(t, admin, `SELECT count(*) FROM pg_database WHERE datname = $1`, db); n != 0 {
		t.Errorf("database %s outlived its test", db)
	}
}

func TestFindNewestVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9", "15", "13"} {
		dir := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := finder{globs: []string{filepath.Join(root, "*", "bin")}}.find()
	if want := filepath.Join(root, "15", "bin"); got != want || err != nil {
		t.Errorf("find() = %q, %v; want %q", got, err, want)
	}
}

func TestWithoutBinaries(t *testing.T) {
	none := finder{path: "", globs: []string{filepath.Join(t.TempDir(), "*", "bin")}}
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			t.Setenv("CI", ci)
			f := &fakeTB{TB: t}
			f.run(func() { requireBinaries(f, none) })
			got, other := f.skipped, f.fatals
			if ci == "true" {
				got, other = f.fatals, f.skipped
			}
			if len(got) != 1 || len(other) != 0 {
				t.Fatalf("skipped %q, fatal %q; want one %s", f.skipped, f.fatals, map[string]string{"": "skip", "true": "fatal"}[ci])
			}
			for _, want := range []string{"initdb", "apt-get install postgresql", EnvURL} {
				if !strings.Contains(got[0], want) {
					t.Errorf("message %q does not name %s", got[0], want)
				}
			}
		})
	}
}

// fakeTB records what a helper does to its test. Skip and Fatal end the
// calling goroutine, as they do on a real test; run the helper with run.
type fakeTB struct {
	testing.TB
	mu      sync.Mutex
	skipped []string
	fatals  []string
}

func (f *fakeTB) Helper() {}

func (f *fakeTB) Skipf(format string, args ...any) {
	f.mu.Lock()
	f.skipped = append(f.skipped, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.fatals = append(f.fatals, fmt.Sprintf(format, args...))
	f.mu.Unlock()
	runtime.Goexit()
}

func (f *fakeTB) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }

// run calls fn in its own goroutine, so that Skip and Fatal can end it.
func (f *fakeTB) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}

func TestPGTestURLNotAURL(t *testing.T) {
	t.Setenv(EnvURL, "host=/tmp dbname=storefront")
	t.Setenv("CI", "")
	f := &fakeTB{TB: t}
	f.run(func() { (&cluster{}).url(f) })
	if len(f.fatals) != 1 || len(f.skipped) != 0 || !strings.Contains(f.fatals[0], EnvURL) {
		t.Fatalf("skipped %q, fatal %q; want one fatal naming %s", f.skipped, f.fatals, EnvURL)
	}
}
