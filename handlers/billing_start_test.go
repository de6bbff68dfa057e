package handlers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/store"
)

// Billing starts when the mandate does, however it became active. Here the
// Stripe webhook activates it (it gets there before the shopper's return,
// as in the sandbox, and the shopper never comes back): the worker is woken
// with it and charges period 1 at once, not at its next pass (the env's
// worker runs every 30 s).
func TestWebhookActivationChargesPeriodOneAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withWebhooks)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	m, err := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	if err != nil {
		t.Fatal(err)
	}
	e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther) // the shopper never follows it back
	e.waitStatus(m.ID, mandate.Active)
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
	bl, err := e.Store.Billing(context.Background(), m.ID)
	if err != nil || bl.NextPeriod != 2 || bl.State != store.BillingActive {
		t.Errorf("billing after period 1: %+v, %v", bl, err)
	}
}
