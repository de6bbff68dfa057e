package sqlitedb

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	"example.com/storefront/internal/cputime"
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

	// A query whose context ends while its rows are read stops at the next,
	// also when database/sql was handed it detached (Detach) and cannot see
	// it end: the driver still does.
	for _, detach := range []bool{false, true} {
		rowsCtx, cancelRows := context.WithCancel(ctx)
		queryCtx := rowsCtx
		if detach {
			queryCtx = Detach(rowsCtx)
		}
		rows, err := db.QueryContext(queryCtx, `SELECT n FROM t ORDER BY n`)
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
			t.Errorf("rows after their context ended (detached: %t): read %d of 5, err %v; want at most 3 and context.Canceled", detach, read, err)
		}
		cancelRows()
	}
	if err := db.QueryRowContext(Detach(ended), `SELECT count(*) FROM t`).Scan(&n); !errors.Is(err, context.Canceled) {
		t.Errorf("detached query under an ended context: %v, want context.Canceled", err)
	}
	if _, err := db.QueryContext(Detach(ended), `INSERT INTO t VALUES (102) RETURNING n`); !errors.Is(err, context.Canceled) {
		t.Errorf("detached writing query under an ended context: %v, want context.Canceled", err)
	}

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

	// Queries detached from their context (Detach) start none either;
	// database/sql starts one for each query under a context that can end.
	before = goroutinesCreated(t)
	for range n {
		var v int
		if err := db.QueryRowContext(Detach(ctx), `SELECT n FROM t`).Scan(&v); err != nil {
			t.Fatal(err)
		}
	}
	if started := goroutinesCreated(t) - before; started > n/10 {
		t.Errorf("%d detached queries started %d goroutines, want none", n, started)
	}
}

// goroutinesCreated is cputime.GoroutinesCreated; a test (tb not nil) is
// skipped on a Go that does not count them.
func goroutinesCreated(tb testing.TB) uint64 {
	n, ok := cputime.GoroutinesCreated()
	if !ok && tb != nil {
		tb.Skip("this Go does not count the goroutines it creates")
	}
	return n
}

// BenchmarkPointQuery is one read of a row by its key, as most of a flow's
// statements are: under a context that can end, the same detached from it
// (Detach), under one that cannot (database/sql then starts no goroutine
// for the rows either), and in a
// transaction (database/sql starts one for the transaction and one for
// each query in it, whatever the context). -cpu 1,2 shows what those
// goroutines cost when another processor is idle to be woken.
func BenchmarkPointQuery(b *testing.B) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"), fstest.MapFS{
		"0001_init.sql": {Data: []byte(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
			INSERT INTO t VALUES (1, 'one');`)},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cancellable, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		tx   bool
	}{{"can-end", cancellable, false}, {"detached", Detach(cancellable), false}, {"cannot-end", ctx, false}, {"in-tx", ctx, true}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			started := goroutinesCreated(nil)
			b.RunParallel(func(pb *testing.PB) {
				var v string
				for pb.Next() {
					var err error
					if c.tx {
						err = readInTx(c.ctx, db, &v)
					} else {
						err = db.QueryRowContext(c.ctx, `SELECT v FROM t WHERE id = ?`, 1).Scan(&v)
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(goroutinesCreated(nil)-started)/float64(b.N), "goroutines/op")
		})
	}
}

func readInTx(ctx context.Context, db *sql.DB, v *string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return tx.QueryRowContext(ctx, `SELECT v FROM t WHERE id = ?`, 1).Scan(v)
}
