package simkit

import (
	"context"
	"sync"
	"time"
)

// lateWithin is how long a statement left for later waits for a write to
// ride with before it is written in a transaction of its own.
const lateWithin = 200 * time.Millisecond

// lateStatement is a write that may wait (see writer.later).
type lateStatement struct {
	query string
	args  []any
}

// lateStatements are the statements left for later, in the order given.
type lateStatements struct {
	mu    sync.Mutex
	list  []lateStatement
	timer *time.Timer // writes them alone once lateWithin has passed
	flush func()      // the writer's flushLate
}

// later leaves a statement for the writer's next transaction, or for one
// of its own within lateWithin if no write comes first: a commit, with its
// pages written to the WAL, costs more than the statement, and most of
// these ride a write that commits anyway.
//
// Only a statement whose loss a kill -9 may cost goes this way: the
// record of a webhook attempt, which lost leaves the delivery pending, to
// be made again after a restart (delivery is at least once, as at the
// providers). A graceful close writes them all.
func (w *writer) later(query string, args ...any) {
	l := &w.late
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, lateStatement{query, args})
	if l.timer == nil {
		l.timer = time.AfterFunc(lateWithin, l.flush)
	}
}

// take returns the statements left for later and forgets them.
func (l *lateStatements) take() []lateStatement {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.list
	l.list = nil
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	return list
}

// requeue puts back statements taken by a transaction that did not commit,
// ahead of any left since.
func (l *lateStatements) requeue(list []lateStatement) {
	if len(list) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(list, l.list...)
	if l.timer == nil {
		l.timer = time.AfterFunc(lateWithin, l.flush)
	}
}

// pending reports whether any statement is left for later.
func (l *lateStatements) pending() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.list) > 0
}

// flushLate writes the statements left for later in a transaction of
// their own, when no write took them within lateWithin. If that fails,
// they are not tried again (see later).
func (w *writer) flushLate() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed || !w.late.pending() {
		return
	}
	if _, err := w.transact(context.Background(), nil, false); err != nil {
		w.log.Error("sandbox: write what was left for later", "err", err)
	}
}
