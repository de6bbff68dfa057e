package sqlitedb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
	"time"
)

func TestOpenAppliesPragmasAndMigrationsOnce(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "test.db")
	migrations := fstest.MapFS{
		"0001_init.sql": {Data: []byte(`CREATE TABLE things (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);`)},
		"0002_more.sql": {Data: []byte(`ALTER TABLE things ADD COLUMN label TEXT;`)},
		"README.md":     {Data: []byte(`not a migration`)},
	}
	db, err := Open(ctx, file, migrations)
	if err != nil {
		t.Fatal(err)
	}
	var mode string
	var fk, busy int
	if err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&busy); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" || fk != 1 || busy != 5000 {
		t.Fatalf("journal_mode=%s foreign_keys=%d busy_timeout=%d, want wal 1 5000", mode, fk, busy)
	}
	db.Close()

	// Re-opening must not re-run 0002 (ALTER TABLE would fail on a duplicate column).
	db, err = Open(ctx, file, migrations)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	var applied int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != 2 {
		t.Fatalf("applied migrations = %d, want 2", applied)
	}
}

func TestOpenFailsOnBadMigration(t *testing.T) {
	file := filepath.Join(t.TempDir(), "test.db")
	_, err := Open(context.Background(), file, fstest.MapFS{"0001_bad.sql": {Data: []byte(`CREATE TABLE (`)}})
	if err == nil {
		t.Fatal("Open with a broken migration succeeded")
	}
}

// Concurrent read-then-write transactions must not fail with SQLITE_BUSY:
// that is what _txlock=immediate is for.
func TestConcurrentReadThenWrite(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"), fstest.MapFS{
		"0001_init.sql": {Data: []byte(`CREATE TABLE counter (n INTEGER NOT NULL); INSERT INTO counter VALUES (0);`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				tx, err := db.BeginTx(ctx, nil)
				if err != nil {
					errs <- err
					return
				}
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				if _, err := tx.ExecContext(ctx, `UPDATE counter SET n = ?`, n+1); err != nil {
					tx.Rollback()
					errs <- err
					return
				}
				if err := tx.Commit(); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT n FROM counter`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 80 {
		t.Fatalf("counter = %d, want 80", n)
	}
}

// The statement cache must not hand a statement that still has open rows
// to a second query, and must keep working past its size limit.
func TestStatementCache(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "test.db"), fstest.MapFS{
		"0001_init.sql": {Data: []byte(`CREATE TABLE t (n INTEGER NOT NULL); INSERT INTO t VALUES (1), (2), (3);`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT n FROM t WHERE n >= ? ORDER BY n`
	rows, err := tx.QueryContext(ctx, q, 1)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		// the same SQL while its cached statement is still stepping
		var inner int
		if err := tx.QueryRowContext(ctx, q, n).Scan(&inner); err != nil {
			t.Fatal(err)
		}
		if inner != n {
			t.Fatalf("inner query = %d, want %d", inner, n)
		}
		sum += n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	if sum != 6 {
		t.Fatalf("sum = %d, want 6", sum)
	}
	// past the cache limit, queries still run (uncached)
	for i := range maxCachedStatements + 10 {
		var n int
		if err := tx.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + count(*) FROM t`, i)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != i+3 {
			t.Fatalf("query %d = %d", i, n)
		}
	}
	// and cached statements are reused with new arguments
	for _, want := range []int{3, 2, 1} {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM t WHERE n >= ?`, 4-want).Scan(&n); err != nil || n != want {
			t.Fatalf("count = %d (%v), want %d", n, err, want)
		}
	}
}

// Writers of one process take turns at the gate, and every way a write
// can end gives the turn back: a commit, a rollback, a transaction whose
// context ends, a write outside a transaction, the rows of UPDATE …
// RETURNING once closed. A turn kept would stall every later writer.
func TestWritersGiveTheTurnBack(t *testing.T) {
	ctx := context.Background()
	c := newConnector(filepath.Join(t.TempDir(), "test.db"))
	db := sql.OpenDB(c)
	defer db.Close()
	db.SetMaxOpenConns(8)
	if _, err := db.ExecContext(ctx, `CREATE TABLE things (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				switch i % 5 {
				case 0:
					tx, err := db.BeginTx(ctx, nil)
					if err == nil {
						_, err = tx.ExecContext(ctx, `INSERT INTO things (n) VALUES (?)`, g)
					}
					if err == nil {
						err = tx.Commit()
					}
					if err != nil {
						errs <- err
					}
				case 1:
					if tx, err := db.BeginTx(ctx, nil); err == nil {
						tx.ExecContext(ctx, `INSERT INTO things (n) VALUES (-1)`)
						tx.Rollback()
					} else {
						errs <- err
					}
				case 2:
					cctx, cancel := context.WithCancel(ctx)
					if tx, err := db.BeginTx(cctx, nil); err == nil {
						tx.ExecContext(cctx, `INSERT INTO things (n) VALUES (-2)`)
					}
					cancel() // database/sql rolls the transaction back
				case 3:
					if _, err := db.ExecContext(ctx, `UPDATE things SET n = n + 1000 WHERE id = (SELECT max(id) FROM things)`); err != nil {
						errs <- err
					}
				case 4:
					rows, err := db.QueryContext(ctx, `UPDATE things SET n = n WHERE n >= 0 RETURNING id`)
					if err != nil {
						errs <- err
						continue
					}
					rows.Next() // not read to the end
					rows.Close()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// Once database/sql has finished every rollback, no turn is held.
	deadline := time.Now().Add(10 * time.Second)
	for len(c.gate) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(c.gate) != 0 {
		t.Fatal("a writer kept its turn at the gate")
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM things WHERE n < 0`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d rolled-back rows kept (%v)", n, err)
	}
}
