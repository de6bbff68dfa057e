package worker_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"fmt"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

func at(y int, m time.Month, d, hour int) time.Time {
	return time.Date(y, m, d, hour, 0, 0, 0, time.UTC)
}

// paidOnce checks that period n of m was paid by exactly one charge, of the
// plan's price, with the idempotency key derived from (mandate, period,
// attempt), and that the provider holds exactly one payment with that
// reference.
func (h *harness) paidOnce(m store.Mandate, n int) store.Charge {
	h.t.Helper()
	cs := apptest.InPeriod(h.Charges(m.ID), n)
	if len(cs) != 1 {
		h.t.Fatalf("period %d has %d charges, want 1: %+v", n, len(cs), cs)
	}
	c := cs[0]
	want := fmt.Sprintf("mandate/%s/period/%d/attempt/1", m.ID, n)
	if c.Kind == store.KindInitial {
		want = "mandate/" + m.ID + "/first"
	}
	if c.Status != payments.ChargeSucceeded || c.Amount != m.Plan.Price || c.IdempotencyKey != want || c.ProviderRef == "" {
		h.t.Fatalf("period %d: charge %+v, want a succeeded %s with key %s", n, c, m.Plan.Price, want)
	}
	payments := h.StripePayments
	if m.Provider == "ppro" {
		payments = h.PPROPayments
	}
	if got := payments(c.IdempotencyKey); got != 1 {
		h.t.Fatalf("period %d: the provider holds %d payments with reference %s, want 1", n, got, c.IdempotencyKey)
	}
	return c
}

// expectBilling checks where a mandate's billing stands.
func (h *harness) expectBilling(m store.Mandate, state string, period int, due time.Time) store.Billing {
	h.t.Helper()
	b := h.Billing(m.ID)
	if b.State != state || b.NextPeriod != period || !b.NextDueAt.Equal(due) {
		h.t.Fatalf("billing = %s, period %d due %s; want %s, period %d due %s (last error %q)",
			b.State, b.NextPeriod, b.NextDueAt.Format(time.RFC3339), state, period, due.Format(time.RFC3339), b.LastError)
	}
	return b
}

// The month plan on the schedule across month ends, in a common year and a
// leap year: anchored on 31 January, period 1 is charged at activation,
// period 2 on the last day of February (not a moment before), period 3 on
// 31 March (from the anchor, not drifting to the 28th or 29th).
func TestMonthPlanAcrossMonthEnds(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, tc := range []struct {
			year     int
			february int
		}{{2027, 28}, {2028, 29}} {
			t.Run(fmt.Sprint(tc.year), func(t *testing.T) {
				t.Parallel()
				anchor := at(tc.year, time.January, 31, 10)
				h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
				m := h.ActiveStripe()
				h.expectBilling(m, store.BillingActive, 1, anchor)
				if n := len(h.Charges(m.ID)); n != 0 {
					t.Fatalf("%d charges before the worker ran", n)
				}

				// Period 1 is due at activation.
				if r := h.Pass(); r.Charged != 1 {
					t.Fatalf("pass at activation charged %d, want 1", r.Charged)
				}
				h.paidOnce(m, 1)
				feb := at(tc.year, time.February, tc.february, 10)
				h.expectBilling(m, store.BillingActive, 2, feb)

				// Not before it is due.
				h.Time.Set(feb.Add(-time.Second))
				if r := h.Pass(); r.Charged != 0 {
					t.Fatalf("a pass a second before period 2 is due charged %d", r.Charged)
				}
				h.Time.Set(feb)
				h.Pass()
				if c := h.paidOnce(m, 2); !c.CreatedAt.Equal(feb) {
					t.Errorf("period 2 charged at %s, want %s", c.CreatedAt, feb)
				}
				mar := at(tc.year, time.March, 31, 10)
				h.expectBilling(m, store.BillingActive, 3, mar)

				h.Time.Set(mar.Add(time.Hour))
				h.Pass()
				h.paidOnce(m, 3)
				h.expectBilling(m, store.BillingActive, 4, at(tc.year, time.April, 30, 10))
				if n := len(h.Charges(m.ID)); n != 3 {
					t.Errorf("%d charges after three periods, want 3", n)
				}
				// Another pass in the same period charges nothing more.
				h.Pass()
				if n := len(h.Charges(m.ID)); n != 3 {
					t.Errorf("%d charges after another pass, want 3", n)
				}
			})
		}
	})
}

// Day, week and year plans charge one period per interval, from the anchor.
func TestDayWeekYearPlans(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2028, time.February, 29, 8) // a leap day
		for _, tc := range []struct {
			interval payments.Interval
			dues     []time.Time // periods 2, 3, …
		}{
			{payments.Day, []time.Time{at(2028, time.March, 1, 8), at(2028, time.March, 2, 8), at(2028, time.March, 3, 8)}},
			{payments.Week, []time.Time{at(2028, time.March, 7, 8), at(2028, time.March, 14, 8), at(2028, time.March, 21, 8)}},
			{payments.Year, []time.Time{at(2029, time.February, 28, 8), at(2030, time.February, 28, 8), at(2031, time.February, 28, 8), at(2032, time.February, 29, 8)}},
		} {
			t.Run(string(tc.interval), func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, apptest.On(db), apptest.WithPlan(plan(1200, tc.interval)), apptest.StartingAt(anchor))
				m := h.ActiveStripe()
				h.Pass()
				h.paidOnce(m, 1)
				for i, due := range tc.dues {
					n := i + 2
					h.expectBilling(m, store.BillingActive, n, due)
					h.Time.Set(due.Add(-time.Minute))
					h.Pass()
					if cs := apptest.InPeriod(h.Charges(m.ID), n); len(cs) != 0 {
						t.Fatalf("period %d charged a minute before it was due", n)
					}
					h.Time.Set(due)
					h.Pass()
					h.paidOnce(m, n)
				}
			})
		}
	})
}

// PPRO with the first payment taken with the setup: that payment is period
// 1, so the worker makes no second charge for it, and period 2 is charged
// on the agreement a month later.
func TestPPROFirstPaymentIsPeriodOne(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.May, 31, 12)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActivePPRO(true)
		if m.FirstPayment == nil || m.FirstPayment.Status != payments.ChargeSucceeded {
			t.Fatalf("first payment %+v, want succeeded", m.FirstPayment)
		}
		if r := h.Pass(); r.Charged != 0 {
			t.Errorf("the pass at activation made %d charges, want none: the first payment paid period 1", r.Charged)
		}
		first := h.paidOnce(m, 1)
		if first.Kind != store.KindInitial || first.ID != m.FirstPayment.ID {
			t.Errorf("period 1 is paid by %+v, want the first payment", first)
		}
		agreementCharges := func() int {
			return h.SandboxCount(`SELECT count(*) FROM ppro_charges WHERE agreement_id = ?`, m.PaymentMethodID)
		}
		if n := agreementCharges(); n != 1 {
			t.Fatalf("PPRO holds %d charges on the agreement, want the first payment only", n)
		}
		h.expectBilling(m, store.BillingActive, 2, at(2027, time.June, 30, 12))

		h.Time.Set(at(2027, time.June, 30, 12))
		if r := h.Pass(); r.Charged != 1 {
			t.Fatalf("period 2: %d charges, want 1", r.Charged)
		}
		c := h.paidOnce(m, 2)
		if c.Kind != store.KindScheduled || c.InitiatedBy != store.BySchedule {
			t.Errorf("period 2 charge %+v, want a scheduled one", c)
		}
		if n := agreementCharges(); n != 2 {
			t.Errorf("PPRO holds %d charges on the agreement, want 2", n)
		}
		h.expectBilling(m, store.BillingActive, 3, at(2027, time.July, 31, 12))
	})
}

// PPRO without a first payment: the worker charges period 1 at activation.
func TestPPROWithoutFirstPaymentChargesPeriodOne(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.May, 31, 12)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActivePPRO(false)
		if m.FirstPayment != nil {
			t.Fatalf("a first payment was asked for: %+v", m.FirstPayment)
		}
		if r := h.Pass(); r.Charged != 1 {
			t.Fatalf("pass at activation charged %d, want 1", r.Charged)
		}
		if c := h.paidOnce(m, 1); c.Kind != store.KindScheduled {
			t.Errorf("period 1 paid by %+v", c)
		}
		h.expectBilling(m, store.BillingActive, 2, at(2027, time.June, 30, 12))
	})
}

// The demo clock: advancing one period moves the app's clock and the
// sandbox's together, keeps the offset in the database, and runs a pass
// at once, so the next period is charged before Advance returns.
func TestDemoAdvanceChargesTheNextPeriod(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2027, time.August, 31, 9)))
		m := h.ActiveStripe()
		h.Pass()
		h.paidOnce(m, 1)
		demo := &worker.Demo{Clock: h.Clock, Store: h.Store, Worker: h.Worker}
		ctx := context.Background()
		if _, err := demo.Advance(ctx, 30*24*time.Hour); err != nil { // to 30 September
			t.Fatal(err)
		}
		h.paidOnce(m, 2)
		if off, err := h.Store.DemoClockOffset(ctx); err != nil || off != 30*24*time.Hour {
			t.Errorf("stored offset %v, %v", off, err)
		}
		if got := h.paidOnce(m, 2).CreatedAt; !got.Equal(at(2027, time.September, 30, 9)) {
			t.Errorf("period 2 charged at %s", got)
		}
		if err := demo.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		if off, _ := h.Store.DemoClockOffset(ctx); off != 0 || h.Clock.Offset() != 0 {
			t.Errorf("after reset: stored %v, clock %v", off, h.Clock.Offset())
		}
		if m := h.Mandate(m.ID); m.Status != mandate.Active {
			t.Errorf("mandate %s", m.Status)
		}
	})
}

// Advancing the demo clock right after a shopper's activation, before the
// worker's next pass charged period 1: both period 1 and period 2 are
// charged before Advance returns, as the presenter expects next month's
// charge on the page, each at its own due time (period 1 before the move).
func TestDemoAdvanceRightAfterActivation(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		h := newHarness(t, apptest.On(db), apptest.StartingAt(at(2027, time.August, 31, 9)))
		m := h.ActiveStripe()
		demo := &worker.Demo{Clock: h.Clock, Store: h.Store, Worker: h.Worker}
		if _, err := demo.Advance(context.Background(), 30*24*time.Hour); err != nil {
			t.Fatal(err)
		}
		// Period 1 is charged on its own date, before the clock moves: the
		// move never overtakes it.
		if got := h.paidOnce(m, 1).CreatedAt; !got.Equal(at(2027, time.August, 31, 9)) {
			t.Errorf("period 1 charged at %s, want on its due date, 31 August", got)
		}
		if got := h.paidOnce(m, 2).CreatedAt; !got.Equal(at(2027, time.September, 30, 9)) {
			t.Errorf("period 2 charged at %s, want 30 September", got)
		}
		h.expectBilling(m, store.BillingActive, 3, at(2027, time.October, 31, 9))
	})
}
