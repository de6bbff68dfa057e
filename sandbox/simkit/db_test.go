package simkit_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"example.com/storefront/internal/cputime"
	"example.com/storefront/sandbox/simkit"
)

// A write commits whole or not at all: what fn wrote is kept when fn
// returns nil, and rolled back when fn fails, panics, or its context ends
// before the commit; the writer goes on serving writes after each. Its
// queries start no goroutine of their own (database/sql starts one for
// each query of a Tx).
func TestWritesCommitWholeOrNotAtAll(t *testing.T) {
	ctx := context.Background()
	h, err := simkit.Open(ctx, simkit.Config{DBPath: filepath.Join(t.TempDir(), "sandbox.db"), PublicURL: "http://127.0.0.1/sandbox"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	insert := func(tx *simkit.WriteTx, id string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO events (id, provider, type, created, payload) VALUES (?, 'stripe', 't', 0, '{}')`, id)
		return err
	}
	count := func() int {
		t.Helper()
		var n int
		if err := h.Write(ctx, func(tx *simkit.WriteTx) error {
			return tx.QueryRowContext(ctx, `SELECT count(*) FROM events`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}

	if err := h.Write(ctx, func(tx *simkit.WriteTx) error { return insert(tx, "kept") }); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("fn failed")
	if err := h.Write(ctx, func(tx *simkit.WriteTx) error {
		if err := insert(tx, "failed"); err != nil {
			return err
		}
		return failed
	}); !errors.Is(err, failed) {
		t.Errorf("a failing write returned %v, want its error", err)
	}
	func() {
		defer func() { recover() }()
		h.Write(ctx, func(tx *simkit.WriteTx) error {
			insert(tx, "panicked")
			panic("fn panicked")
		})
	}()
	ended, cancel := context.WithCancel(ctx)
	if err := h.Write(ended, func(tx *simkit.WriteTx) error {
		err := insert(tx, "ended")
		cancel()
		return err
	}); !errors.Is(err, context.Canceled) {
		t.Errorf("a write whose context ended before its commit returned %v, want context.Canceled", err)
	}
	if n := count(); n != 1 {
		t.Errorf("%d events stored, want only the committed one", n)
	}

	const queries = 200
	before, ok := cputime.GoroutinesCreated()
	if !ok {
		t.Skip("this Go does not count the goroutines it creates")
	}
	cctx, cancelQueries := context.WithCancel(ctx)
	defer cancelQueries()
	if err := h.Write(cctx, func(tx *simkit.WriteTx) error {
		for range queries {
			var n int
			if err := tx.QueryRowContext(cctx, `SELECT count(*) FROM events`).Scan(&n); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	after, _ := cputime.GoroutinesCreated()
	if started := after - before; started > queries/10 {
		t.Errorf("a write of %d queries started %d goroutines, want none of its own", queries, started)
	}
}
