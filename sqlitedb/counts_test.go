package sqlitedb

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"
	"time"
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

// A transaction written as statements (BEGIN … COMMIT on one connection,
// as the sandbox's writer runs them) holds the write gate from its BEGIN
// to its COMMIT or ROLLBACK, as one begun with BeginTx does, and counts as
// one: another writer of the process waits for its turn, a ROLLBACK TO a
// savepoint keeps it, and a BEGIN inside it fails without giving it up.
func TestTransactionsWrittenAsStatements(t *testing.T) {
	ctx := context.Background()
	var counts Counts
	c := newConnector(filepath.Join(t.TempDir(), "statements.db"))
	c.counts = &counts
	db := sql.OpenDB(c)
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	exec := func(query string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, query); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	held := func() bool { return len(c.gate) == 1 }
	stmts, txs := counts.Statements(), counts.Transactions()

	exec(`BEGIN IMMEDIATE`)
	if !held() {
		t.Fatal("BEGIN did not take the gate's turn")
	}
	exec(`INSERT INTO t VALUES (1)`)
	exec(`SAVEPOINT s`)
	exec(`INSERT INTO t VALUES (2)`)
	exec(`ROLLBACK TO s`)
	exec(`RELEASE s`)
	if !held() {
		t.Fatal("ROLLBACK TO a savepoint gave the turn up")
	}
	if _, err := conn.ExecContext(ctx, `BEGIN`); err == nil {
		t.Fatal("a BEGIN inside a transaction ran")
	}
	if !held() {
		t.Fatal("a refused BEGIN gave the open transaction's turn up")
	}
	other := make(chan error, 1)
	go func() {
		_, err := db.ExecContext(ctx, `INSERT INTO t VALUES (3)`)
		other <- err
	}()
	select {
	case err := <-other:
		t.Fatalf("another writer ran during the transaction (%v)", err)
	case <-time.After(50 * time.Millisecond):
	}
	exec(`COMMIT`)
	if err := <-other; err != nil {
		t.Fatalf("the other writer, after the COMMIT: %v", err)
	}
	if held() {
		t.Fatal("the turn was kept after COMMIT")
	}
	exec(`BEGIN IMMEDIATE`)
	exec(`INSERT INTO t VALUES (4)`)
	exec(`ROLLBACK`)
	if held() {
		t.Fatal("the turn was kept after ROLLBACK")
	}

	var got []int
	rows, err := db.QueryContext(ctx, `SELECT n FROM t ORDER BY n`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		rows.Scan(&n)
		got = append(got, n)
	}
	if err := rows.Err(); err != nil || !slices.Equal(got, []int{1, 3}) {
		t.Errorf("rows %v (%v), want [1 3]", got, err)
	}
	// The four inserts, the savepoint's three statements and the query;
	// BEGIN, COMMIT and ROLLBACK are the two transactions (the refused
	// BEGIN neither).
	if got, want := counts.Statements()-stmts, int64(8); got != want {
		t.Errorf("statements: %d, want %d", got, want)
	}
	if got, want := counts.Transactions()-txs, int64(2); got != want {
		t.Errorf("transactions: %d, want %d", got, want)
	}
}

func TestTxControl(t *testing.T) {
	for q, want := range map[string]txStatement{
		"BEGIN IMMEDIATE": txBegins, "  begin;": txBegins, "BEGIN\n\tIMMEDIATE": txBegins, "BEGINNING": txOther,
		"COMMIT": txEnds, "end transaction": txEnds, "ROLLBACK": txEnds, "ROLLBACK;": txEnds, "ROLLBACK TRANSACTION": txEnds,
		"ROLLBACK TO s": txOther, "rollback transaction to s": txOther, "ROLLBACK\nTO s": txOther,
		"SAVEPOINT s": txOther, "RELEASE s": txOther, "INSERT INTO t VALUES (1)": txOther, "": txOther,
	} {
		if got := txControl(q); got != want {
			t.Errorf("txControl(%q) = %d, want %d", q, got, want)
		}
	}
}
