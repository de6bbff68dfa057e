package worker_test

import (
	"example.com/storefront/internal/dbtest"
	"net/http"
	"net/url"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// The shopper revokes the permission in their Amazon account (played on
// the sandbox's index page) and the app never hears of it (no webhook):
// the next period's charge is refused (Stripe: HTTP 400
// payment_intent_mandate_invalid) or declined (PPRO: AGREEMENT_REVOKED).
// That is no decline to retry and no outage: the app asks the provider,
// records the revocation (not by the merchant), billing stops with it, and
// the provider is asked for no more payments.
func TestRevokedOutsideTheAppStopsBilling(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		for _, provider := range []string{"stripe", "ppro"} {
			t.Run(provider, func(t *testing.T) {
				t.Parallel()
				anchor := at(2027, time.September, 30, 16)
				h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
				var m store.Mandate
				if provider == "stripe" {
					m = h.ActiveStripe()
				} else {
					m = h.ActivePPRO(false)
				}
				h.Pass()
				h.paidOnce(m, 1)

				b := pagetest.NewBrowser(t)
				if provider == "stripe" {
					b.Post(h.URL+"/sandbox/stripe/payment-methods/"+m.PaymentMethodID+"/amazon-revoke", nil).Expect(http.StatusSeeOther)
				} else {
					b.Post(h.URL+"/sandbox/ppro/agreements/"+m.PaymentMethodID+"/revocations", url.Values{"by": {"consumer"}}).Expect(http.StatusSeeOther)
				}

				var calls int
				h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
					if apptest.IsCharge(r) {
						calls++
					}
					return false
				})
				due := at(2027, time.October, 30, 16)
				for _, d := range []time.Duration{0, 5 * time.Minute, time.Hour, 6 * time.Hour, 25 * time.Hour} {
					h.Time.Set(due.Add(d))
					h.Pass()
				}
				after := h.Mandate(m.ID)
				bl := h.Billing(m.ID)
				// Stripe cannot tell the shopper from Amazon Pay (an inactive
				// mandate); PPRO says the consumer.
				want := payments.RevokedByProvider
				if provider == "ppro" {
					want = payments.RevokedByShopper
				}
				if after.Status != mandate.Revoked || after.RevokedBy != want {
					t.Errorf("mandate %s by %q, want revoked by %s", after.Status, after.RevokedBy, want)
				}
				if e := h.lastChange(after); e.Source != mandate.SourceWorker {
					t.Errorf("revocation recorded by %s, want the worker", e.Source)
				}
				if bl.State != store.BillingRevoked || bl.NextPeriod != 2 {
					t.Errorf("billing %s at period %d, want revoked at period 2", bl.State, bl.NextPeriod)
				}
				if calls != 1 {
					t.Errorf("%d charge calls for period 2, want the one that found the mandate revoked", calls)
				}
				cs := h.Charges(m.ID)
				if len(cs) != 2 || cs[1].Status != payments.ChargeFailed {
					t.Errorf("charges %+v, want period 1's and period 2's failed (no payment made)", cs)
				}
				if n := h.SandboxCount(`SELECT count(*) FROM stripe_payment_intents WHERE status = 'succeeded'`) +
					h.SandboxCount(`SELECT count(*) FROM ppro_charges WHERE status = 'CAPTURED'`); n != 1 {
					t.Errorf("the provider holds %d payments, want period 1's only", n)
				}
			})
		}
	})
}
