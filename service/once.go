package service

import (
	"context"
	"errors"
	"sync"
)

// flights runs one call per key at a time: a caller that comes while the
// key's call runs waits for it and shares its result instead of making its
// own. Twenty presses of "revoke" (tabs, double clicks, a shopper and the
// merchant at once) are then one provider call in this process.
type flights[T any] struct {
	mu      sync.Mutex
	running map[string]*flight[T]
}

type flight[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// do runs fn for key, or waits for the run under way. A waiter whose ctx
// ends stops waiting; the run goes on for the others.
func (f *flights[T]) do(ctx context.Context, key string, fn func() (T, error)) (T, error) {
	f.mu.Lock()
	if c, ok := f.running[key]; ok {
		f.mu.Unlock()
		select {
		case <-c.done:
			return c.val, c.err
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}
	if f.running == nil {
		f.running = map[string]*flight[T]{}
	}
	// Waiters see an error, not a zero value, if fn panics.
	c := &flight[T]{done: make(chan struct{}), err: errors.New("the call they waited for did not finish")}
	f.running[key] = c
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.running, key)
		f.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn()
	return c.val, c.err
}
