package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// magicCharges are the sandbox's magic charge amounts (the last two digits
// in minor units, the same on both providers; README's table), each with
// what the merchant's dashboard says of the charge once the provider has
// decided it, and what the provider itself holds: the money it took, and
// whether it opened a dispute (Stripe) or a chargeback (PPRO).
var magicCharges = []struct {
	name  string
	cents int64 // the plan's price (PPRO's agreements fix every charge to it) and the charge's amount
	// status is the data-status of the charge's card on the mandate's page.
	status string
	// words are in the card's text, per provider.
	words map[string][]string
	// shopper is what the shopper's page says of the first period, charged
	// by the schedule at the same amount.
	shopper string
	// taken is what the provider captured, in minor units.
	taken    int64
	disputed bool
}{
	{name: "plain", cents: 1200, status: "succeeded", shopper: "Paid.", taken: 1200},
	{name: "01 declined", cents: 1201, status: "failed", shopper: "Declined by Amazon Pay.",
		words: map[string][]string{"stripe": {"generic_decline"}, "ppro": {"GENERIC_DECLINE"}}},
	{name: "02 insufficient funds", cents: 1202, status: "failed", shopper: "Declined: the account did not have enough funds.",
		words: map[string][]string{"stripe": {"insufficient_funds"}, "ppro": {"INSUFFICIENT_FUNDS"}}},
	{name: "03 needs the shopper", cents: 1203, status: "failed", shopper: "Not taken: Amazon Pay asked for your confirmation",
		words: map[string][]string{"stripe": {payments.CodeAuthenticationRequired, "needed the shopper to confirm it"},
			"ppro": {payments.CodeAuthenticationFailed, "needed the shopper to confirm it"}}},
	{name: "04 disputed", cents: 1204, status: "succeeded", shopper: "Paid.", taken: 1204, disputed: true},
	{name: "07 pending, then paid", cents: 1207, status: "succeeded", shopper: "Paid.", taken: 1207},
}

// TestMagicChargeAmounts charges one mandate per provider and magic amount
// from the dashboard, lets the provider decide (its settle delay), and
// checks the dashboard's words against the sandbox's own records: the
// money moved exactly as the provider would have moved it.
func TestMagicChargeAmounts(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		for _, tc := range magicCharges {
			t.Run(provider+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				plan := testPlan
				plan.Price.Amount = tc.cents
				e := newEnv(t, withPlan(plan), withWebhooks)
				const settle = 50 * time.Millisecond
				if provider == "stripe" {
					s := e.sandbox.StripeSim().Settings()
					s.SettleAfter = settle
					e.sandbox.StripeSim().SetSettings(s)
				} else {
					s := e.sandbox.PPROSim().Settings()
					s.SettleAfter = settle
					e.sandbox.PPROSim().SetSettings(s)
				}
				m, shopper := e.activeBilled(provider)
				if got, _ := shopper.TestID("first-payment-text"); !strings.HasPrefix(got, tc.shopper) {
					t.Errorf("the shopper's page says %q of the first period, want %q", got, tc.shopper)
				}
				noProviderWords(t, shopper)
				admin := e.adminBrowser()
				after := e.send(admin, chargeForm(e.adminPage(admin, m.ID), plan.Price.Major()))
				charges := e.merchantCharges(m.ID)
				if len(charges) != 1 {
					t.Fatalf("%d charges from one form", len(charges))
				}
				if flash, _ := after.TestID("flash"); strings.Contains(flash, "could not be reached") {
					t.Fatalf("a provider's answer shown as an outage: %q", flash)
				}
				c := e.settled(charges[0], tc.disputed)

				page := e.adminPage(admin, m.ID)
				status, text, ok := chargeOnPage(t, page, c.ID)
				if !ok || status != tc.status {
					t.Fatalf("the dashboard shows the charge %q (%v), want %q: %s", status, ok, tc.status, text)
				}
				for _, w := range tc.words[provider] {
					if !strings.Contains(text, w) {
						t.Errorf("the dashboard's card lacks %q: %s", w, text)
					}
				}
				if tc.status == "succeeded" && !strings.Contains(text, plan.Price.String()) {
					t.Errorf("the dashboard's card lacks the amount %s: %s", plan.Price, text)
				}

				taken, disputed := e.providerHolds(provider, c)
				if taken != tc.taken {
					t.Errorf("the provider took %d, want %d", taken, tc.taken)
				}
				if (disputed > 0) != tc.disputed || disputed > 1 {
					t.Errorf("the provider opened %d disputes (want one: %v)", disputed, tc.disputed)
				}
			})
		}
	}
}

// activeBilled is an active mandate whose first period the worker has
// charged and the provider decided (at a magic price that takes the
// provider's settle delay, and the billing's backoff, which the demo clock
// is moved past), with the shopper's page as it then reads.
func (e *env) activeBilled(provider string) (store.Mandate, *pagetest.Page) {
	e.t.Helper()
	b := pagetest.NewBrowser(e.t)
	var id string
	var back *pagetest.Page
	switch provider {
	case "stripe":
		checkout := e.checkout(b, e.validForm(b))
		back = b.Follow(e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		m, err := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
		if err != nil {
			e.t.Fatal(err)
		}
		id = m.ID
	case "ppro":
		approval := e.pproApproval(b, e.pproForm(b, false))
		back = b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		id = e.pproMandate(approval).ID
	}
	for range 20 {
		if _, err := e.Worker.Pass(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		bl, err := e.Store.Billing(context.Background(), id)
		if err != nil {
			e.t.Fatal(err)
		}
		if bl.LeaseOwner == "" && (bl.NextPeriod > 1 || bl.Failures > 0) {
			return e.mandate(id, mandate.Active), b.Get(back.URL.String()).Expect(http.StatusOK)
		}
		time.Sleep(20 * time.Millisecond)
		// The billing's backoff is real time (a lease): move it on with the
		// demo clock.
		e.Clock.Advance(10 * time.Second)
		e.Real.Advance(10 * time.Second)
	}
	e.t.Fatalf("period 1 of %s not settled", id)
	return store.Mandate{}, nil
}

// settled waits until the provider has decided c (its settle delay, then
// its webhook), finishing it as the worker's sweep would meanwhile, and,
// with dispute, until the provider has opened a dispute on it.
func (e *env) settled(c store.Charge, dispute bool) store.Charge {
	e.t.Helper()
	ctx := context.Background()
	provider := "stripe"
	if strings.HasPrefix(c.ProviderRef, "charge_") {
		provider = "ppro"
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(25 * time.Millisecond) {
		var err error
		if c, err = e.Store.Charge(ctx, c.ID); err != nil {
			e.t.Fatal(err)
		}
		if c.Status == payments.ChargePending {
			if _, err := e.Service.FinishCharge(ctx, c, e.Clock.Now()); err != nil {
				e.t.Logf("finish: %v", err)
			}
			continue
		}
		if _, n := e.providerHolds(provider, c); !dispute || n > 0 {
			return c
		}
	}
	e.t.Fatalf("charge %d still %s (dispute wanted: %v)", c.ID, c.Status, dispute)
	return c
}

// providerHolds is what the provider itself holds for a charge: what it
// captured, and how many disputes (Stripe) or chargebacks (PPRO) it opened
// on it.
func (e *env) providerHolds(provider string, c store.Charge) (taken int64, disputes int) {
	e.t.Helper()
	ctx := context.Background()
	switch provider {
	case "stripe":
		params := &stripe.PaymentIntentParams{}
		params.AddExpand("latest_charge")
		pi, err := e.Stripe.PaymentIntents.Get(c.ProviderRef, params)
		if err != nil {
			e.t.Fatal(err)
		}
		if pi.Amount != c.Amount.Amount {
			e.t.Errorf("Stripe's PaymentIntent is for %d, the charge %d", pi.Amount, c.Amount.Amount)
		}
		taken = pi.AmountReceived
		if ch := pi.LatestCharge; ch != nil && ch.Captured && ch.AmountCaptured != taken {
			e.t.Errorf("Stripe's charge captured %d, its PaymentIntent received %d", ch.AmountCaptured, taken)
		}
		if ch := pi.LatestCharge; ch != nil && ch.Status == stripe.ChargeStatusSucceeded {
			e.captureRecorded(c, ch)
		}
		it := e.Stripe.Disputes.List(&stripe.DisputeListParams{PaymentIntent: stripe.String(pi.ID)})
		for it.Next() {
			if d := it.Dispute(); d.Amount != taken {
				e.t.Errorf("Stripe's dispute is for %d of %d taken", d.Amount, taken)
			}
			disputes++
		}
		if err := it.Err(); err != nil {
			e.t.Fatal(err)
		}
	case "ppro":
		ch, err := e.PPRO.GetCharge(ctx, c.ProviderRef)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, cp := range ch.Captures {
			if cp.Status == "CAPTURED" {
				taken += cp.Amount
			}
		}
		cbs, err := e.sandbox.PPROSim().Chargebacks(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, cb := range cbs {
			if cb.ChargeID == ch.ID {
				if cb.Amount != taken {
					e.t.Errorf("PPRO's chargeback is for %d of %d taken", cb.Amount, taken)
				}
				disputes++
			}
		}
	}
	return taken, disputes
}

// captureRecorded checks the capture operation the app recorded for c
// against the charge Stripe holds: written from the PaymentIntent when the
// payment was made (its charge is not expanded then), and corrected by the
// fetch that decided a payment still processing.
func (e *env) captureRecorded(c store.Charge, ch *stripe.Charge) {
	e.t.Helper()
	ops, err := e.Store.Operations(context.Background(), c.MandateID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, op := range ops[c.ID] {
		if op.Kind == payments.OpCapture {
			if op.ProviderRef != ch.ID || op.Status != string(ch.Status) || op.Amount != ch.Amount {
				e.t.Errorf("the app recorded the capture %s %s of %d, Stripe holds %s %s of %d",
					op.ProviderRef, op.Status, op.Amount, ch.ID, ch.Status, ch.Amount)
			}
			return
		}
	}
	e.t.Errorf("the app recorded no capture of charge %d (Stripe's %s): %+v", c.ID, ch.ID, ops[c.ID])
}
