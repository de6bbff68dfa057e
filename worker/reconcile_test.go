package worker_test

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// lastChange is the source of a mandate's latest status change.
func (h *harness) lastChange(m store.Mandate) store.Event {
	h.t.Helper()
	events, err := h.Store.History(context.Background(), m.ID)
	if err != nil || len(events) == 0 {
		h.t.Fatalf("history of %s: %v %v", m.ID, events, err)
	}
	return events[len(events)-1]
}

// The shopper approved and never came back, and no webhook came (none is
// configured): the worker alone asks the provider once the setup is older
// than ReconcileAfter, finds it approved, and activates the mandate; its
// billing starts, and period 1 is charged.
func TestApprovedSetupWithoutWebhookEndsActive(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				start := at(2027, time.February, 1, 9)
				h := newHarness(t, apptest.On(db), apptest.StartingAt(start), apptest.WithWorker(func(c *worker.Config) { c.ReconcileAfter = 15 * time.Minute }))
				b := pagetest.NewBrowser(t)
				var m store.Mandate
				var approval *pagetest.Page
				if provider == "stripe" {
					m, approval = h.StripeApproval(b)
				} else {
					m, approval = h.PPROApproval(b, false)
				}
				// Approved at the provider; the shopper closes the tab before
				// the redirect back to the shop.
				b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)

				h.Time.Set(start.Add(14 * time.Minute))
				h.Pass()
				if got := h.Mandate(m.ID).Status; got != mandate.Pending {
					t.Fatalf("mandate %s before ReconcileAfter, want still pending", got)
				}

				h.Time.Set(start.Add(15*time.Minute + time.Second))
				h.Pass()
				after := h.Mandate(m.ID)
				mustActive(t, after)
				if e := h.lastChange(after); e.Source != mandate.SourceWorker {
					t.Errorf("activated by %s, want the worker", e.Source)
				}
				h.expectBilling(after, store.BillingActive, 1, h.Time.Now())
				h.Pass()
				h.paidOnce(after, 1)
			})
		}
	})
}

// A Stripe setup the shopper abandoned: the Checkout Session has an
// explicit expires_at (SETUP_LIFETIME, an hour); once the clock is past it
// Stripe calls the session expired, and the worker ends the mandate
// canceled.
func TestAbandonedStripeSetupEndsCanceled(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		start := at(2027, time.February, 1, 9)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(start))
		b := pagetest.NewBrowser(t)
		m, _ := h.StripeApproval(b) // on Amazon Pay's page, then gone
		cs, err := h.Stripe.CheckoutSessions.Get(m.ProviderRef, nil)
		if err != nil {
			t.Fatal(err)
		}
		expires := time.Unix(cs.ExpiresAt, 0).UTC()
		if want := start.Add(time.Hour); !expires.Equal(want) {
			t.Fatalf("session expires at %s, want %s (an hour after it was made)", expires, want)
		}

		// Checked after ReconcileAfter, still open: still pending.
		h.Time.Set(start.Add(30 * time.Minute))
		h.Pass()
		if got := h.Mandate(m.ID).Status; got != mandate.Pending {
			t.Fatalf("mandate %s while the session is open, want pending", got)
		}

		h.Time.Set(expires.Add(time.Second))
		h.Pass()
		after := h.Mandate(m.ID)
		if after.Status != mandate.Canceled {
			t.Fatalf("mandate %s after the session expired, want canceled (last error %q)", after.Status, after.LastError)
		}
		if e := h.lastChange(after); e.Source != mandate.SourceWorker {
			t.Errorf("canceled by %s, want the worker", e.Source)
		}
		if cs, err = h.Stripe.CheckoutSessions.Get(m.ProviderRef, nil); err != nil || cs.Status != stripe.CheckoutSessionStatusExpired {
			t.Errorf("session at Stripe: %v, %v; want expired", cs.Status, err)
		}
		if _, err := h.Store.Billing(context.Background(), m.ID); err != store.ErrNotFound {
			t.Errorf("an abandoned setup has billing: %v", err)
		}
	})
}

// A PPRO setup the shopper abandoned: PPRO fails the agreement by itself
// after Amazon Pay's one-hour authentication timeout, and the worker ends
// the mandate failed, with PPRO's reason.
func TestAbandonedPPROSetupEndsFailed(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		start := at(2027, time.February, 1, 9)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(start))
		b := pagetest.NewBrowser(t)
		m, _ := h.PPROApproval(b, true)

		// Checked after ReconcileAfter (ten minutes), and again ten minutes
		// after each check: pending within the hour.
		h.Time.Set(start.Add(45 * time.Minute))
		h.Pass()
		if got := h.Mandate(m.ID).Status; got != mandate.Pending {
			t.Fatalf("mandate %s within the hour, want pending", got)
		}

		h.Time.Set(start.Add(time.Hour + time.Second))
		h.Pass()
		after := h.Mandate(m.ID)
		if after.Status != mandate.Failed && after.Status != mandate.Canceled {
			t.Fatalf("mandate %s after PPRO's timeout, want failed or canceled", after.Status)
		}
		if e := h.lastChange(after); e.Source != mandate.SourceWorker || !strings.Contains(after.FailureReason, "1 hour") {
			t.Errorf("ended by %s with %q, want the worker with PPRO's timeout", e.Source, after.FailureReason)
		}
		agr, err := h.PPRO.GetAgreement(context.Background(), m.ProviderRef)
		if err != nil || agr.Status != ppro.AgreementFailed {
			t.Errorf("agreement at PPRO: %s, %v; want FAILED", agr.Status, err)
		}
		if after.FirstPayment == nil || after.FirstPayment.Status != "failed" {
			t.Errorf("first payment %+v, want failed with the agreement", after.FirstPayment)
		}
	})
}
