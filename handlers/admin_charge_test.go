package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/store"
)

// The merchant charges an active mandate from its page: the charge
// succeeds, the page says so, and the provider's own record is the payment
// asked for (amount, the saved payment method, our reference).
func TestAdminChargeSucceeds(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			admin := e.adminBrowser()
			page := e.adminPage(admin, m.ID)
			if got := page.InputValue("amount"); got != "12.00" {
				t.Errorf("the charge form proposes %q, want the plan's 12.00", got)
			}
			calls := e.recordCalls()
			after := e.send(admin, chargeForm(page, "12.00"))

			charges := e.merchantCharges(m.ID)
			if len(charges) != 1 {
				t.Fatalf("%d merchant charges, want 1", len(charges))
			}
			c := charges[0]
			if c.Status != payments.ChargeSucceeded || c.Amount != (payments.Money{Amount: 1200, Currency: "USD"}) ||
				c.ProviderRef == "" || c.InitiatedBy != store.ByMerchant || c.IdempotencyKey != "mandate/"+m.ID+"/charge/"+itoa(c.ID) {
				t.Fatalf("charge = %+v", c)
			}
			if !strings.HasSuffix(after.URL.String(), "?charge="+itoa(c.ID)) {
				t.Errorf("back at %s", after.URL)
			}
			if flash, _ := after.TestID("flash"); flash != "Charged 12.00 USD." {
				t.Errorf("flash %q", flash)
			}
			status, text, ok := chargeOnPage(t, after, c.ID)
			if !ok || status != "succeeded" || !strings.Contains(text, "12.00 USD") || !strings.Contains(text, c.ProviderRef) ||
				!strings.Contains(text, "Charged by the merchant") {
				t.Errorf("charge on the page: %q %q", status, text)
			}
			if !strings.Contains(text, "Refund (USD, at most 12.00 USD)") {
				t.Errorf("a succeeded charge has no refund form: %q", text)
			}
			if got := calls.payments(); got != 1 {
				t.Errorf("%d payment calls, want 1: %v", got, calls.list())
			}

			// The provider's own record.
			switch provider {
			case "stripe":
				pi, err := e.Stripe.PaymentIntents.Get(c.ProviderRef, nil)
				if err != nil {
					t.Fatal(err)
				}
				if pi.Status != stripe.PaymentIntentStatusSucceeded || pi.Amount != 1200 || pi.Currency != "usd" ||
					pi.Customer == nil || pi.Customer.ID != m.ProviderCustomerRef ||
					pi.PaymentMethod == nil || pi.PaymentMethod.ID != m.PaymentMethodID ||
					strings.Join(pi.PaymentMethodTypes, ",") != "amazon_pay" ||
					pi.Metadata["charge_ref"] != c.IdempotencyKey || pi.Metadata["mandate_id"] != m.ID {
					t.Errorf("Stripe's PaymentIntent = %+v", pi)
				}
			case "ppro":
				ch, err := e.PPRO.GetCharge(context.Background(), c.ProviderRef)
				if err != nil {
					t.Fatal(err)
				}
				if ch.Status != ppro.ChargeCaptured || ch.AgreementID != m.PaymentMethodID || ch.Currency != "USD" ||
					len(ch.Authorizations) != 1 || ch.Authorizations[0].Amount != 1200 ||
					len(ch.Captures) != 1 || ch.Captures[0].Amount != 1200 {
					t.Errorf("PPRO's charge = %+v", ch)
				}
				// PPRO's authorization and capture are on the page.
				ops, _ := after.TestID("operations")
				if !strings.Contains(ops, ch.Authorizations[0].ID) || !strings.Contains(ops, ch.Captures[0].ID) {
					t.Errorf("operations shown: %q", ops)
				}
			}
			if got := e.providerPayments(m, "mandate/"+m.ID+"/charge/"); len(got) != 1 || got[0].Amount != 1200 {
				t.Errorf("the provider holds %+v, want one payment of 1200", got)
			}
		})
	}
}

// A magic amount is declined by the provider: a failed charge with the
// provider's reason, shown as such, not an error page.
func TestAdminChargeDeclined(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				amount string
				cents  int64
				code   string
			}{
				{"12.02", 1202, map[string]string{"stripe": "insufficient_funds", "ppro": "INSUFFICIENT_FUNDS"}[provider]},
				{"7.01", 701, map[string]string{"stripe": "generic_decline", "ppro": "GENERIC_DECLINE"}[provider]},
			} {
				// Priced at the magic amount: PPRO's agreements fix every
				// charge's amount to the plan's price.
				plan := testPlan
				plan.Price.Amount = tc.cents
				e := newEnv(t, withPlan(plan))
				m, _ := e.activeMandate(provider)
				admin := e.adminBrowser()
				after := e.send(admin, chargeForm(e.adminPage(admin, m.ID), tc.amount))
				charges := e.merchantCharges(m.ID)
				c := charges[len(charges)-1]
				if c.Status != payments.ChargeFailed || !strings.Contains(c.FailureCode+" "+c.FailureReason, tc.code) {
					t.Fatalf("charge of %s = %+v", tc.amount, c)
				}
				flash, _ := after.TestID("flash")
				if !strings.Contains(flash, "was declined") || !strings.Contains(flash, tc.code) ||
					!strings.Contains(after.TestIDAttr("flash", "class"), "banner-error") {
					t.Errorf("flash after %s: %q", tc.amount, flash)
				}
				status, text, _ := chargeOnPage(t, after, c.ID)
				if status != "failed" || !strings.Contains(text, tc.code) || strings.Contains(text, "Refund (") {
					t.Errorf("declined charge on the page (no refund form): %q %q", status, text)
				}
				// The provider declined it too.
				got := e.providerPayments(m, c.IdempotencyKey)
				if len(got) != 1 || (got[0].Status != "FAILED" && got[0].Status != string(stripe.PaymentIntentStatusRequiresPaymentMethod)) {
					t.Errorf("the provider holds %+v for %s", got, c.IdempotencyKey)
				}
				// The mandate stays active and can be charged again.
				if after := e.adminPage(admin, m.ID); after.Count("charge-form") != 1 {
					t.Errorf("after a decline: %d charge forms", after.Count("charge-form"))
				}
				e.mandate(m.ID, mandate.Active)
			}
		})
	}
}

// The same form sent twice (a resubmission, a double click) charges once:
// one charge row, one payment at the provider, and the second answer says
// nothing new was charged. A form without its token charges nothing.
func TestAdminChargeFormSentTwiceChargesOnce(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			admin := e.adminBrowser()
			calls := e.recordCalls()

			// One after the other.
			page := e.adminPage(admin, m.ID)
			first := admin.Do(chargeForm(page, "12.00")).Expect(http.StatusSeeOther)
			second := admin.Do(chargeForm(page, "12.00")).Expect(http.StatusSeeOther)
			charges := e.merchantCharges(m.ID)
			if len(charges) != 1 {
				t.Fatalf("%d charges after the form was sent twice", len(charges))
			}
			id := itoa(charges[0].ID)
			if q1, q2 := mustURL(t, first.Location()).Query(), mustURL(t, second.Location()).Query(); q1.Get("charge") != id || q1.Get("again") != "" ||
				q2.Get("charge") != id || q2.Get("again") != "1" {
				t.Errorf("sent to %s, then %s", first.Location(), second.Location())
			}
			again := admin.Follow(second).Expect(http.StatusOK)
			if flash, _ := again.TestID("flash"); !strings.HasPrefix(flash, "This form was already sent, so nothing new was charged.") {
				t.Errorf("second answer says %q", flash)
			}

			// At once, as a double click sends them (another amount where
			// the mandate allows one: PPRO's agreements fix it).
			otherAmount, secondCents := "3.00", int64(300)
			if provider == "ppro" {
				otherAmount, secondCents = "12.00", 1200
			}
			page = e.adminPage(admin, m.ID)
			var wg sync.WaitGroup
			statuses := make([]int, 4)
			for i := range statuses {
				req := chargeForm(page, otherAmount)
				wg.Go(func() {
					resp, err := admin.Client.Do(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				})
			}
			wg.Wait()
			for _, s := range statuses {
				if s != http.StatusSeeOther {
					t.Errorf("double click answered %v", statuses)
					break
				}
			}

			// A form without its token is refused, before anything is written or sent.
			noToken := chargeForm(e.adminPage(admin, m.ID), "4.00")
			form := mustForm(t, noToken)
			form.Del("token")
			after := e.send(admin, postForm(t, noToken.URL.String(), form))
			if flash, _ := after.TestID("flash"); !strings.Contains(flash, "expired") {
				t.Errorf("a form without its token: %q", flash)
			}

			charges = e.merchantCharges(m.ID)
			if len(charges) != 2 || charges[1].Amount.Amount != secondCents {
				t.Fatalf("charges after a double click: %+v", charges)
			}
			if got := calls.payments(); got != 2 {
				t.Errorf("%d payment calls, want 2: %v", got, calls.list())
			}
			if got := e.providerPayments(m, "mandate/"+m.ID+"/charge/"); len(got) != 2 {
				t.Errorf("the provider holds %d payments, want 2: %+v", len(got), got)
			}
			if got := e.count(`SELECT count(*) FROM charges WHERE mandate_id = ? AND kind = 'merchant'`, m.ID); got != 2 {
				t.Errorf("%d charge rows", got)
			}
		})
	}
}

// A partial refund, then the rest; more than what is left is refused
// before any call.
func TestAdminRefundPartThenAll(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			admin := e.adminBrowser()
			e.send(admin, chargeForm(e.adminPage(admin, m.ID), "12.00"))
			c := e.merchantCharges(m.ID)[0]
			ctx := context.Background()

			page := e.adminPage(admin, m.ID)
			after := e.send(admin, refundForm(page, c.ID, "5.00"))
			refunds, _ := e.Store.Refunds(ctx, m.ID)
			if len(refunds) != 1 || refunds[0].Amount.Amount != 500 || refunds[0].ProviderRef == "" {
				t.Fatalf("refunds = %+v", refunds)
			}
			flash, _ := after.TestID("flash")
			// Both providers' refunds are pending at first (Stripe's
			// Amazon Pay refunds are asynchronous, PPRO's go through
			// PENDING), and count only once they succeeded.
			if refunds[0].Status != payments.RefundPending || flash != "The refund of 5.00 USD is pending." {
				t.Errorf("refund %+v, flash %q", refunds[0], flash)
			}
			if c, _ = e.Store.Charge(ctx, c.ID); c.Status != payments.ChargeSucceeded || c.Refunded != 0 {
				t.Errorf("charge while its refund is pending: %+v", c)
			}
			e.settleRefunds()
			c, _ = e.Store.Charge(ctx, c.ID)
			if c.Status != payments.ChargePartiallyRefunded || c.Refunded != 500 {
				t.Fatalf("charge after a partial refund: %+v", c)
			}

			// More than what is left: refused here, nothing sent.
			calls := e.recordCalls()
			page = e.adminPage(admin, m.ID)
			if !strings.Contains(page.Text(), "at most 7.00 USD") {
				t.Errorf("the refund form does not say what is left: %s", page.Text())
			}
			over := e.send(admin, refundForm(page, c.ID, "7.01"))
			if flash, _ := over.TestID("flash"); flash != "That is more than what is left to refund." {
				t.Errorf("over-refund: %q", flash)
			}
			if got := calls.list(); len(got) != 0 {
				t.Errorf("an over-refund called the provider: %v", got)
			}
			if got := e.count(`SELECT count(*) FROM refunds`); got != 1 {
				t.Errorf("%d refunds written", got)
			}

			// The rest.
			e.Intercept(nil)
			stale := e.adminPage(admin, m.ID) // kept open in another tab
			e.send(admin, refundForm(e.adminPage(admin, m.ID), c.ID, "7.00"))
			e.settleRefunds()
			c, _ = e.Store.Charge(ctx, c.ID)
			refunds, _ = e.Store.Refunds(ctx, m.ID)
			if c.Status != payments.ChargeRefunded || c.Refunded != 1200 || len(refunds) != 2 ||
				refunds[1].Status != payments.RefundSucceeded || refunds[1].Amount.Amount != 700 {
				t.Fatalf("after refunding the rest: charge %+v, refunds %+v", c, refunds)
			}
			page = e.adminPage(admin, m.ID)
			status, text, _ := chargeOnPage(t, page, c.ID)
			if status != "refunded" || strings.Contains(text, "at most") || !strings.Contains(text, "Refunded 12.00 USD") ||
				!strings.Contains(text, "refund 5.00 USD succeeded "+refunds[0].ProviderRef) ||
				!strings.Contains(text, "refund 7.00 USD succeeded "+refunds[1].ProviderRef) {
				t.Errorf("a refunded charge on the page: %q %q", status, text)
			}
			// Each refund once: not again among the provider's operations.
			for _, rf := range refunds {
				if n := strings.Count(text, rf.ProviderRef); n != 1 {
					t.Errorf("refund %s is on its payment's card %d times: %q", rf.ProviderRef, n, text)
				}
			}
			// Even with a form kept from before, nothing more can be refunded.
			calls = e.recordCalls()
			late := e.send(admin, refundForm(stale, c.ID, "0.01"))
			if flash, _ := late.TestID("flash"); flash != "That is more than what is left to refund." {
				t.Errorf("a refund beyond the charge: %q", flash)
			}
			if got := calls.list(); len(got) != 0 {
				t.Errorf("a refund beyond the charge called the provider: %v", got)
			}

			// The provider's own record.
			switch provider {
			case "stripe":
				params := &stripe.PaymentIntentParams{}
				params.AddExpand("latest_charge")
				pi, err := e.Stripe.PaymentIntents.Get(c.ProviderRef, params)
				if err != nil {
					t.Fatal(err)
				}
				if pi.LatestCharge == nil || pi.LatestCharge.AmountRefunded != 1200 || !pi.LatestCharge.Refunded {
					t.Errorf("Stripe's charge = %+v", pi.LatestCharge)
				}
				for _, r := range refunds {
					re, err := e.Stripe.Refunds.Get(r.ProviderRef, nil)
					if err != nil || re.Status != stripe.RefundStatusSucceeded || re.Amount != r.Amount.Amount ||
						re.PaymentIntent == nil || re.PaymentIntent.ID != c.ProviderRef {
						t.Errorf("Stripe's refund %s = %+v, %v", r.ProviderRef, re, err)
					}
				}
			case "ppro":
				ch, err := e.PPRO.GetCharge(ctx, c.ProviderRef)
				if err != nil {
					t.Fatal(err)
				}
				var total int64
				for _, r := range ch.Refunds {
					if r.Status == ppro.RefundRefunded {
						total += r.Amount
					}
				}
				if len(ch.Refunds) != 2 || total != 1200 {
					t.Errorf("PPRO's charge %s has refunds %+v", ch.Status, ch.Refunds)
				}
			}
		})
	}
}

// settleRefunds lets the sandbox's Stripe settle its pending refunds (five
// sandbox-seconds) and the worker's reconciliation record them, as it does
// a minute after a refund was last touched.
func (e *env) settleRefunds() {
	e.t.Helper()
	e.Clock.Set(e.Clock.Offset() + 2*time.Minute)
	e.Real.Advance(store.InFlightFor + time.Minute) // what was sent is no longer in flight
	if _, err := e.Worker.Pass(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	pending, err := e.Store.PendingRefunds(context.Background(), e.Clock.Now().Add(time.Hour), 100)
	if err != nil || len(pending) != 0 {
		e.t.Fatalf("refunds still pending: %+v, %v", pending, err)
	}
}

// Revoked, a mandate can no longer be charged: the provider is told when it
// is revoked, and a charge after that is refused before any API call.
func TestAdminRevokeThenChargeIsRefused(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(provider)
			admin := e.adminBrowser()
			page := e.adminPage(admin, m.ID) // its charge form, kept open in another tab

			after := e.send(admin, revokeNow(e.adminPage(admin, m.ID)))
			if got, _ := after.TestID("mandate-status"); got != "revoked" {
				t.Errorf("status shown %q", got)
			}
			if flash, _ := after.TestID("flash"); !strings.HasPrefix(flash, "Revoked:") {
				t.Errorf("flash %q", flash)
			}
			if after.Count("charge-form") != 0 || after.Count("revoke") != 0 {
				t.Error("a revoked mandate still offers a charge or a revocation")
			}
			if by, _ := after.TestID("revoked-by"); by != "merchant" {
				t.Errorf("revoked by %q", by)
			}
			m = e.mandate(m.ID, mandate.Revoked)
			h, _ := e.Store.History(context.Background(), m.ID)
			if m.RevokedBy != payments.RevokedByMerchant || h[len(h)-1].Source != mandate.SourceMerchant {
				t.Errorf("revoked by %q, last history %+v", m.RevokedBy, h[len(h)-1])
			}
			e.providerRevoked(m)

			calls := e.recordCalls()
			refused := e.send(admin, chargeForm(page, "12.00"))
			if flash, _ := refused.TestID("flash"); !strings.Contains(flash, "not active") || !strings.Contains(flash, "nothing was sent") {
				t.Errorf("charging a revoked mandate: %q", flash)
			}
			// Revoking again does nothing either.
			e.send(admin, revokeNow(page))
			if got := calls.list(); len(got) != 0 {
				t.Errorf("the provider was called: %v", got)
			}
			if got := e.merchantCharges(m.ID); len(got) != 0 {
				t.Errorf("charges written: %+v", got)
			}
		})
	}
}

// providerRevoked checks that the provider itself holds the mandate revoked.
func (e *env) providerRevoked(m store.Mandate) {
	e.t.Helper()
	switch m.Provider {
	case "stripe":
		pm, err := e.Stripe.PaymentMethods.Get(m.PaymentMethodID, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		if pm.Customer != nil {
			e.t.Errorf("Stripe's payment method %s is still on customer %s", pm.ID, pm.Customer.ID)
		}
	case "ppro":
		agr, err := e.PPRO.GetAgreement(context.Background(), m.PaymentMethodID)
		if err != nil {
			e.t.Fatal(err)
		}
		if !agr.Status.Revoked() {
			e.t.Errorf("PPRO's agreement is %s", agr.Status)
		}
	}
}

// "Charge now" on a PPRO agreement (amountType EXACT) offers only the
// agreed amount: the form shows it fixed, and another amount sent anyway
// is refused with the reason before anything is written or sent. Stripe's
// mandates take any amount within Stripe's limits.
func TestAdminChargeFixedAmount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		provider string
		fixed    bool
	}{{"stripe", false}, {"ppro", true}} {
		t.Run(tc.provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, _ := e.activeMandate(tc.provider)
			admin := e.adminBrowser()
			calls := e.recordCalls()
			page := e.adminPage(admin, m.ID)
			note, _ := page.TestID("charge-note")
			if fixed := strings.Contains(page.Body, `data-fixed="true"`); fixed != tc.fixed ||
				tc.fixed && !strings.Contains(note, "exactly 12.00 USD each time") || page.InputValue("amount") != "12.00" {
				t.Fatalf("charge form: fixed %v, amount %q, note %q; want fixed %v", fixed, page.InputValue("amount"), note, tc.fixed)
			}
			resp := admin.Do(chargeForm(page, "15.00"))
			if !tc.fixed {
				after := admin.Follow(resp.Expect(http.StatusSeeOther)).Expect(http.StatusOK)
				if flash, _ := after.TestID("flash"); !strings.Contains(flash, "Charged 15.00 USD") {
					t.Fatalf("another amount on Stripe: %q", flash)
				}
				return
			}
			resp.Expect(http.StatusUnprocessableEntity)
			if msg, _ := resp.TestID("charge-error"); !strings.Contains(msg, "exactly 12.00 USD each time") || !strings.Contains(msg, "new agreement") {
				t.Errorf("refusal of another amount: %q", msg)
			}
			if resp.InputValue("amount") != "12.00" {
				t.Errorf("the fixed field shows %q after the refusal", resp.InputValue("amount"))
			}
			if n := calls.payments(); n != 0 || len(e.merchantCharges(m.ID)) != 0 {
				t.Errorf("another amount was written or sent: %d calls, %d charges", n, len(e.merchantCharges(m.ID)))
			}
		})
	}
}

// A provider's 4xx on a charge is its refusal, recorded with its reason:
// the merchant reads "refused", never "could not be reached", and nothing
// is sent again. Only no answer, a timeout, a 5xx or a 429 is an outage.
func TestAdminChargeRefusedIsNotAnOutage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status  int32
		refused bool
	}{{upstream400, true}, {http.StatusNotFound, true}, {upstream500, false}, {http.StatusTooManyRequests, false}, {upstreamDown, false}} {
		for _, provider := range merchantProviders {
			t.Run(fmt.Sprintf("%s %d", provider, tc.status), func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				m, _ := e.activeMandate(provider)
				admin := e.adminBrowser()
				page := e.adminPage(admin, m.ID)
				e.outage.Store(tc.status)
				after := e.send(admin, chargeForm(page, "12.00"))
				e.outage.Store(upstreamUp)
				flash, _ := after.TestID("flash")
				c := e.merchantCharges(m.ID)[0]
				if !tc.refused {
					if c.Status != payments.ChargePending || !strings.Contains(flash, "could not be reached") {
						t.Fatalf("an outage: charge %s, flash %q; want pending, could not be reached", c.Status, flash)
					}
					return
				}
				if c.Status != payments.ChargeFailed || !strings.Contains(c.FailureReason, "Simulated outage") ||
					!strings.HasPrefix(c.ProviderStatus, "refused") {
					t.Fatalf("a refusal recorded as %s %q %q", c.Status, c.ProviderStatus, c.FailureReason)
				}
				if !strings.Contains(flash, "was refused by") || strings.Contains(flash, "could not be reached") {
					t.Errorf("flash after a refusal: %q", flash)
				}
				calls := e.recordCalls()
				if _, err := e.Worker.Pass(context.Background()); err != nil {
					t.Fatal(err)
				}
				if n := calls.payments(); n != 0 {
					t.Errorf("a refused charge sent again %d times", n)
				}
			})
		}
	}
}
