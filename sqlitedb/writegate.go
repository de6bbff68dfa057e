package sqlitedb

import (
	"context"
	"database/sql/driver"
	"strings"
	"time"
	"unicode"
)

// writeGate lets one write of this process at a time reach a database.
//
// SQLite has one writer. A connection that finds the write lock taken
// sleeps in its busy handler, 1, 2, 5, 10… ms at a time, however soon the
// lock is free again: with a few requests writing at once, most of their
// time went to those sleeps. Writers of one process instead queue here and
// are handed the turn the moment it is free. Another process on the same
// file (a second instance, the sandbox's own process) still meets SQLite's
// busy handler, as before.
type writeGate chan struct{}

func newWriteGate() writeGate { return make(writeGate, 1) }

// gateWait bounds the wait for the turn, as busy_timeout bounds SQLite's:
// past it the write goes on to SQLite's own lock and busy handler, so a
// caller that writes outside the transaction it holds gets SQLite's
// SQLITE_BUSY, as before, not a hang.
const gateWait = 5 * time.Second

// enter waits for the turn and reports whether it has it; a caller that
// has it must leave.
func (g writeGate) enter(ctx context.Context) bool {
	select {
	case g <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(gateWait)
	defer t.Stop()
	select {
	case g <- struct{}{}:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

func (g writeGate) leave() { <-g }

// writes reports whether a statement run outside a transaction may write:
// all but queries, so that the gate is never skipped for a write.
func writes(query string) bool {
	q := strings.TrimSpace(query)
	return !(len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")) && !(len(q) >= 7 && strings.EqualFold(q[:7], "EXPLAIN"))
}

// txControl tells a statement that begins or ends a transaction: BEGIN
// (any kind), and COMMIT, END or ROLLBACK (but not ROLLBACK TO, which
// ends a savepoint only).
func txControl(query string) txStatement {
	word, rest := firstWord(query)
	switch {
	case strings.EqualFold(word, "BEGIN"):
		return txBegins
	case strings.EqualFold(word, "COMMIT"), strings.EqualFold(word, "END"):
		return txEnds
	case strings.EqualFold(word, "ROLLBACK"):
		next, after := firstWord(rest)
		if strings.EqualFold(next, "TRANSACTION") {
			next, _ = firstWord(after)
		}
		if strings.EqualFold(next, "TO") {
			return txOther
		}
		return txEnds
	}
	return txOther
}

// firstWord splits s, less leading space, at its first space or semicolon.
func firstWord(s string) (word, rest string) {
	s = strings.TrimLeftFunc(s, unicode.IsSpace)
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == ';' }); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

type txStatement int

const (
	txOther txStatement = iota
	txBegins
	txEnds
)

// gatedTx leaves the gate once the transaction ends.
type gatedTx struct {
	driver.Tx
	c *cachingConn
}

func (t *gatedTx) Commit() error {
	defer t.c.endTx()
	return t.Tx.Commit()
}

func (t *gatedTx) Rollback() error {
	defer t.c.endTx()
	return t.Tx.Rollback()
}

// gatedRows leaves the gate when the rows of a writing query (UPDATE …
// RETURNING) are closed: SQLite commits it when the statement is reset.
type gatedRows struct {
	driver.Rows
	gate writeGate
}

func (r *gatedRows) Close() error {
	defer r.gate.leave()
	return r.Rows.Close()
}
