package worker_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/apptest"
	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// paid is the amount of period n's succeeded charge, failing the test
// unless exactly one succeeded.
func (h *harness) paid(m store.Mandate, n int) payments.Money {
	h.t.Helper()
	var amounts []payments.Money
	for _, c := range apptest.InPeriod(h.Charges(m.ID), n) {
		if c.Status.Paid() {
			amounts = append(amounts, c.Amount)
		}
	}
	if len(amounts) != 1 {
		h.t.Fatalf("period %d of %s has %d paid charges, want 1", n, m.ID, len(amounts))
	}
	return amounts[0]
}

// receipt is what the receipt of period n's paid charge says.
func (h *harness) receipt(m store.Mandate, n int) store.ReceiptData {
	h.t.Helper()
	for _, c := range apptest.InPeriod(h.Charges(m.ID), n) {
		if !c.Status.Paid() {
			continue
		}
		msg, err := h.Store.MessageByKey(context.Background(), "charge/"+strconv.FormatInt(c.ID, 10)+"/receipt")
		if err != nil {
			h.t.Fatalf("receipt of period %d: %v", n, err)
		}
		var d store.ReceiptData
		if err := json.Unmarshal(msg.Data, &d); err != nil {
			h.t.Fatal(err)
		}
		return d
	}
	h.t.Fatalf("period %d of %s is not paid", n, m.ID)
	return store.ReceiptData{}
}

// schedule schedules the plan's new price from eff, as the dashboard does.
func (h *harness) schedule(price int64, eff time.Time) store.PriceChange {
	h.t.Helper()
	c, created, err := h.Service.SchedulePriceChange(context.Background(), h.Plan,
		payments.Money{Amount: price, Currency: h.Plan.Price.Currency}, eff)
	if err != nil || !created {
		h.t.Fatalf("schedule %d from %s: created %v, %v", price, eff, created, err)
	}
	return c
}

// With the demo clock: periods due before the effective date are charged
// the old price, those due on or after it the new one; a period due before
// it whose retry comes after it keeps its own price; a mandate revoked
// before the effective date is never charged the new price.
func TestPriceChangeChargesTheNewPriceFromTheEffectiveDate(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.January, 31, 10)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		ada := h.ActiveStripe()
		bob := h.ActiveStripe()
		h.Pass()
		old := h.Plan.Price
		if h.paid(ada, 1) != old || h.paid(bob, 1) != old {
			t.Fatal("period 1 not paid at the plan's price")
		}

		eff := at(2027, time.March, 1, 0)
		ch := h.schedule(1500, eff)
		if ch.Notified != 2 {
			t.Fatalf("%d mandates told, want 2", ch.Notified)
		}
		newPrice := payments.Money{Amount: 1500, Currency: old.Currency}

		// bob cancels on his page before the new price takes effect.
		if _, err := h.Service.Revoke(context.Background(), bob, payments.RevokedByShopper, mandate.SourceShopper); err != nil {
			t.Fatal(err)
		}

		// Period 2, due 28 February, before the change: its first attempt
		// is declined, its retry a day later (after the change) charges
		// the period's own price.
		var declined atomic.Bool
		h.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
			if apptest.IsCharge(r) && declined.CompareAndSwap(false, true) {
				stripeDecline(w)
				return true
			}
			return false
		})
		feb := at(2027, time.February, 28, 10)
		h.Time.Set(feb)
		h.Pass()
		h.expectBilling(ada, store.BillingPastDue, 2, feb.Add(24*time.Hour))
		h.Time.Set(feb.Add(24 * time.Hour))
		if h.Clock.Now().Before(eff) {
			t.Fatal("the retry comes before the change: the test proves nothing")
		}
		h.Pass()
		if got := h.paid(ada, 2); got != old {
			t.Errorf("period 2 (due before the change), retried after it: charged %s, want %s", got, old)
		}
		// Its receipt names the next payment at the new price.
		if r := h.receipt(ada, 2); r.NextAmount != newPrice || !r.NextAt.Equal(at(2027, time.March, 31, 10)) {
			t.Errorf("period 2's receipt: next %s on %s, want %s on 31 March", r.NextAmount, r.NextAt, newPrice)
		}

		// Period 3, due 31 March: the new price.
		mar := at(2027, time.March, 31, 10)
		h.Time.Set(mar)
		h.Pass()
		if got := h.paid(ada, 3); got != newPrice {
			t.Errorf("period 3 (due after the change): charged %s, want %s", got, newPrice)
		}
		h.expectBilling(ada, store.BillingActive, 4, at(2027, time.April, 30, 10))

		// bob: nothing after his revocation, at any price.
		for _, c := range h.Charges(bob.ID) {
			if c.Period != 1 {
				t.Errorf("bob, revoked before the change, was charged %s for period %d", c.Amount, c.Period)
			}
		}
		if b := h.Billing(bob.ID); b.State != store.BillingRevoked {
			t.Errorf("bob's billing is %s, want revoked", b.State)
		}
	})
}

// A PPRO agreement states its amount exactly (amountType EXACT) and PPRO
// has no call to change it: the periods before the change are charged the
// agreed price, and at the first period at the new price the agreement
// ends, uncharged, revoked at PPRO by the merchant, with the reason in the
// billing history.
func TestPriceChangeEndsAnExactAmountAgreement(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		anchor := at(2027, time.January, 31, 10)
		h := newHarness(t, apptest.On(db), apptest.StartingAt(anchor))
		m := h.ActivePPRO(false)
		h.Pass()
		old := h.Plan.Price
		if h.paid(m, 1) != old {
			t.Fatal("period 1 not paid at the agreed price")
		}
		h.schedule(1500, at(2027, time.March, 1, 0))
		prices, err := h.Store.MandatePrices(context.Background(), m.ID)
		if err != nil || len(prices) != 1 || !prices[0].EndsAgreement {
			t.Fatalf("the mandate's prices %+v (%v): want one, ending the agreement", prices, err)
		}

		feb := at(2027, time.February, 28, 10)
		h.Time.Set(feb)
		h.Pass()
		if got := h.paid(m, 2); got != old {
			t.Errorf("period 2 (before the change): charged %s, want %s", got, old)
		}
		// Its receipt promises no next payment: the agreement ends first.
		if r := h.receipt(m, 2); !r.NextAt.IsZero() {
			t.Errorf("period 2's receipt promises a payment of %s on %s", r.NextAmount, r.NextAt)
		}

		mar := at(2027, time.March, 31, 10)
		h.Time.Set(mar)
		h.Pass()
		if cs := apptest.InPeriod(h.Charges(m.ID), 3); len(cs) != 0 {
			t.Fatalf("period 3, at the new price, was charged on the old agreement: %+v", cs)
		}
		b := h.Billing(m.ID)
		if b.State != store.BillingEnded {
			t.Fatalf("billing is %s, want ended", b.State)
		}
		events, err := h.Store.BillingEvents(context.Background(), m.ID)
		if err != nil || len(events) == 0 {
			t.Fatal(events, err)
		}
		last := events[len(events)-1]
		if last.To != store.BillingEnded || !strings.Contains(last.Detail, "the agreement states 12.00 USD exactly; the price changed to 15.00 USD") {
			t.Errorf("last billing event %+v", last)
		}
		if got := h.Mandate(m.ID); got.Status != mandate.Revoked || got.RevokedBy != payments.RevokedByMerchant {
			t.Errorf("mandate %s, revoked by %q; want revoked by the merchant", got.Status, got.RevokedBy)
		}
		// PPRO itself holds the agreement revoked: nothing more can be charged.
		if n := h.SandboxCount(`SELECT count(*) FROM ppro_agreements WHERE id = ? AND status = 'REVOKED_BY_MERCHANT' AND amount_type = 'EXACT' AND amount_value = 1200`, m.PaymentMethodID); n != 1 {
			t.Errorf("the agreement is not revoked at PPRO (%d)", n)
		}
		// Later passes charge nothing.
		h.Time.Set(at(2027, time.April, 30, 10))
		h.Pass()
		if n := len(h.Charges(m.ID)); n != 2 {
			t.Errorf("%d charges in all, want 2", n)
		}
		// The shopper heard of it twice: the notice, and the end itself
		// (why, at which price); the revocation that follows adds nothing.
		msgs, err := h.Store.Messages(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, msg := range msgs {
			kinds = append(kinds, msg.Kind)
		}
		want := []string{store.MsgConfirmed, store.MsgReceipt, store.MsgPriceChange, store.MsgReceipt, store.MsgEnded}
		if !slices.Equal(kinds, want) {
			t.Fatalf("emails %v, want %v", kinds, want)
		}
		var ended store.EndedData
		if err := json.Unmarshal(msgs[len(msgs)-1].Data, &ended); err != nil || ended.NewPrice.Amount != 1500 || ended.Amount != old ||
			ended.Failures != 0 || ended.Period != 3 {
			t.Errorf("the end's email says %+v (%v)", ended, err)
		}
	})
}
