package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
)

// Login attempts are limited per client in the database, so that every
// instance on it shares the limit: of many attempts at once (as from
// several instances) no more than the limit go ahead; a correct password
// gives its attempt back; the window passes in real time.
func TestLoginAttemptsAreLimitedInTheDatabase(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		// Two stores on one database: two instances.
		a, b, clock := twoInstances(t, db, time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC))

		var wg sync.WaitGroup
		var allowed, refused int
		var amu sync.Mutex
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := a
				if i%2 == 1 {
					s = b
				}
				_, ok, wait, err := s.TakeLoginAttempt(ctx, "203.0.113.7", 5, 15*time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				amu.Lock()
				defer amu.Unlock()
				if ok {
					allowed++
				} else {
					refused++
					if wait <= 0 || wait > 15*time.Minute {
						t.Errorf("refused with a wait of %v", wait)
					}
				}
			}()
		}
		wg.Wait()
		if allowed > 5 || allowed+refused != 20 {
			t.Fatalf("%d of 20 attempts at once went ahead (%d refused), want at most 5", allowed, refused)
		}
		// Another client is not held back.
		if _, ok, _, err := b.TakeLoginAttempt(ctx, "198.51.100.1", 5, 15*time.Minute); err != nil || !ok {
			t.Fatalf("another client refused: %v", err)
		}

		// In a fresh window: a correct password gives its attempt back.
		clock.Advance(16 * time.Minute)
		for range 10 {
			id, ok, _, err := a.TakeLoginAttempt(ctx, "203.0.113.7", 5, 15*time.Minute)
			if err != nil || !ok {
				t.Fatalf("a right password after the window: refused (%v)", err)
			}
			if err := b.ReturnLoginAttempt(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 6 {
			_, ok, _, err := b.TakeLoginAttempt(ctx, "203.0.113.7", 5, 15*time.Minute)
			if err != nil || ok != (i < 5) {
				t.Fatalf("failed attempt %d: allowed %v (%v), want %v", i+1, ok, err, i < 5)
			}
		}
	})
}
