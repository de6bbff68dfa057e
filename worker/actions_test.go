package worker_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// declineWhile declines, in Stripe's format, every charge while on is set.
func (h *harness) declineWhile(on *atomic.Bool) {
	h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if apptest.IsCharge(r) && on.Load() {
			stripeDecline(w)
			return true
		}
		return false
	})
}

// pastDue makes m's period 1 decline once: billing past due, 1 failure,
// retry 1 due a day after anchor.
func (h *harness) pastDue(m store.Mandate, anchor time.Time) {
	h.t.Helper()
	h.Pass()
	if b := h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(24*time.Hour)); b.Failures != 1 {
		h.t.Fatalf("failures %d after the first decline", b.Failures)
	}
}

// paidOnceAfterDeclines checks that period n of m was paid by exactly one
// of its attempts, and that the provider holds at most one payment per
// attempt (its key), the paid one exactly one.
func (h *harness) paidOnceAfterDeclines(m store.Mandate, n int) {
	h.t.Helper()
	paid := 0
	for _, c := range apptest.InPeriod(h.Charges(m.ID), n) {
		held := h.Payments(m, c.IdempotencyKey)
		if c.Status.Paid() {
			paid++
			if held != 1 {
				h.t.Errorf("the provider holds %d payments for %s, want 1", held, c.IdempotencyKey)
			}
		} else if held > 1 {
			h.t.Errorf("the provider holds %d payments for %s", held, c.IdempotencyKey)
		}
	}
	if paid != 1 {
		h.t.Errorf("period %d of %s paid %d times, want once", n, m.ID, paid)
	}
}

// "Retry now" is the next scheduled attempt, made now: a decline counts as
// that retry (the one after keeps its date), its key is the attempt's, and
// a page that is out of date (a retry made since) retries nothing.
func TestRetryNowIsTheNextScheduledAttempt(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		anchor := at(2027, time.January, 31, 10)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActiveStripe()
		var decline atomic.Bool
		decline.Store(true)
		h.declineWhile(&decline)
		h.pastDue(m, anchor)

		// Half a day later, long before retry 1's date: declined again.
		h.Time.Set(anchor.Add(12 * time.Hour))
		c, err := h.Worker.RetryNow(ctx, m.ID, 1)
		if err != nil || c.Attempt != 2 || c.Status != payments.ChargeFailed || c.IdempotencyKey != "mandate/"+m.ID+"/period/1/attempt/2" {
			t.Fatalf("retry now: %+v, %v; want attempt 2 declined", c, err)
		}
		// Two declines: the next retry is the schedule's second, on its own date.
		if b := h.expectBilling(m, store.BillingPastDue, 1, anchor.Add(72*time.Hour)); b.Failures != 2 {
			t.Errorf("failures %d after a retry now was declined, want 2", b.Failures)
		}

		// The same page pressed again (it still says 1 decline): nothing.
		if _, err := h.Worker.RetryNow(ctx, m.ID, 1); !errors.Is(err, store.ErrNothingToRetry) {
			t.Errorf("a stale retry now: %v, want ErrNothingToRetry", err)
		}
		if n := len(apptest.InPeriod(h.Charges(m.ID), 1)); n != 2 {
			t.Fatalf("%d attempts of period 1 after a stale retry now, want 2", n)
		}

		// The shopper topped up: retry now pays the period, once.
		decline.Store(false)
		c, err = h.Worker.RetryNow(ctx, m.ID, 2)
		if err != nil || c.Attempt != 3 || c.Status != payments.ChargeSucceeded {
			t.Fatalf("retry now after the top-up: %+v, %v; want attempt 3 paid", c, err)
		}
		h.expectBilling(m, store.BillingActive, 2, at(2027, time.February, 28, 10))
		h.paidOnceAfterDeclines(m, 1)
		if _, err := h.Worker.RetryNow(ctx, m.ID, 2); !errors.Is(err, store.ErrNothingToRetry) {
			t.Errorf("retry now of a paid period: %v, want ErrNothingToRetry", err)
		}
	})
}

// "Retry now" pressed while the worker takes the same period's scheduled
// retry (another process, at the same moment) makes one payment: the two
// claim the billing in one statement each, and the one that comes second
// finds the period retried (or held) and does nothing.
func TestRetryNowRacingTheWorkerPaysOnce(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		anchor := at(2027, time.January, 31, 10)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		web := h.secondProcess(nil) // the dashboard's process
		var decline atomic.Bool
		decline.Store(true)
		h.declineWhile(&decline)
		var ms []store.Mandate
		for range 4 {
			m := h.ActiveStripe()
			h.pastDue(m, anchor)
			ms = append(ms, m)
		}
		decline.Store(false)
		h.Time.Set(anchor.Add(24 * time.Hour)) // retry 1 is due: the worker takes it too

		var wg sync.WaitGroup
		retried := make([]error, len(ms))
		start := make(chan struct{})
		for i, m := range ms {
			wg.Go(func() {
				<-start
				_, retried[i] = web.Worker.RetryNow(ctx, m.ID, 1)
			})
		}
		wg.Go(func() {
			<-start
			h.Pass()
		})
		close(start)
		wg.Wait()
		h.Pass() // whatever the retry left to the worker

		for i, m := range ms {
			if err := retried[i]; err != nil && !errors.Is(err, store.ErrNothingToRetry) {
				t.Errorf("%s: retry now: %v", m.ID, err)
			}
			cs := apptest.InPeriod(h.Charges(m.ID), 1)
			if len(cs) != 2 || cs[1].Status != payments.ChargeSucceeded {
				t.Errorf("%s: period 1 attempts %+v, want a decline and one payment", m.ID, cs)
			}
			h.paidOnceAfterDeclines(m, 1)
			h.expectBilling(m, store.BillingActive, 2, at(2027, time.February, 28, 10))
		}
	})
}

// Cancelled at the end of the paid period: the mandate stays active until
// then, the shopper is told at once, and when the next period falls due
// nothing is charged; the mandate is revoked by the merchant instead.
func TestCancelAtPeriodEndChargesNothingAfter(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		anchor := at(2027, time.January, 31, 10)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActiveStripe()
		h.Pass()
		h.paidOnce(m, 1)
		end := at(2027, time.February, 28, 10)

		b, created, err := h.Store.CancelAtPeriodEnd(ctx, m.ID)
		if err != nil || !created || !b.NextDueAt.Equal(end) {
			t.Fatalf("cancel at period end: %+v, %v, %v", b, created, err)
		}
		if _, again, err := h.Store.CancelAtPeriodEnd(ctx, m.ID); err != nil || again {
			t.Errorf("asked twice: created %v, %v; want nothing new", again, err)
		}
		msgs, err := h.Store.Messages(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		told := 0
		for _, msg := range msgs {
			if msg.Kind == store.MsgCancelScheduled {
				told++
			}
		}
		if told != 1 {
			t.Errorf("%d messages saying the subscription ends, want 1: %+v", told, msgs)
		}

		h.Time.Set(end.Add(-time.Second))
		h.Pass()
		if got := h.Mandate(m.ID); got.Status != mandate.Active {
			t.Fatalf("before the paid period ends the mandate is %s", got.Status)
		}
		charges := len(h.Charges(m.ID))

		h.Time.Set(end)
		h.Pass()
		h.Time.Set(end.AddDate(0, 2, 0))
		h.Pass()
		got := h.Mandate(m.ID)
		if got.Status != mandate.Revoked || got.RevokedBy != payments.RevokedByMerchant {
			t.Errorf("after the paid period: %s by %q, want revoked by the merchant", got.Status, got.RevokedBy)
		}
		if n := len(h.Charges(m.ID)); n != charges {
			t.Errorf("%d charges after the paid period ended, want %d (none)", n, charges)
		}
		if n := h.Payments(m, "mandate/"+m.ID+"/period/2/attempt/1"); n != 0 {
			t.Errorf("the provider holds %d payments of period 2", n)
		}
		if b := h.Billing(m.ID); b.State != store.BillingRevoked {
			t.Errorf("billing %s after the paid period, want revoked", b.State)
		}
	})
}
