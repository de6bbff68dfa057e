package simkit

import (
	"context"
	"sync"
	"time"
)

// timers runs the functions set with Host.After, and stops them when the
// host closes, so that none touches a closed database.
type timers struct {
	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards closed, so no timer starts after close
	closed bool
}

func newTimers() *timers {
	ctx, cancel := context.WithCancel(context.Background())
	return &timers{ctx: ctx, cancel: cancel}
}

// After runs fn once d has passed on the wall clock, unless the host is
// closed first. It is for what a provider does on its own a moment later
// (an asynchronous refund that settles): fn should check the sandbox's
// clock (Now) to decide what is due, so that a moved clock and a restart
// (where nothing is scheduled any more, and the next request that looks
// catches up) give the same result.
func (h *Host) After(d time.Duration, fn func(ctx context.Context)) {
	t := h.timers
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
			fn(t.ctx)
		case <-t.ctx.Done():
		}
	}()
}

// close cancels the timers that have not fired and waits for those that
// are running.
func (t *timers) close() {
	t.mu.Lock()
	t.closed = true
	t.cancel()
	t.mu.Unlock()
	t.wg.Wait()
}
