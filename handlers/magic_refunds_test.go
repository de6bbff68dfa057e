package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// The refund magic amounts on each provider, through the dashboard as the
// merchant uses it: one 12.00 USD payment is refunded 1.00 (plain), 4.05
// (fails) and 3.06 (succeeds, then fails). After each step the mandate
// page's words and the provider's own records (the sandbox's API) must say
// the same: money moved exactly as the provider moved it.
func TestMagicRefunds(t *testing.T) {
	t.Parallel()
	type step struct {
		amount string
		// settles is how many settle delays have passed at the check: the
		// refund is pending at 0, settled at 1, and an 06 fails at 2. A
		// row with the amount of the row before goes on with its refund.
		settles int
		status  payments.RefundState // the refund's, in our records and on the page
		// refunded is what the charge counts as refunded (and the page
		// shows), and providerPaid what the provider holds as refunded.
		refunded, providerPaid int64
		left                   string // the refund form's "at most"
	}
	steps := []step{
		{amount: "1.00", settles: 0, status: payments.RefundPending, refunded: 0, providerPaid: 0, left: "11.00 USD"},
		{amount: "1.00", settles: 1, status: payments.RefundSucceeded, refunded: 100, providerPaid: 100, left: "11.00 USD"},
		{amount: "4.05", settles: 0, status: payments.RefundPending, refunded: 100, providerPaid: 100, left: "6.95 USD"},
		{amount: "4.05", settles: 1, status: payments.RefundFailed, refunded: 100, providerPaid: 100, left: "11.00 USD"},
		{amount: "3.06", settles: 1, status: payments.RefundSucceeded, refunded: 406, providerPaid: 406, left: "7.94 USD"},
		{amount: "3.06", settles: 2, status: payments.RefundFailed, refunded: 100, providerPaid: 100, left: "11.00 USD"},
	}
	for _, provider := range merchantProviders {
		t.Run(provider, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withWebhooks)
			e.settleAfter(time.Hour) // each settle when the test moves the clock
			m, _ := e.activeMandate(provider)
			ctx := context.Background()
			charges, err := e.Store.Charges(ctx, m.ID)
			if err != nil || len(charges) != 1 || charges[0].Status != payments.ChargeSucceeded {
				t.Fatalf("period 1: %+v, %v", charges, err)
			}
			c := charges[0]
			admin := e.adminBrowser()
			var refundID int64
			for i, s := range steps {
				if i == 0 || steps[i-1].amount != s.amount { // a new refund
					after := e.send(admin, refundForm(e.adminPage(admin, m.ID), c.ID, s.amount))
					if flash, _ := after.TestID("flash"); flash != "The refund of "+s.amount+" USD is pending." {
						t.Errorf("%s: flash %q", s.amount, flash)
					}
					refunds, _ := e.Store.Refunds(ctx, m.ID)
					refundID = refunds[len(refunds)-1].ID
				}
				if s.settles > 0 {
					e.settleOnce(refundID, s.status)
				}
				e.checkRefund(t, admin, m, c, refundID, s.amount, s.status, s.refunded, s.providerPaid, s.left)
			}
		})
	}
}

// settleOnce moves the demo clock past one settle delay, has the provider
// catch up (anything that reads it does) and waits for the app to record
// the refund in want: its webhooks are processed as they come (Stripe's)
// or by the worker's pass (PPRO's), which also reconciles pending ones.
func (e *env) settleOnce(refundID int64, want payments.RefundState) {
	e.t.Helper()
	e.Clock.Set(e.Clock.Offset() + time.Hour + time.Minute)
	r, err := e.Store.RefundByID(context.Background(), refundID)
	if err != nil {
		e.t.Fatal(err)
	}
	c, _ := e.Store.Charge(context.Background(), r.ChargeID)
	e.Stripe.PaymentIntents.List(&stripe.PaymentIntentListParams{}) // any read brings the sandbox up to date
	var res struct{ Data []struct{ ID string } }
	if strings.HasPrefix(c.ProviderRef, "charge_") {
		e.pproGet("/v1/payment-charges/"+c.ProviderRef+"/refunds", &res)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := e.Worker.Pass(context.Background()); err != nil {
			e.t.Fatal(err)
		}
		if r, _ = e.Store.RefundByID(context.Background(), refundID); r.Status == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("refund %d is %s (%s), want %s", refundID, r.Status, r.ProviderStatus, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRefund compares our records, the mandate page and the provider's
// own records after a step.
func (e *env) checkRefund(t *testing.T, admin *pagetest.Browser, m store.Mandate, c store.Charge, refundID int64, amount string,
	status payments.RefundState, refunded, providerPaid int64, left string) {
	t.Helper()
	ctx := context.Background()
	r, err := e.Store.RefundByID(ctx, refundID)
	if err != nil || r.Status != status {
		t.Errorf("%s: refund %+v, %v; want %s", amount, r, err, status)
	}
	after, _ := e.Store.Charge(ctx, c.ID)
	if after.Refunded != refunded {
		t.Errorf("%s %s: the charge counts %d refunded, want %d", amount, status, after.Refunded, refunded)
	}
	page := e.adminPage(admin, m.ID)
	statuses := page.AllTestIDAttr("refund", "data-status")
	if len(statuses) == 0 || statuses[len(statuses)-1] != string(status) {
		t.Errorf("%s %s: the page shows refunds %v", amount, status, statuses)
	}
	text := page.Text()
	if status == payments.RefundFailed {
		failure, _ := page.TestID("refund-failure")
		reason := map[string]string{"stripe": "Stripe could not return the money (declined).", "ppro": r.FailureReason}[m.Provider]
		if !strings.HasPrefix(failure, "Failed, nothing was refunded: ") || reason == "" || !strings.Contains(text, reason) {
			t.Errorf("%s failed: the page says %q (reason %q)", amount, failure, r.FailureReason)
		}
	}
	wantRefunded := ""
	if refunded > 0 {
		wantRefunded = payments.Money{Amount: refunded, Currency: "USD"}.String()
	}
	if got, _ := page.TestID("charge-refunded"); got != wantRefunded {
		t.Errorf("%s %s: the page shows %q refunded, want %q", amount, status, got, wantRefunded)
	}
	if !strings.Contains(text, "at most "+left) {
		t.Errorf("%s %s: the refund form does not offer %s: %s", amount, status, left, text)
	}
	if got := e.providerRefundedOK(m, after); got != providerPaid {
		t.Errorf("%s %s: the provider holds %d refunded, want %d", amount, status, got, providerPaid)
	}
}

// providerRefundedOK is what the provider itself has given back: Stripe's
// amount_refunded less its pending refunds (which it counts), PPRO's
// REFUNDED refunds.
func (e *env) providerRefundedOK(m store.Mandate, c store.Charge) int64 {
	e.t.Helper()
	var sum int64
	switch m.Provider {
	case "stripe":
		it := e.Stripe.Refunds.List(&stripe.RefundListParams{PaymentIntent: stripe.String(c.ProviderRef)})
		for it.Next() {
			if rf := it.Refund(); rf.Status == stripe.RefundStatusSucceeded {
				sum += rf.Amount
			}
		}
		if err := it.Err(); err != nil {
			e.t.Fatal(err)
		}
	case "ppro":
		var res struct {
			Data []struct {
				Amount int64
				Status string
			}
		}
		e.pproGet("/v1/payment-charges/"+c.ProviderRef+"/refunds", &res)
		for _, r := range res.Data {
			if r.Status == "REFUNDED" {
				sum += r.Amount
			}
		}
	}
	return sum
}

// settleAfter sets both sandboxes' settle delay.
func (e *env) settleAfter(d time.Duration) {
	st := e.sandbox.StripeSim().Settings()
	st.SettleAfter = d
	e.sandbox.StripeSim().SetSettings(st)
	pt := e.sandbox.PPROSim().Settings()
	pt.SettleAfter = d
	e.sandbox.PPROSim().SetSettings(pt)
}
