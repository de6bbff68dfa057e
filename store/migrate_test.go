package store

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"

	"example.com/storefront/sqlitedb"
)

// A database made before billing copied the mandate's provider and
// creation time (migration 0007) gets them on upgrade: its past-due
// mandates are listed and counted as if they had always had them.
func TestMigrationCopiesMandateColumnsIntoBilling(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "app.db")
	old := fstest.MapFS{}
	names, err := fs.Glob(migrations, "migrations/sqlite/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if base := filepath.Base(name); base < "0007" {
			body, err := fs.ReadFile(migrations, name)
			if err != nil {
				t.Fatal(err)
			}
			old[base] = &fstest.MapFile{Data: body}
		}
	}
	db, err := sqlitedb.Open(ctx, file, old)
	if err != nil {
		t.Fatal(err)
	}
	// Written in SQL, as the code of the time wrote it: today's store reads
	// columns later migrations add.
	m := Mandate{ID: "md_late", CreatedAt: parseTime("2026-01-01T00:00:00.000000Z")}
	if _, err := db.ExecContext(ctx, `INSERT INTO customers (id, email, name, country, created_at, updated_at)
		VALUES (1, 'late@example.com', 'Late', 'US', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO mandates (id, customer_id, provider, status, plan_name, amount, currency, interval,
			terms_version, terms_sha256, authorization_text, accepted_at, client_ip, user_agent, created_at, updated_at)
		VALUES (?, 1, 'ppro', 'active', 'Coffee Club', 1200, 'USD', 'month', 'v1', 'x', 'I agree', '2026-01-01T00:00:00.000000Z',
			'192.0.2.1', 'test', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')`, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO billing (mandate_id, state, anchor_at, next_period, next_due_at, failures, updated_at)
		VALUES (?, 'past_due', '2026-01-01T00:00:00.000000Z', 2, '2099-01-01T00:00:00.000000Z', 1, '2026-01-01T00:00:00.000000Z')`, m.ID); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(ctx, file, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, f := range []ListFilter{{Billing: BillingPastDue}, {Billing: BillingPastDue, Provider: "ppro"}} {
		rows, _, err := s.ListMandates(ctx, f)
		if err != nil || len(rows) != 1 || rows[0].ID != m.ID || !rows[0].CreatedAt.Equal(m.CreatedAt) {
			t.Errorf("%+v after the upgrade lists %+v (%v), want %s", f, rows, err, m.ID)
		}
	}
	if c, err := s.CountMandates(ctx, "ppro"); err != nil || c.PastDue != 1 {
		t.Errorf("past due of ppro after the upgrade: %+v (%v), want 1", c, err)
	}
}
