package store

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// On PostgreSQL, with 100,000 mandates and a row or more of each source
// for most of them, each source of the shop's activity log is a Limit over
// a backward walk of its (time, id) index, with no Sort and no Seq Scan,
// reading about a page of rows (newest, or from a cursor of any rank):
// what a page costs does not grow with the shop.
func TestShopActivityPlanOnPostgresReadsAPage(t *testing.T) {
	t.Parallel()
	s, _ := filledPostgres(t, 100_000)
	ctx := context.Background()
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO mandate_events (mandate_id, from_status, to_status, source, created_at)
			SELECT id, '', 'pending', 'checkout', created_at FROM mandates`,
		`INSERT INTO billing_events (mandate_id, from_state, to_state, period, detail, created_at)
			SELECT mandate_id, '', 'active', 1, 'billing starts: period 1 is due', anchor_at FROM billing`,
		`INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency, idempotency_key, status, created_at, updated_at)
			SELECT mandate_id, 'scheduled', 'schedule', 1, 1, 1200, 'USD', 'k/' || mandate_id, 'succeeded', anchor_at, anchor_at FROM billing`,
		`INSERT INTO refunds (charge_id, amount, idempotency_key, status, created_at, updated_at)
			SELECT id, 500, 'r/' || id, 'succeeded', created_at, created_at FROM charges WHERE right(mandate_id, 1) = '5'`,
		`INSERT INTO disputes (provider, provider_ref, charge_id, mandate_id, amount, currency, status, created_at, updated_at)
			SELECT 'stripe', 'dp_' || id, id, mandate_id, 1200, 'USD', 'needs_response', created_at, created_at FROM charges
			WHERE right(mandate_id, 1) = '6'`,
		`INSERT INTO outbox (key, kind, mandate_id, to_email, status, next_attempt_at, created_at, resent_at)
			SELECT 'm/' || id, 'confirmed', id, 'x@example.com', 'sent', created_at, created_at,
				CASE WHEN right(id, 1) = '7' THEN created_at END FROM mandates`,
		`INSERT INTO price_changes (plan_name, "interval", old_amount, amount, currency, effective_at, created_at)
			SELECT 'Coffee Club', 'month', 1200, 1200 + i, 'USD', created_at, created_at FROM
			(SELECT row_number() OVER () i, created_at FROM mandates LIMIT 2000) p`,
		`INSERT INTO clock_moves (from_at, to_at, by_seconds) SELECT created_at, created_at, 86400 FROM mandates LIMIT 2000`,
		`VACUUM ANALYZE`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("fill the activity: %v", err)
		}
	}
	t.Logf("activity filled in %s", time.Since(start).Round(time.Millisecond))
	const limit = 51 // a page of 50, and one to know there is more
	var mid string
	if err := s.db.QueryRowContext(ctx, `SELECT created_at FROM mandates ORDER BY created_at DESC OFFSET 30000 LIMIT 1`).Scan(&mid); err != nil {
		t.Fatal(err)
	}
	cursors := map[string]*activityKey{"newest": nil}
	for _, rank := range []int{1, 5, 9} {
		cursors["cursor of rank "+strconv.Itoa(rank)] = &activityKey{at: mid, rank: rank, id: 1 << 40}
	}
	for _, src := range activitySources {
		for name, before := range cursors {
			q, args := src.sql(before, "", limit)
			p := explain(t, s, false, q, args...)
			var bad []string
			p.each(func(n planNode) {
				if n.NodeType == "Sort" || n.NodeType == "Seq Scan" {
					bad = append(bad, n.NodeType+" "+n.Relation)
				}
			})
			// The refunds' walk looks each refund's charge up: two rows a row.
			if rows := p.rowsRead(); len(bad) > 0 || p.root.NodeType != "Limit" || rows > 2*limit+2 {
				t.Errorf("%s, %s: %v, reads %.0f rows:\n%s", src.kind, name, bad, rows, p.pretty)
			} else {
				t.Logf("%-8s %-16s reads %3.0f rows in %4.0f buffers, %.2f ms", src.kind, name, rows, p.buffers(), p.ms)
			}
			if !strings.Contains(p.pretty, "Index") {
				t.Errorf("%s, %s: no index walked:\n%s", src.kind, name, p.pretty)
			}
		}
	}
}
