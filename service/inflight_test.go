package service_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// A payment still in flight is never looked up. The merchant charges; the
// request is on its way and the provider has not made the payment yet
// when the presenter moves the demo clock two days on and the worker runs.
// By the demo clock the charge is two days old and its key dead, but it
// was sent 20 s ago in real time (within store.InFlightFor): the worker leaves
// it alone. Looked up then, it would have been found nowhere and failed as
// never made while the provider was about to take the money.
func TestChargeInFlightIsNotLookedUp(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{"stripe", "ppro"} {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			m := h.Active(provider)
			var armed atomic.Bool
			held, release := make(chan struct{}), make(chan struct{})
			h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
				if apptest.IsCharge(r) && armed.CompareAndSwap(true, false) {
					close(held)
					<-release // the provider has not seen it yet
				}
				return false
			})
			armed.Store(true)
			type result struct {
				c   store.Charge
				err error
			}
			done := make(chan result, 1)
			go func() {
				c, err := h.Service.ChargeNow(context.Background(), m, m.Plan.Price, "")
				done <- result{c, err}
			}()
			select {
			case <-held:
			case <-time.After(30 * time.Second):
				t.Fatal("the charge never reached the provider's door")
			}

			h.Clock.Advance(48 * time.Hour)
			h.Time.Advance(20 * time.Second) // in real time the request is still within our clients' 30 s wait
			h.Pass()
			for _, c := range h.Charges(m.ID) {
				if c.Kind == store.KindMerchant && c.Status != payments.ChargePending {
					t.Errorf("while in flight the charge became %s (%s), want pending", c.Status, c.FailureCode)
				}
			}

			close(release)
			res := <-done
			if res.err != nil {
				t.Fatalf("charge now: %v", res.err)
			}
			if got := h.Charge(res.c.ID); got.Status != payments.ChargeSucceeded {
				t.Errorf("after the answer the charge is %s (%s), want succeeded", got.Status, got.FailureCode)
			}
			if n := h.Payments(m, res.c.IdempotencyKey); n != 1 {
				t.Errorf("the provider holds %d payments for the charge, want 1", n)
			}
		})
	}
}
