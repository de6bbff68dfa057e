package service

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Calls for one key while one runs share its result; another key, or a
// call after it ended, runs on its own; a waiter that gives up gets its
// context's error while the run goes on.
func TestFlightsRunOneCallPerKey(t *testing.T) {
	t.Parallel()
	var f flights[int]
	var runs atomic.Int32
	release := make(chan struct{})
	slow := func() (int, error) {
		runs.Add(1)
		<-release
		return 42, nil
	}
	var wg sync.WaitGroup
	results := make(chan int, 20)
	for range 20 {
		wg.Go(func() {
			v, err := f.do(context.Background(), "md_1", slow)
			if err != nil {
				t.Error(err)
			}
			results <- v
		})
	}
	time.Sleep(50 * time.Millisecond) // all twenty are in: one runs, the rest wait

	other, err := f.do(context.Background(), "md_2", func() (int, error) { return 7, nil })
	if other != 7 || err != nil {
		t.Errorf("another key: %d, %v", other, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.do(ctx, "md_1", slow); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter that gave up: %v", err)
	}

	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != 42 {
			t.Errorf("a caller got %d, want the run's 42", v)
		}
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("twenty calls at once ran %d times, want 1", n)
	}
	if v, _ := f.do(context.Background(), "md_1", func() (int, error) { return 43, nil }); v != 43 {
		t.Errorf("a call after the run ended got %d, want its own 43", v)
	}
}
