package service_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
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
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, apptest.On(db))
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
					c, err := h.Service.ChargeNow(context.Background(), m, m.Plan.Price, "", "")
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
	})
}

// A refund still in flight is never looked up either: the same case for a
// refund the merchant makes (store.PendingRefunds' InFlightFor window).
// Looked up, it would be found nowhere and failed while the provider was
// about to pay the money back: the merchant would see none returned.
func TestRefundInFlightIsNotLookedUp(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				h := newHarness(t, apptest.On(db))
				ctx := context.Background()
				m := h.Active(provider)
				c, err := h.Service.ChargeNow(ctx, m, m.Plan.Price, "", "")
				if err != nil || c.Status != payments.ChargeSucceeded {
					t.Fatalf("charge: %+v, %v", c, err)
				}
				var armed atomic.Bool
				held, release := make(chan struct{}), make(chan struct{})
				h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					if isRefund(r) && armed.CompareAndSwap(true, false) {
						close(held)
						<-release // the provider has not seen it yet
					}
					return false
				})
				armed.Store(true)
				done := make(chan error, 1)
				go func() {
					_, err := h.Service.Refund(ctx, m, c.ID, 500, "", "", "")
					done <- err
				}()
				select {
				case <-held:
				case <-time.After(30 * time.Second):
					t.Fatal("the refund never reached the provider's door")
				}

				h.Clock.Advance(48 * time.Hour)
				h.Time.Advance(20 * time.Second) // in real time the request is still within our clients' 30 s wait
				h.Pass()
				rs, err := h.Store.Refunds(ctx, m.ID)
				if err != nil || len(rs) != 1 {
					t.Fatalf("refunds %+v, %v; want one", rs, err)
				}
				if rs[0].Status != payments.RefundPending {
					t.Errorf("while in flight the refund became %s (%s), want pending", rs[0].Status, rs[0].LastError)
				}

				close(release)
				if err := <-done; err != nil {
					t.Fatalf("refund: %v", err)
				}
				h.Time.Advance(3 * time.Minute) // past store.InFlightFor: the worker settles what is left
				h.Pass()
				if got, _ := h.Store.RefundByID(ctx, rs[0].ID); got.Status != payments.RefundSucceeded {
					t.Errorf("after the answer the refund is %s (%s), want succeeded", got.Status, got.LastError)
				}
				if n, paid := h.providerRefunds(m, h.Charge(c.ID)); n != 1 || paid != 500 {
					t.Errorf("the provider holds %d refunds, %d paid back; want 1, 500", n, paid)
				}
			})
		}
	})
}
