package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// "Charge now" asks first: its page says the amount against the price the
// terms say each payment is, and charges nothing until confirmed. An amount
// off the terms is refused without a reason, and its reason is kept with
// the payment and shown on it. The confirmation sent twice charges once.
func TestAdminChargeConfirmation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _ := e.activeMandate("stripe")
	admin := e.adminBrowser()
	calls := e.recordCalls()

	// The plan's price: the confirmation says it is what the terms say.
	confirm := admin.Do(e.adminPage(admin, m.ID).Submit("", "/charge", nil)).Expect(http.StatusOK)
	if terms, _ := confirm.TestID("terms-price"); terms != "each payment is 12.00 USD" {
		t.Errorf("the confirmation says %q", terms)
	}
	if confirm.Count("off-terms") != 0 || len(e.merchantCharges(m.ID)) != 0 || calls.payments() != 0 {
		t.Fatalf("before the confirmation: off-terms %d, %d charges, %d payment calls", confirm.Count("off-terms"),
			len(e.merchantCharges(m.ID)), calls.payments())
	}
	req := confirm.Submit("confirm", "1", nil)
	again := confirm.Submit("confirm", "1", nil)
	e.send(admin, req)
	if flash, _ := e.send(admin, again).TestID("flash"); !strings.HasPrefix(flash, "This form was already sent") {
		t.Errorf("the confirmation sent twice says %q", flash)
	}
	if cs := e.merchantCharges(m.ID); len(cs) != 1 || cs[0].Reason != "" || calls.payments() != 1 {
		t.Fatalf("after the confirmation sent twice: %+v, %d payment calls; want one charge, no reason", cs, calls.payments())
	}

	// Another amount: the terms do not cover it, so it needs a reason.
	page := e.adminPage(admin, m.ID)
	confirm = admin.Do(page.Submit("", "/charge", url.Values{"amount": {"500.00"}})).Expect(http.StatusOK)
	if off, _ := confirm.TestID("off-terms"); !strings.Contains(off, "500.00 USD is not the plan's price (12.00 USD)") {
		t.Errorf("off-terms warning %q", off)
	}
	refused := admin.Do(confirm.Submit("confirm", "1", url.Values{"reason": {"  "}})).Expect(http.StatusUnprocessableEntity)
	if msg, _ := refused.TestID("reason-error"); !strings.Contains(msg, "Give the reason") {
		t.Errorf("no reason: %q", msg)
	}
	if n := len(e.merchantCharges(m.ID)); n != 1 || calls.payments() != 1 {
		t.Fatalf("an amount off the terms without a reason made %d charges, %d payment calls", n, calls.payments())
	}
	// Posted straight, skipping the page: the store refuses it too.
	straight := admin.Do(page.Submit("", "/charge", url.Values{"amount": {"500.00"}, "confirm": {"1"}})).Expect(http.StatusUnprocessableEntity)
	if straight.Count("charge-confirm") != 1 || len(e.merchantCharges(m.ID)) != 1 {
		t.Errorf("a confirmed 500.00 without a reason: %d charges", len(e.merchantCharges(m.ID)))
	}
	after := e.send(admin, refused.Submit("confirm", "1", url.Values{"reason": {"Annual upgrade agreed by phone"}}))
	cs := e.merchantCharges(m.ID)
	if len(cs) != 2 || cs[1].Amount.Amount != 50000 || cs[1].Reason != "Annual upgrade agreed by phone" {
		t.Fatalf("charges after a reason: %+v", cs)
	}
	if why, _ := after.TestID("charge-reason"); why != "Annual upgrade agreed by phone" {
		t.Errorf("the payment shows reason %q", why)
	}
}

// "Revoke" asks first, now or at the end of the paid period. At the end of
// the paid period the mandate stays active, the shopper is emailed, and
// the page says when it ends; now revokes at once, once.
func TestAdminRevokeConfirmation(t *testing.T) {
	t.Parallel()
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			m, shopper := e.activeMandate(provider)
			admin := e.adminBrowser()
			calls := e.countRevocations()

			confirm := admin.Do(e.adminPage(admin, m.ID).Submit("", "/revoke", nil)).Expect(http.StatusOK)
			b, err := e.Store.Billing(context.Background(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if until, _ := confirm.TestID("paid-until"); until != b.NextDueAt.UTC().Format("2 Jan 2006, 15:04 UTC") {
				t.Errorf("the confirmation says paid until %q, billing is due %s", until, b.NextDueAt)
			}
			if e.mandate(m.ID, mandate.Active); calls.Load() != 0 {
				t.Fatalf("the confirmation page called the provider %d times", calls.Load())
			}

			after := e.send(admin, confirm.Submit("when", "period-end", nil))
			if flash, _ := after.TestID("flash"); !strings.Contains(flash, "Cancelled at the end of the paid period") {
				t.Errorf("after cancel at period end: %q", flash)
			}
			if after.Count("cancels-on") != 1 || calls.Load() != 0 {
				t.Errorf("cancels-on %d, %d provider calls", after.Count("cancels-on"), calls.Load())
			}
			e.mandate(m.ID, mandate.Active)
			msgs, err := e.Store.Messages(context.Background(), m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if last := msgs[len(msgs)-1]; last.Kind != store.MsgCancelScheduled {
				t.Errorf("the last message to the shopper is %q, want %q", last.Kind, store.MsgCancelScheduled)
			}
			own := shopper.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
			if next, _ := own.TestID("next-payment"); !strings.HasPrefix(next, "none: Northwind Coffee cancels your subscription at the end") {
				t.Errorf("the shopper's page says the next payment is %q", next)
			}

			// The same confirmation's "Revoke now" afterwards: its token is spent.
			if flash, _ := e.send(admin, confirm.Submit("when", "now", nil)).TestID("flash"); !strings.Contains(flash, "already sent") {
				t.Errorf("a spent confirmation: %q", flash)
			}
			// A fresh one revokes now.
			confirm = admin.Do(e.adminPage(admin, m.ID).Submit("", "/revoke", nil)).Expect(http.StatusOK)
			if confirm.Count("cancel-scheduled") != 1 {
				t.Errorf("the confirmation does not say the cancellation is scheduled")
			}
			e.send(admin, confirm.Submit("when", "now", nil))
			if got := e.mandate(m.ID, mandate.Revoked); got.RevokedBy != payments.RevokedByMerchant || calls.Load() != 1 {
				t.Errorf("revoked by %q with %d provider calls", got.RevokedBy, calls.Load())
			}
		})
	}
}

// A refund asks why: the reason and the merchant's note are kept with it
// and shown on it; a refund without a reason is refused.
func TestAdminRefundReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, _ := e.activeMandate("ppro")
	admin := e.adminBrowser()
	charges, err := e.Store.Charges(context.Background(), m.ID)
	if err != nil || len(charges) == 0 {
		t.Fatalf("charges %v, %v", charges, err)
	}
	c := charges[0]
	page := e.adminPage(admin, m.ID)
	admin.Do(page.Submit("", "/charges/"+itoa(c.ID)+"/refund", url.Values{"amount": {"2.00"}, "reason": {""}})).
		Expect(http.StatusUnprocessableEntity)
	after := e.send(admin, page.Submit("", "/charges/"+itoa(c.ID)+"/refund",
		url.Values{"amount": {"2.00"}, "reason": {"duplicate"}, "note": {"double click at the till"}}))
	if why, _ := after.TestID("refund-why"); why != "Reason: A payment taken twice · double click at the till" {
		t.Errorf("the refund shows %q", why)
	}
	refunds, err := e.Store.Refunds(context.Background(), m.ID)
	if err != nil || len(refunds) != 1 || refunds[0].Reason != "duplicate" || refunds[0].Note != "double click at the till" {
		t.Fatalf("refunds %+v, %v", refunds, err)
	}
}

// "Retry now" on a past-due period makes its next scheduled attempt at
// once (a decline here: the plan's price is the sandbox's magic amount for
// insufficient funds), and the same form sent again makes none.
func TestAdminRetryNow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, withPlan(payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1202, Currency: "USD"}, Interval: payments.Month}))
	m, _ := e.activeMandate("stripe")
	b, err := e.Store.Billing(context.Background(), m.ID)
	if err != nil || b.State != store.BillingPastDue || b.Failures != 1 {
		t.Fatalf("billing %+v, %v; want past due after one decline", b, err)
	}
	admin := e.adminBrowser()
	page := e.adminPage(admin, m.ID)
	req := page.Submit("", "/retry", nil)
	resend := page.Submit("", "/retry", nil)
	after := e.send(admin, req)
	if flash, _ := after.TestID("flash"); !strings.Contains(flash, "The charge of 12.02 USD was declined") {
		t.Errorf("after retry now: %q", flash)
	}
	b2, err := e.Store.Billing(context.Background(), m.ID)
	if err != nil || b2.State != store.BillingPastDue || b2.Failures != 2 || !b2.NextDueAt.After(b.NextDueAt) {
		t.Fatalf("billing after retry now %+v, %v; want past due, 2 declines, the next retry later", b2, err)
	}
	if flash, _ := e.send(admin, resend).TestID("flash"); !strings.Contains(flash, "already sent") {
		t.Errorf("retry now sent twice: %q", flash)
	}
	cs, err := e.Store.Charges(context.Background(), m.ID)
	if err != nil || len(cs) != 2 || cs[1].Attempt != 2 || cs[1].Period != 1 {
		t.Fatalf("charges %+v, %v; want period 1's two attempts", cs, err)
	}
}
