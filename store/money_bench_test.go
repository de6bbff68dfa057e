package store

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
)

// moneyFillEnd is where the filled data ends, and the benchmark's clock.
var moneyFillEnd = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkMoneyDashboard is one load of the money view at 100,000
// mandates and a million payments over two years (about 41,000 in the
// default 30 days): the range's totals, chart and counts, the recurring
// revenue, and paid to date and the next payment of a page of 50 mandates.
//
//	go test -run '^$' -bench BenchmarkMoneyDashboard -benchtime 20x ./store/
func BenchmarkMoneyDashboard(b *testing.B) {
	for _, db := range []dbtest.Kind{dbtest.KindSQLite, dbtest.KindPostgres} {
		b.Run(string(db), func(b *testing.B) {
			ctx := context.Background()
			s := filledMoney(b, db, 100_000, 1_000_000)
			page, _, err := s.ListMandates(ctx, ListFilter{Limit: 50})
			if err != nil {
				b.Fatal(err)
			}
			ids := make([]string, len(page))
			for i, m := range page {
				ids[i] = m.ID
			}
			to := moneyFillEnd
			from := to.AddDate(0, 0, -30)
			// The whole load, then its parts: what one costs is what to
			// look at when it grows.
			parts := []struct {
				name string
				run  func() error
			}{
				{"load", func() error {
					m, err := s.Money(ctx, from, to)
					if err == nil && (len(m.Totals) != 1 || m.Totals[0].CollectedN == 0 || len(m.Recurring) == 0) {
						b.Fatalf("the fill shows nothing: %+v", m)
					}
					if err == nil {
						_, err = s.MandatesMoney(ctx, ids)
					}
					return err
				}},
				{"recurring", func() error { _, err := s.recurring(ctx, to); return err }},
				{"page-of-50", func() error { _, err := s.MandatesMoney(ctx, ids); return err }},
			}
			for _, p := range parts {
				b.Run(p.name, func(b *testing.B) {
					for b.Loop() {
						if err := p.run(); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
				})
			}
		})
	}
}

// filledMoney is a database of kind db with mandates mandates (a tenth
// each revoked, failed, cancelled and pending, the rest active and billed,
// one in 500 ended for non-payment) and charges payments spread evenly
// over the two years before moneyFillEnd: one in twenty failed, one in
// fifty refunded in part, one in a thousand disputed. Written with
// set-based SQL (a recursive series, which both databases run), in
// seconds. The figures themselves are proven with known rows in
// TestMoneyCountsEachFigure.
func filledMoney(b *testing.B, db dbtest.Kind, mandates, charges int) *Store {
	b.Helper()
	clock := &realClock{t: moneyFillEnd}
	s, err := Open(context.Background(), db.New(b), clock.Now)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	ctx := context.Background()
	start := time.Now()
	span := moneyFillEnd.Sub(moneyFillEnd.AddDate(-2, 0, 0)).Seconds()
	from := moneyFillEnd.AddDate(-2, 0, 0).Unix()
	// ts is the timeLayout text of a Unix time in seconds; id a mandate's
	// id from its number.
	ts := func(secs string) string {
		if db == dbtest.KindPostgres {
			return `to_char(to_timestamp(` + secs + `) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '.000000Z'`
		}
		return `strftime('%Y-%m-%dT%H:%M:%S', ` + secs + `, 'unixepoch') || '.000000Z'`
	}
	id := func(n string) string {
		if db == dbtest.KindPostgres {
			return `'md_' || lpad((` + n + `)::text, 8, '0')`
		}
		return `printf('md_%08d', ` + n + `)`
	}
	series := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) `
	// Mandate i was created i/mandates of the way through the two years;
	// charge j is j/charges of the way, on mandate j % mandates + 1.
	created := ts(strconv.FormatInt(from, 10) + ` + CAST(i * ` + strconv.FormatFloat(span/float64(mandates), 'f', 6, 64) + ` AS BIGINT)`)
	at := ts(strconv.FormatInt(from, 10) + ` + CAST(i * ` + strconv.FormatFloat(span/float64(charges), 'f', 6, 64) + ` AS BIGINT)`)
	status := `CASE i % 10 WHEN 0 THEN 'revoked' WHEN 1 THEN 'failed' WHEN 2 THEN 'canceled' WHEN 3 THEN 'pending' ELSE 'active' END`
	// On PostgreSQL the counting triggers' per-row upserts of a few hot
	// rows are what is slow in a bulk insert (each update leaves a version
	// to skip): they are off during the fill, and the counts are written
	// once, as migration 0017 does for the rows before it.
	pgTriggers := []string{"mandates mandate_counts_insert", "mandates money_recurring_insert", "charges money_charges_insert",
		"refunds money_refunds_insert", "disputes money_disputes_insert", "mandate_prices money_recurring_prices"}
	var steps []string
	if db == dbtest.KindPostgres {
		for _, tr := range pgTriggers {
			table, name, _ := strings.Cut(tr, " ")
			steps = append(steps, `ALTER TABLE `+table+` DISABLE TRIGGER `+name)
		}
	}
	steps = append(steps,
		series+`INSERT INTO customers (id, email, name, country, created_at, updated_at)
			SELECT i, 'shopper' || i || '@example.com', 'Shopper ' || i, 'US', `+created+`, `+created+` FROM n`,
		series+`INSERT INTO mandates (id, customer_id, provider, status, plan_name, amount, currency, "interval",
				terms_version, terms_sha256, authorization_text, accepted_at, client_ip, user_agent, confirmed_at, created_at, updated_at)
			SELECT `+id("i")+`, i, CASE WHEN i % 2 = 0 THEN 'ppro' ELSE 'stripe' END, `+status+`,
				'Coffee Club', 1200, 'USD', 'month', 'v1', 'abc123', 'I authorise…', `+created+`, '203.0.113.7', 'test-agent',
				CASE WHEN i % 10 IN (0, 4, 5, 6, 7, 8, 9) THEN `+created+` END, `+created+`, `+created+` FROM n`,
		`INSERT INTO mandate_events (mandate_id, from_status, to_status, source, created_at)
			SELECT id, 'active', 'revoked', 'merchant', created_at FROM mandates WHERE status = 'revoked'`,
		`INSERT INTO billing (mandate_id, state, anchor_at, next_period, next_due_at, updated_at, provider, mandate_created_at)
			SELECT id, CASE WHEN customer_id % 500 = 4 THEN 'ended' ELSE 'active' END, created_at, 1, created_at, created_at, provider, created_at
			FROM mandates WHERE status = 'active'`,
		`INSERT INTO billing_events (mandate_id, from_state, to_state, period, created_at)
			SELECT mandate_id, 'past_due', 'ended', 1, anchor_at FROM billing WHERE state = 'ended'`,
		series+`INSERT INTO charges (id, mandate_id, kind, initiated_by, amount, currency, idempotency_key, status, refunded, created_at, updated_at)
			SELECT i, `+id("i % ?  + 1")+`, 'merchant', 'merchant', 1200, 'USD', 'bench/' || i,
				CASE WHEN i % 20 = 0 THEN 'failed' WHEN i % 50 = 1 THEN 'partially_refunded' ELSE 'succeeded' END,
				CASE WHEN i % 50 = 1 THEN 500 ELSE 0 END, `+at+`, `+at+` FROM n`,
		`INSERT INTO refunds (charge_id, amount, idempotency_key, status, created_at, updated_at)
			SELECT id, 500, 'bench/refund/' || id, 'succeeded', created_at, created_at FROM charges WHERE refunded = 500`,
		`INSERT INTO disputes (provider, provider_ref, charge_id, mandate_id, amount, currency, status, created_at, updated_at)
			SELECT 'stripe', 'dp_' || id, id, mandate_id, amount, currency, 'needs_response', created_at, created_at
			FROM charges WHERE id % 1000 = 7`,
		// A price change half a year ago, told to the mandates active then.
		`INSERT INTO price_changes (id, plan_name, "interval", old_amount, amount, currency, effective_at, created_at)
			VALUES (1, 'Coffee Club', 'month', 1200, 1500, 'USD', '2026-06-01T00:00:00.000000Z', '2026-05-01T00:00:00.000000Z')`,
		`INSERT INTO mandate_prices (mandate_id, change_id, old_amount, amount, currency, effective_at, first_at, message_key, notified_at)
			SELECT id, 1, 1200, 1500, 'USD', '2026-06-01T00:00:00.000000Z', '2026-06-01T00:00:00.000000Z', 'bench/price/' || id,
				'2026-05-01T00:00:00.000000Z' FROM mandates WHERE status = 'active' AND created_at < '2026-05-01'`,
	)
	if db == dbtest.KindPostgres {
		steps = append(steps,
			`INSERT INTO mandate_counts (provider, status, n) SELECT provider, status, count(*) FROM mandates GROUP BY provider, status`,
			`INSERT INTO money_days (day, currency, kind, n, amount)
				SELECT substr(created_at, 1, 10), currency, CASE WHEN status = 'failed' THEN 'failed' ELSE 'collected' END, count(*), sum(amount)
				FROM charges WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'failed')
				GROUP BY substr(created_at, 1, 10), currency, CASE WHEN status = 'failed' THEN 'failed' ELSE 'collected' END`,
			`INSERT INTO money_days (day, currency, kind, n, amount)
				SELECT substr(r.created_at, 1, 10), c.currency, 'refunded', count(*), sum(r.amount)
				FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE r.status = 'succeeded'
				GROUP BY substr(r.created_at, 1, 10), c.currency`,
			`INSERT INTO money_days (day, currency, kind, n, amount)
				SELECT substr(created_at, 1, 10), currency, 'disputed', count(*), sum(amount) FROM disputes
				GROUP BY substr(created_at, 1, 10), currency`,
			`INSERT INTO recurring_signed (currency, plan_interval, n, amount)
				SELECT currency, "interval", count(*), sum(amount) FROM mandates WHERE status = 'active' GROUP BY currency, "interval"`,
			`INSERT INTO price_deltas (change_id, currency, plan_interval, n, delta)
				SELECT p.change_id, m.currency, m."interval", count(*), sum(p.amount - p.old_amount)
				FROM mandate_prices p JOIN mandates m ON m.id = p.mandate_id WHERE m.status = 'active'
				GROUP BY p.change_id, m.currency, m."interval"`)
		for _, tr := range pgTriggers {
			table, name, _ := strings.Cut(tr, " ")
			steps = append(steps, `ALTER TABLE `+table+` ENABLE TRIGGER `+name)
		}
		steps = append(steps, `VACUUM ANALYZE`)
	} else {
		steps = append(steps, `ANALYZE`)
	}
	for _, q := range steps {
		var args []any
		switch {
		case strings.Contains(q, "FROM n WHERE i < ?") && strings.Contains(q, "INTO charges"):
			args = []any{charges, mandates}
		case strings.Contains(q, "?"):
			args = []any{mandates}
		}
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			b.Fatalf("fill: %v\n%s", err, q)
		}
	}
	b.Logf("%s: %d mandates and %d payments filled in %s", db, mandates, charges, time.Since(start).Round(time.Millisecond))
	return s
}
