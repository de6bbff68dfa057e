package simkit

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"example.com/storefront/sqlitedb"
)

func openCounted(t *testing.T, path string) (*Host, *sqlitedb.Counts) {
	t.Helper()
	counts := &sqlitedb.Counts{}
	h, err := Open(context.Background(), Config{DBPath: path, PublicURL: "http://127.0.0.1/sandbox", DBCounts: counts})
	if err != nil {
		t.Fatal(err)
	}
	return h, counts
}

func leaveEvent(h *Host, id string) {
	h.writer.later(`INSERT INTO events (id, provider, type, created, payload) VALUES (?, 'stripe', 'late', 0, '{}')`, id)
}

func insertEvent(tx *WriteTx, id string) error {
	_, err := tx.ExecContext(context.Background(), `INSERT INTO events (id, provider, type, created, payload) VALUES (?, 'stripe', 'now', 0, '{}')`, id)
	return err
}

func stored(t *testing.T, h *Host, id string) bool {
	t.Helper()
	var n int
	if err := h.db.QueryRow(`SELECT count(*) FROM events WHERE id = ?`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// waitStored waits up to 5 s (lateWithin is a fraction of that) for id.
func waitStored(t *testing.T, h *Host, id string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !stored(t, h, id); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s left for later was never written", id)
		}
	}
}

// A statement left for later goes into the next write's transaction: no
// transaction of its own, then or after.
func TestLateStatementsRideTheNextWrite(t *testing.T) {
	h, counts := openCounted(t, filepath.Join(t.TempDir(), "sandbox.db"))
	defer h.Close()
	before := counts.Transactions()
	leaveEvent(h, "late")
	if stored(t, h, "late") {
		t.Fatal("written at once")
	}
	if err := h.Write(context.Background(), func(tx *WriteTx) error { return insertEvent(tx, "write") }); err != nil {
		t.Fatal(err)
	}
	if !stored(t, h, "late") || !stored(t, h, "write") {
		t.Fatal("the write did not commit both")
	}
	time.Sleep(2 * lateWithin)
	if got := counts.Transactions() - before; got != 1 {
		t.Errorf("%d transactions, want the write's alone", got)
	}
}

// With no write to ride, a statement left for later is written on its own
// within lateWithin.
func TestLateStatementsAreWrittenAloneWithoutAWrite(t *testing.T) {
	h, counts := openCounted(t, filepath.Join(t.TempDir(), "sandbox.db"))
	defer h.Close()
	before := counts.Transactions()
	leaveEvent(h, "a")
	leaveEvent(h, "b")
	waitStored(t, h, "a")
	waitStored(t, h, "b")
	if got := counts.Transactions() - before; got != 1 {
		t.Errorf("%d transactions, want one for both", got)
	}
}

// A write that fails, or whose context ends before its commit, takes
// nothing left for later with it.
func TestLateStatementsOutliveAFailedWrite(t *testing.T) {
	h, _ := openCounted(t, filepath.Join(t.TempDir(), "sandbox.db"))
	defer h.Close()
	leaveEvent(h, "before-failure")
	failed := errors.New("fn failed")
	if err := h.Write(context.Background(), func(tx *WriteTx) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("Write: %v", err)
	}
	leaveEvent(h, "before-end")
	ctx, cancel := context.WithCancel(context.Background())
	if err := h.Write(ctx, func(tx *WriteTx) error {
		err := insertEvent(tx, "ended")
		cancel()
		return err
	}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Write whose context ended: %v", err)
	}
	waitStored(t, h, "before-failure")
	waitStored(t, h, "before-end")
	if stored(t, h, "ended") {
		t.Error("the write whose context ended committed")
	}
}

// Closing writes what was left for later.
func TestCloseWritesLateStatements(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sandbox.db")
	h, _ := openCounted(t, path)
	leaveEvent(h, "late")
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	h, _ = openCounted(t, path)
	defer h.Close()
	if !stored(t, h, "late") {
		t.Error("lost at close")
	}
}
