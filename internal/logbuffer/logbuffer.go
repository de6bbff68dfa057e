// Package logbuffer holds a process's log lines for a moment and writes
// them out together, as nginx's access_log does with buffer= and flush=.
//
// Every request the storefront serves writes a log line. Written one by
// one, each line was a write system call to standard output, and under
// load those calls were about a tenth of what GET / cost. Held for up to a tenth
// of a second, a burst of lines goes out in one call. Lines keep their
// order; warnings and errors go out at once (FlushOn), so that what went
// wrong is never held back; a graceful stop writes everything (Close). A
// process killed by kill -9 can lose its last tenth of a second of
// informational lines, never a payment: money is in the database.
package logbuffer

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxPending is how much may wait: the line that brings the buffer to it
// writes the buffer out at once, so a burst takes bounded memory and a
// stalled destination (a full pipe) slows the process rather than filling
// its memory.
const maxPending = 64 << 10

// Writer is an io.Writer that writes through to another at most every so
// often. Its Write never fails: an error of the destination is returned
// by Flush and Close, as a log has nowhere better to report it.
type Writer struct {
	out   io.Writer
	every time.Duration
	timer *time.Timer

	outMu sync.Mutex // held while writing out: batches go out whole and in order

	mu      sync.Mutex
	pending []byte
	spare   []byte // the previous batch's buffer, for reuse
	armed   bool   // the timer will write pending out
	closed  bool
}

// New returns a Writer to out that writes what it was given within every
// of the first line it holds. Close it to write the rest.
func New(out io.Writer, every time.Duration) *Writer {
	w := &Writer{out: out, every: every}
	w.timer = time.AfterFunc(time.Hour, func() { w.Flush() })
	w.timer.Stop()
	return w
}

// Write holds a copy of p, to be written out within the Writer's interval
// (at once if maxPending bytes are waiting). After Close it writes p
// through.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.outMu.Lock()
		defer w.outMu.Unlock()
		return w.out.Write(p)
	}
	w.pending = append(w.pending, p...)
	full := len(w.pending) >= maxPending
	if !full && !w.armed {
		w.armed = true
		w.timer.Reset(w.every)
	}
	w.mu.Unlock()
	if full {
		w.Flush() // its error is Flush's and Close's to report
	}
	return len(p), nil
}

// Flush writes out what is held.
func (w *Writer) Flush() error {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	return w.writeOut(false)
}

// Close writes out what is held and makes later writes go straight
// through. It stops nothing else: a line logged while the process stops is
// still written.
func (w *Writer) Close() error {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.timer.Stop()
	return w.writeOut(true)
}

// writeOut writes the pending batch; the caller holds outMu, so batches go
// out in the order they were taken.
func (w *Writer) writeOut(close bool) error {
	w.mu.Lock()
	batch := w.pending
	w.pending, w.spare = w.spare, nil
	w.armed = false
	w.closed = w.closed || close
	w.mu.Unlock()
	if len(batch) == 0 {
		w.keep(batch)
		return nil
	}
	_, err := w.out.Write(batch)
	w.keep(batch)
	return err
}

// keep keeps a written batch's buffer for the next one, unless a burst
// made it large.
func (w *Writer) keep(batch []byte) {
	if cap(batch) > 2*maxPending {
		return
	}
	w.mu.Lock()
	if w.spare == nil {
		w.spare = batch[:0]
	}
	w.mu.Unlock()
}

// FlushOn returns h, except that a record at level or above flushes w
// once h has handled it: a warning or an error is written out at once,
// with the lines before it.
func FlushOn(h slog.Handler, w Flusher, level slog.Leveler) slog.Handler {
	return flushing{h, w, level}
}

// Flusher is what FlushOn flushes: a *Writer.
type Flusher interface{ Flush() error }

type flushing struct {
	slog.Handler
	w     Flusher
	level slog.Leveler
}

func (h flushing) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= h.level.Level() {
		h.w.Flush()
	}
	return err
}

func (h flushing) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushing{h.Handler.WithAttrs(attrs), h.w, h.level}
}

func (h flushing) WithGroup(name string) slog.Handler {
	return flushing{h.Handler.WithGroup(name), h.w, h.level}
}
