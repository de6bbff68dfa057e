package sqlitedb

import (
	"context"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// Counts counts each statement once, however it runs (in a transaction or
// alone, a query or not, cached or not), and each transaction begun,
// committed or not; a database opened without counts runs as before.
func TestCountsStatementsAndTransactions(t *testing.T) {
	ctx := context.Background()
	migrations := fstest.MapFS{"0001_init.sql": {Data: []byte(`CREATE TABLE t (n INTEGER NOT NULL);`)}}
	var c Counts
	db, err := Open(ctx, filepath.Join(t.TempDir(), "counted.db"), migrations, WithCounts(&c))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts, txs := c.Statements(), c.Transactions() // the migrations'

	if _, err := db.ExecContext(ctx, `INSERT INTO t VALUES (?)`, 1); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (?)`, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT max(n) FROM t`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two rows of one statement open at once: the second runs uncached.
	rows, err := tx.QueryContext(ctx, `SELECT n FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := tx.QueryContext(ctx, `SELECT n FROM t`)
	if err != nil {
		t.Fatal(err)
	}
	inner.Close()
	rows.Close()
	tx.Rollback()

	if got, want := c.Statements()-stmts, int64(6); got != want {
		t.Errorf("statements: %d, want %d", got, want)
	}
	if got, want := c.Transactions()-txs, int64(2); got != want {
		t.Errorf("transactions: %d, want %d", got, want)
	}

	plain, err := Open(ctx, filepath.Join(t.TempDir(), "plain.db"), migrations)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, err := plain.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if got := c.Statements() - stmts; got != 6 {
		t.Errorf("another database's statement was counted: %d", got)
	}
}
