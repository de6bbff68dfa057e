package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime/metrics"
	"testing"
	"testing/fstest"
)

func openCancelTest(t *testing.T) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "cancel.db"), fstest.MapFS{
		"0001_init.sql": {Data: []byte(`CREATE TABLE t (n INTEGER NOT NULL);`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A context that has ended stops the work before the next statement,
// transaction or row, and nothing it would have written is written.
func TestAnEndedContextRunsNothing(t *testing.T) {
	db := openCancelTest(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (?)`, i); err != nil {
			t.Fatal(err)
		}
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.ExecContext(ended, `INSERT INTO t VALUES (99)`); !errors.Is(err, context.Canceled) {
		t.Errorf("exec under an ended context: %v, want context.Canceled", err)
	}
	if _, err := db.BeginTx(ended, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("begin under an ended context: %v, want context.Canceled", err)
	}
	var n int
	if err := db.QueryRowContext(ended, `SELECT count(*) FROM t`).Scan(&n); !errors.Is(err, context.Canceled) {
		t.Errorf("query under an ended context: %v, want context.Canceled", err)
	}

	// A transaction whose context ends before its next statement: that
	// statement fails, and the transaction's earlier write is rolled back.
	txCtx, cancelTx := context.WithCancel(ctx)
	tx, err := db.BeginTx(txCtx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(txCtx, `INSERT INTO t VALUES (100)`); err != nil {
		t.Fatal(err)
	}
	cancelTx()
	if _, err := tx.ExecContext(txCtx, `INSERT INTO t VALUES (101)`); err == nil {
		t.Error("a statement of a transaction whose context ended ran")
	}
	tx.Rollback()

	// A query whose context ends while its rows are read stops at the next.
	rowsCtx, cancelRows := context.WithCancel(ctx)
	rows, err := db.QueryContext(rowsCtx, `SELECT n FROM t ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	read := 0
	for rows.Next() {
		if read++; read == 2 {
			cancelRows()
		}
	}
	if err := rows.Err(); !errors.Is(err, context.Canceled) || read > 3 {
		t.Errorf("rows after their context ended: read %d of 5, err %v; want at most 3 and context.Canceled", read, err)
	}
	cancelRows()

	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 5 {
		t.Errorf("rows in t: %d (%v), want the first 5 only", n, err)
	}
}

// A statement under a context that can end starts no goroutine to
// interrupt it (modernc's way): that goroutine and the processor it woke
// cost more than the statements of a page.
func TestStatementsStartNoGoroutine(t *testing.T) {
	db := openCancelTest(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil { // the connection, the cached statement
		t.Fatal(err)
	}
	const n = 200
	before := goroutinesCreated(t)
	for i := range n {
		if _, err := db.ExecContext(ctx, `UPDATE t SET n = ?`, i); err != nil {
			t.Fatal(err)
		}
	}
	// Other tests' background goroutines may start meanwhile; one per
	// statement, as before, would be 200.
	if started := goroutinesCreated(t) - before; started > n/10 {
		t.Errorf("%d statements started %d goroutines, want none of their own", n, started)
	}
}

func goroutinesCreated(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("this Go does not count the goroutines it creates")
	}
	return s[0].Value.Uint64()
}
