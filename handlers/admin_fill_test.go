package handlers_test

import (
	"database/sql"
	"testing"
	"time"
)

// fillMandates adds n mandates (each with its own customer) to the app's
// database with plain SQL in one transaction, oldest first, before anything
// the test makes through the app. Statuses and providers are mixed as in a
// shop that has run for a while: most active (with billing, a few past
// due), some revoked, failed or canceled. None is pending and no billing
// is due, so the worker has nothing to do with them.
func fillMandates(tb testing.TB, dbFile string, n int) {
	tb.Helper()
	db, err := sql.Open("sqlite", "file:"+dbFile+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	var start int
	if err := tx.QueryRow(`SELECT coalesce(max(id), 0) FROM customers`).Scan(&start); err != nil {
		tb.Fatal(err)
	}
	// Row i (0 … n-1) is created at base + i seconds; its customer is start+i+1.
	base := time.Now().Add(-time.Duration(n)*time.Second - 24*time.Hour).Unix()
	const seq = `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < :n) `
	const at = `strftime('%Y-%m-%dT%H:%M:%S', :base + i, 'unixepoch') || '.000000Z'`
	for _, q := range []string{
		seq + `INSERT INTO customers (id, email, name, country, created_at, updated_at)
			SELECT :start + i + 1, printf('shopper%07d@example.com', :start + i + 1), 'Shopper ' || (:start + i + 1), 'US', ` + at + `, ` + at + `
			FROM seq`,
		// Every third with PPRO; of twenty, two revoked, one failed and one
		// canceled, the rest active.
		seq + `INSERT INTO mandates (id, customer_id, provider, mode, provider_ref, status, payment_method_id, payment_method_type,
				plan_name, amount, currency, interval, merchant, terms_version, terms_sha256, authorization_text, accepted_at,
				client_ip, user_agent, confirmed_at, revoked_by, created_at, updated_at)
			SELECT printf('md_fill%07d', :start + i + 1), :start + i + 1,
				CASE i % 3 WHEN 2 THEN 'ppro' ELSE 'stripe' END, 'sandbox',
				CASE i % 3 WHEN 2 THEN printf('agr_fill%07d', :start + i + 1) ELSE printf('cs_test_fill%07d', :start + i + 1) END,
				CASE i % 20 WHEN 5 THEN 'revoked' WHEN 15 THEN 'revoked' WHEN 9 THEN 'failed' WHEN 13 THEN 'canceled' ELSE 'active' END,
				CASE WHEN i % 20 IN (9, 13) THEN NULL ELSE printf('pm_fill%07d', :start + i + 1) END, 'amazon_pay',
				'Coffee Club', 1200, 'USD', 'month', 'Northwind Coffee', 'v1',
				'0000000000000000000000000000000000000000000000000000000000000000',
				'I authorise Northwind Coffee to charge 12.00 USD every month for Coffee Club.', ` + at + `,
				'203.0.113.7', 'fill/1.0', CASE WHEN i % 20 IN (9, 13) THEN NULL ELSE ` + at + ` END,
				CASE WHEN i % 20 IN (5, 15) THEN 'shopper' ELSE '' END, ` + at + `, ` + at + `
			FROM seq`,
		// Billing for the active (one in 97 past due) and the revoked;
		// nothing falls due, so the worker leaves them alone.
		seq + `INSERT INTO billing (mandate_id, provider, mandate_created_at, state, anchor_at, next_period, next_due_at, failures, updated_at)
			SELECT printf('md_fill%07d', :start + i + 1), CASE i % 3 WHEN 2 THEN 'ppro' ELSE 'stripe' END, ` + at + `,
				CASE WHEN i % 20 IN (5, 15) THEN 'revoked' WHEN i % 97 = 0 THEN 'past_due' ELSE 'active' END,
				` + at + `, 2, '2099-01-01T00:00:00.000000Z', CASE WHEN i % 97 = 0 AND i % 20 NOT IN (5, 15) THEN 1 ELSE 0 END, ` + at + `
			FROM seq WHERE i % 20 NOT IN (9, 13)`,
	} {
		if _, err := tx.Exec(q, sql.Named("n", n), sql.Named("start", start), sql.Named("base", base)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}
