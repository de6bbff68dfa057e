package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// Billing starts when the mandate does, however it became active. Here the
// Stripe webhook activates it (it gets there before the shopper's return,
// as in the sandbox, and the shopper never comes back): the worker is woken
// with it and charges period 1 at once, not at its next pass (the env's
// worker runs every 30 s).
func TestWebhookActivationChargesPeriodOneAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	_, m, _ := e.webhookActivated() // the shopper never follows the approval back
	if h, _ := e.Store.History(context.Background(), m.ID); len(h) != 2 || h[1].Source != mandate.SourceWebhook {
		t.Fatalf("history = %+v, want the activation from the webhook", h)
	}
	start := time.Now()
	deadline := start.Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM charges WHERE mandate_id = ? AND period = 1 AND status = 'succeeded'`, m.ID) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("period 1 of %s not charged 10 s after the webhook activated it (the worker was not woken)", m.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("period 1 charged %v after the activation was seen", time.Since(start).Round(time.Millisecond))
	// The worker records the payment, then moves the billing on.
	for {
		bl, err := e.Store.Billing(context.Background(), m.ID)
		if err == nil && bl.NextPeriod == 2 && bl.State == store.BillingActive {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("billing after period 1: %+v, %v", bl, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The presenter's case: the Stripe webhook activates the mandate (before
// the shopper's return, as in the sandbox) and the demo clock is moved a
// month a moment later. The move cannot overtake period 1: it is charged on
// its own date, period 2 on the next, and the shopper's page lists each
// once, by its due date.
func TestClockMoveRightAfterWebhookActivationCannotOvertakePeriodOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	b, m, back := e.webhookActivated()
	demo := &worker.Demo{Clock: e.Clock, Store: e.Store, Worker: e.Worker}
	if _, err := demo.Advance(context.Background(), 31*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	bl, err := e.Store.Billing(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	byPeriod := map[int][]store.Charge{}
	cs, err := e.Store.Charges(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		byPeriod[c.Period] = append(byPeriod[c.Period], c)
	}
	for n := 1; n <= 2; n++ {
		if len(byPeriod[n]) != 1 || byPeriod[n][0].Status != payments.ChargeSucceeded {
			t.Fatalf("period %d: %+v, want one succeeded charge", n, byPeriod[n])
		}
		due := billing.Due(bl.AnchorAt, m.Plan.Interval, n)
		if at := byPeriod[n][0].CreatedAt; at.Before(due) || at.Sub(due) > time.Minute {
			t.Errorf("period %d (due %s) charged at %s: overtaken by the clock move", n, due, at)
		}
	}

	b.Follow(back).Expect(http.StatusOK)
	list, _ := b.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK).TestID("shopper-payments")
	for n := 1; n <= 2; n++ {
		day := billing.Due(bl.AnchorAt, m.Plan.Interval, n).UTC().Format("2 January 2006")
		if got := strings.Count(list, day+":"); got != 1 {
			t.Errorf("the shopper's page lists %s %d times, want once: %s", day, got, list)
		}
	}
}
