package store

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/pgdb"
	"example.com/storefront/sqlitedb"
)

// Each figure of the money view, from rows written the way the app writes
// them: payments on both sides of the range's edges, refunds (one still
// pending), a failed payment, disputes inside and outside, a price change,
// a mandate revoked and one ended for non-payment, a weekly plan and a
// second currency.
func TestMoneyCountsEachFigure(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		jan := time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)
		s, clock := openWithClock(t, db, jan)
		at := func(ts time.Time) { clock.Advance(ts.Sub(clock.Now())) }
		activate := func(email string, p payments.Plan) Mandate {
			t.Helper()
			n := newMandate(email)
			n.Plan = p
			m, err := s.CreateMandate(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if m, _, err = s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_" + m.ID,
				PaymentMethodType: "amazon_pay"}); err != nil {
				t.Fatal(err)
			}
			return m
		}
		charge := func(m Mandate, when time.Time, amount int64, state payments.ChargeState) Charge {
			t.Helper()
			at(when)
			// The merchant's charges here are of any amount: each says why
			// (an amount other than the terms' needs a reason).
			c, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindMerchant, InitiatedBy: "merchant",
				Amount: payments.Money{Amount: amount, Currency: m.Plan.Price.Currency}, Reason: "agreed with the shopper"})
			if err != nil {
				t.Fatal(err)
			}
			if c, _, err = s.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: "pi_" + c.IdempotencyKey, State: state}); err != nil {
				t.Fatal(err)
			}
			return c
		}
		refund := func(c Charge, when time.Time, amount int64, state payments.RefundState) {
			t.Helper()
			at(when)
			r, err := s.CreateRefund(ctx, c.ID, amount, "", "", "")
			if err != nil {
				t.Fatal(err)
			}
			if state != payments.RefundPending {
				if _, _, err := s.ApplyRefund(ctx, r.ID, payments.RefundResult{Ref: "re_" + r.IdempotencyKey, State: state, Amount: amount}); err != nil {
					t.Fatal(err)
				}
			}
		}
		dispute := func(c Charge, when time.Time, ref string) {
			t.Helper()
			at(when)
			if _, _, err := s.ApplyDispute(ctx, c.ID, "stripe", payments.Dispute{Ref: ref, State: payments.DisputeNeedsResponse}); err != nil {
				t.Fatal(err)
			}
		}
		settleAll := func(when time.Time, outcome func(Billing) BillingOutcome) {
			t.Helper()
			at(when)
			due, err := s.ClaimDueBilling(ctx, "w", clock.Now(), time.Minute, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range due {
				if err := s.SettleBilling(ctx, b.MandateID, "w", outcome(b), clock.Now()); err != nil {
					t.Fatal(err)
				}
			}
		}
		mar1 := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)

		// January, before the range: A and C on the plan, a weekly plan
		// and a plan in euros.
		a := activate("a@example.com", plan)
		c := activate("c@example.com", plan)
		weekly := activate("e@example.com", payments.Plan{Name: "Tea Club", Price: usd(100), Interval: payments.Week})
		euros := activate("f@example.com", payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 900, Currency: "EUR"}, Interval: payments.Month})
		settleAll(jan.Add(time.Hour), func(b Billing) BillingOutcome {
			return BillingOutcome{To: BillingActive, Period: 2, NextDueAt: mar1}
		})
		// A and C are told of 15.00 from 20 January; mandates confirmed
		// later keep 12.00.
		at(time.Date(2027, 1, 5, 0, 0, 0, 0, time.UTC))
		if _, _, err := s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1500),
			EffectiveAt: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		before := charge(a, time.Date(2027, 1, 31, 23, 59, 59, 999999000, time.UTC), 1200, payments.ChargeSucceeded)

		// February, the range.
		first := charge(a, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), 1200, payments.ChargeSucceeded)
		at(time.Date(2027, 2, 2, 8, 0, 0, 0, time.UTC))
		d := activate("d@example.com", plan)
		refund(first, time.Date(2027, 2, 5, 12, 0, 0, 0, time.UTC), 500, payments.RefundSucceeded)
		refund(first, time.Date(2027, 2, 6, 12, 0, 0, 0, time.UTC), 100, payments.RefundPending)
		refund(before, time.Date(2027, 2, 7, 12, 0, 0, 0, time.UTC), 200, payments.RefundSucceeded)
		at(time.Date(2027, 2, 10, 8, 0, 0, 0, time.UTC))
		b := activate("b@example.com", plan)
		charge(b, time.Date(2027, 2, 10, 9, 0, 0, 0, time.UTC), 1200, payments.ChargeFailed)
		charge(euros, time.Date(2027, 2, 12, 9, 0, 0, 0, time.UTC), 900, payments.ChargeSucceeded)
		at(time.Date(2027, 2, 15, 9, 0, 0, 0, time.UTC))
		if _, _, err := s.Transition(ctx, c.ID, mandate.Revoked, Change{Source: mandate.SourceCancelPage, RevokedBy: payments.RevokedByShopper}); err != nil {
			t.Fatal(err)
		}
		dispute(first, time.Date(2027, 2, 20, 9, 0, 0, 0, time.UTC), "dp_in")
		// D's last retry declines: billing ends, and the mandate is revoked
		// at the provider (counted as ended, not as revoked). B moves on.
		settleAll(time.Date(2027, 2, 20, 10, 0, 0, 0, time.UTC), func(bl Billing) BillingOutcome {
			if bl.MandateID == d.ID {
				return BillingOutcome{To: BillingEnded, Period: 1, NextDueAt: bl.NextDueAt, Failures: 4}
			}
			return BillingOutcome{To: BillingActive, Period: 2, NextDueAt: time.Date(2027, 3, 10, 8, 0, 0, 0, time.UTC)}
		})
		if _, _, err := s.Transition(ctx, d.ID, mandate.Revoked, Change{Source: mandate.SourceMerchant, RevokedBy: payments.RevokedByMerchant}); err != nil {
			t.Fatal(err)
		}
		charge(b, time.Date(2027, 2, 28, 23, 59, 59, 999999000, time.UTC), 1300, payments.ChargeSucceeded)

		// March, after the range.
		after := charge(b, mar1, 1200, payments.ChargeSucceeded)
		dispute(after, mar1, "dp_out")

		got, err := s.Money(ctx, time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC), mar1)
		if err != nil {
			t.Fatal(err)
		}
		wantTotals := []MoneyTotals{
			{Currency: "EUR", Collected: 900, CollectedN: 1},
			{Currency: "USD", Collected: 2500, CollectedN: 2, Refunded: 700, RefundedN: 2, Failed: 1200, FailedN: 1, Disputed: 1200, DisputedN: 1},
		}
		if !slices.Equal(got.Totals, wantTotals) {
			t.Errorf("totals\n got %+v\nwant %+v", got.Totals, wantTotals)
		}
		day := func(d int) time.Time { return time.Date(2027, 2, d, 0, 0, 0, 0, time.UTC) }
		wantDays := []MoneyDay{
			{Day: day(1), Currency: "USD", Collected: 1200, CollectedN: 1},
			{Day: day(5), Currency: "USD", Refunded: 500},
			{Day: day(7), Currency: "USD", Refunded: 200},
			{Day: day(10), Currency: "USD", Failed: 1200, FailedN: 1},
			{Day: day(12), Currency: "EUR", Collected: 900, CollectedN: 1},
			{Day: day(20), Currency: "USD", Disputed: 1200},
			{Day: day(28), Currency: "USD", Collected: 1300, CollectedN: 1},
		}
		if !slices.Equal(got.Days, wantDays) {
			t.Errorf("days\n got %+v\nwant %+v", got.Days, wantDays)
		}
		if got.New != 2 || got.Revoked != 1 || got.Ended != 1 {
			t.Errorf("new %d, revoked %d, ended %d; want 2 (B, D), 1 (C), 1 (D)", got.New, got.Revoked, got.Ended)
		}
		// Now: A at its new 15.00 and B at 12.00; C and D gone. A week's
		// 1.00 is 365/12/7 weeks' worth a month: 4.35.
		wantRec := []Recurring{
			{Currency: "EUR", Interval: payments.Month, Mandates: 1, PerInterval: 900},
			{Currency: "USD", Interval: payments.Month, Mandates: 2, PerInterval: 2700},
			{Currency: "USD", Interval: payments.Week, Mandates: 1, PerInterval: 100},
		}
		if !slices.Equal(got.Recurring, wantRec) {
			t.Errorf("recurring\n got %+v\nwant %+v", got.Recurring, wantRec)
		}
		if m := got.Recurring[2].PerMonth(); m != 435 {
			t.Errorf("a weekly 1.00 is %d a month, want 435", m)
		}

		// Per mandate: paid less refunded (the pending refund not yet), and
		// the next payment at the price in effect on its day.
		mm, err := s.MandatesMoney(ctx, []string{a.ID, b.ID, c.ID, d.ID, weekly.ID})
		if err != nil {
			t.Fatal(err)
		}
		if p := mm[a.ID].Paid; !slices.Equal(p, []payments.Money{usd(1200 + 1200 - 500 - 200)}) {
			t.Errorf("A paid %v, want 17.00", p)
		}
		if p := mm[b.ID].Paid; !slices.Equal(p, []payments.Money{usd(1300 + 1200)}) {
			t.Errorf("B paid %v, want 25.00", p)
		}
		if n := mm[a.ID]; !n.NextDueAt.Equal(mar1) || n.Next.Money != usd(1500) || n.Next.ChangeID == 0 {
			t.Errorf("A's next payment %v at %+v, want 1 March at the new 15.00", n.NextDueAt, n.Next)
		}
		if n := mm[b.ID]; !n.NextDueAt.Equal(time.Date(2027, 3, 10, 8, 0, 0, 0, time.UTC)) || n.Next.Money != usd(1200) {
			t.Errorf("B's next payment %v at %+v, want 10 March at 12.00", n.NextDueAt, n.Next)
		}
		for _, id := range []string{c.ID, d.ID} {
			if n := mm[id]; len(n.Paid) != 0 || !n.NextDueAt.IsZero() {
				t.Errorf("%s (revoked, ended) has %+v, want nothing paid and nothing due", id, n)
			}
		}

		// A range of one day holds only its own rows.
		one, err := s.Money(ctx, day(28), mar1)
		if err != nil {
			t.Fatal(err)
		}
		if want := []MoneyTotals{{Currency: "USD", Collected: 1300, CollectedN: 1}}; !slices.Equal(one.Totals, want) || one.New != 0 || one.Ended != 0 {
			t.Errorf("28 February: %+v new %d ended %d, want %+v", one.Totals, one.New, one.Ended, want)
		}
	})
}

// A database with payments, refunds, a dispute and a price change from
// before migration 0017 shows them in the money view after the upgrade:
// the migration sums the rows that exist, and the triggers carry on.
func TestMoneyMigrationCountsTheRowsBefore(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		where := db.New(t)
		clock := &realClock{t: time.Date(2027, 1, 1, 9, 0, 0, 0, time.UTC)}
		d := sqlite
		if db == dbtest.KindPostgres {
			d = postgres
		}
		old := fstest.MapFS{}
		names, err := fs.Glob(migrations, "migrations/"+d.name+"/*.sql")
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			// Every migration but 0017: the rows below are written by
			// today's store code, which needs the later migrations'
			// columns; 0017 reads none of them, so applying it last
			// (as Open then does) is the upgrade it meets in service.
			if base := filepath.Base(name); !strings.HasPrefix(base, "0017_") {
				body, err := fs.ReadFile(migrations, name)
				if err != nil {
					t.Fatal(err)
				}
				old[base] = &fstest.MapFile{Data: body}
			}
		}
		var conn *sql.DB
		if db == dbtest.KindPostgres {
			conn, err = pgdb.Open(ctx, where, old)
		} else {
			conn, err = sqlitedb.Open(ctx, where, old)
		}
		if err != nil {
			t.Fatal(err)
		}
		before := &Store{db: newDatabase(conn, d), d: d, now: clock.Now, real: time.Now}
		a := activeMandate(t, before, "a@example.com", "stripe")
		b := activeMandate(t, before, "b@example.com", "stripe")
		if _, _, err := before.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1500),
			EffectiveAt: time.Date(2027, 1, 20, 0, 0, 0, 0, time.UTC)}); err != nil {
			t.Fatal(err)
		}
		paid := func(m Mandate, amount int64, state payments.ChargeState) Charge {
			t.Helper()
			c, _, err := before.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindMerchant, InitiatedBy: "merchant", Amount: usd(amount)})
			if err != nil {
				t.Fatal(err)
			}
			if c, _, err = before.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: "pi_" + c.IdempotencyKey, State: state}); err != nil {
				t.Fatal(err)
			}
			return c
		}
		c := paid(a, 1200, payments.ChargeSucceeded)
		paid(b, 1200, payments.ChargeFailed)
		r, err := before.CreateRefund(ctx, c.ID, 300, "", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := before.ApplyRefund(ctx, r.ID, payments.RefundResult{Ref: "re_1", State: payments.RefundSucceeded, Amount: 300}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := before.ApplyDispute(ctx, c.ID, "stripe", payments.Dispute{Ref: "dp_1", State: payments.DisputeNeedsResponse}); err != nil {
			t.Fatal(err)
		}
		conn.Close()

		clock.Advance(30 * 24 * time.Hour) // the new price is in effect
		s, err := Open(ctx, where, clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		before.db = s.db
		paid(a, 1500, payments.ChargeSucceeded) // and the triggers carry on
		got, err := s.Money(ctx, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		want := []MoneyTotals{{Currency: "USD", Collected: 2700, CollectedN: 2, Refunded: 300, RefundedN: 1, Failed: 1200, FailedN: 1,
			Disputed: 1200, DisputedN: 1}}
		if !slices.Equal(got.Totals, want) {
			t.Errorf("after the upgrade\n got %+v\nwant %+v", got.Totals, want)
		}
		if want := []Recurring{{Currency: "USD", Interval: payments.Month, Mandates: 2, PerInterval: 3000}}; !slices.Equal(got.Recurring, want) {
			t.Errorf("recurring after the upgrade %+v, want %+v (two at the new 15.00)", got.Recurring, want)
		}
	})
}

// Each of the money view's range queries reads the range in an index (or
// money_days' key), never a whole table: SQLite's plan searches, with a
// range on the index's first columns.
func TestMoneyQueriesReadOnlyTheRange(t *testing.T) {
	s, _ := mustOpen(t)
	for _, tc := range []struct{ name, q, want string }{
		{"days", moneyDaysQuery, "SEARCH money_days USING INDEX sqlite_autoindex_money_days_1 (day>? AND day<?)"},
		{"new", moneyNewQuery, "SEARCH mandates USING COVERING INDEX mandates_confirmed (confirmed_at>? AND confirmed_at<?)"},
		{"revoked", moneyRevokedQuery, "SEARCH e USING COVERING INDEX mandate_events_to_status (to_status=? AND created_at>? AND created_at<?)"},
		{"ended", moneyEndedQuery, "SEARCH billing_events USING COVERING INDEX billing_events_to_state (to_state=? AND created_at>? AND created_at<?)"},
	} {
		plan := queryPlan(t, s, tc.q, "2027-01-01", "2027-02-01")
		if !slices.Contains(plan, tc.want) {
			t.Errorf("%s: plan %q, want %q", tc.name, plan, tc.want)
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN") {
				t.Errorf("%s scans a table: %q", tc.name, plan)
			}
		}
	}
}
