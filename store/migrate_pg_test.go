package store

import (
	"context"
	"sync"
	"testing"

	"example.com/storefront/internal/dbtest"
)

// Instances that start together on one new PostgreSQL database migrate it
// once: each waits for the runner holding the lock, then finds every
// migration applied.
func TestInstancesStartingTogetherMigrateOnce(t *testing.T) {
	where := dbtest.KindPostgres.New(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	stores := make([]*Store, 5)
	errs := make([]error, 5)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = Open(ctx, where, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	names, err := migrations.ReadDir("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	var applied, distinct int
	if err := stores[0].db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&applied, &distinct); err != nil {
		t.Fatal(err)
	}
	if applied != len(names) || distinct != len(names) {
		t.Errorf("schema_migrations holds %d rows (%d names), want each of the %d migrations once", applied, distinct, len(names))
	}
	// And each works: one writes, another reads it.
	m, err := stores[1].CreateMandate(ctx, newMandate("together@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stores[4].Mandate(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
}
