package sqlitedb

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"testing/fstest"
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
