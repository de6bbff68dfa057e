package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// A mandate's life, a step a minute on a demo clock that also jumps a
// month: each thing it did is one entry of its activity log, newest first,
// with who did it; the shop's log holds the same entries (and the price
// change as scheduled), a page at a time, none twice and none missing.
func TestActivityLogHasEachThingOnceInOrder(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		real := &realClock{t: time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC)}
		var offset atomic.Int64 // the demo clock's, as the app's clock follows it
		demo := func() time.Time { return real.Now().Add(time.Duration(offset.Load())) }
		s, err := Open(ctx, db.New(t), demo, LeaseClock(real.Now))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		step := func() { real.Advance(time.Minute) }
		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		settle := func(o BillingOutcome) {
			t.Helper()
			_, err := s.ClaimDueBilling(ctx, "w", demo().Add(400*24*time.Hour), time.Minute, 10)
			must("claim", err)
			must("settle", s.SettleBilling(ctx, m0(t, s), "w", o, demo()))
		}

		m, err := s.CreateMandate(ctx, newMandate("ada@example.com"))
		must("create", err)
		step()
		_, _, err = s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_1",
			PaymentMethodType: "amazon_pay"})
		must("activate", err)
		step()
		p1, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindScheduled, InitiatedBy: BySchedule, Period: 1, Attempt: 1, Amount: plan.Price})
		must("charge period 1", err)
		_, _, err = s.ApplyCharge(ctx, p1.ID, payments.ChargeResult{Ref: "pi_1", State: payments.ChargeSucceeded})
		must("pay period 1", err)
		step()
		settle(BillingOutcome{To: BillingActive, Period: 2, NextDueAt: demo().Add(time.Hour), Detail: "period 1 paid"})
		step()
		mc, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindMerchant, InitiatedBy: ByMerchant, Amount: usd(500),
			Reason: "a part agreed with the shopper"})
		must("merchant charge", err)
		_, _, err = s.ApplyCharge(ctx, mc.ID, payments.ChargeResult{Ref: "pi_2", State: payments.ChargeFailed,
			Code: "INSUFFICIENT_FUNDS", Reason: "INSUFFICIENT_FUNDS: not enough money"})
		must("decline", err)
		step()
		r, err := s.CreateRefund(ctx, p1.ID, 700, "", "requested", "")
		must("refund", err)
		_, _, err = s.ApplyRefund(ctx, r.ID, payments.RefundResult{Ref: "re_1", State: payments.RefundSucceeded})
		must("refund settles", err)
		step()
		_, _, err = s.ApplyDispute(ctx, p1.ID, "stripe", payments.Dispute{Ref: "dp_1", ChargeRef: "pi_1", Amount: plan.Price,
			State: payments.DisputeNeedsResponse, ProviderStatus: "needs_response", Reason: "fraudulent"})
		must("dispute", err)
		step()
		_, _, err = s.SchedulePriceChange(ctx, NewPriceChange{Plan: plan, Price: usd(1500), EffectiveAt: demo().Add(20 * 24 * time.Hour)})
		must("price change", err)
		step()
		off, err := s.AdvanceDemoClock(ctx, 31*24*time.Hour)
		must("advance", err)
		offset.Store(int64(off))
		step()
		for i, to := range []string{BillingPastDue, BillingPastDue, BillingEnded} {
			c, _, err := s.CreateCharge(ctx, NewCharge{MandateID: m.ID, Kind: KindScheduled, InitiatedBy: BySchedule, Period: 2,
				Attempt: i + 1, Amount: plan.Price})
			must("charge period 2", err)
			c, _, err = s.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: fmt.Sprintf("pi_d%d", i), State: payments.ChargeFailed,
				Code: "insufficient_funds", Reason: "Your card has insufficient funds."})
			must("decline period 2", err)
			step()
			detail := fmt.Sprintf("payment %d of period 2 declined (%s)", i+1, c.Decline())
			if to == BillingEnded {
				detail = "ended for non-payment: 3 declined"
			}
			settle(BillingOutcome{To: to, Period: 2, NextDueAt: demo().Add(time.Hour), Failures: i + 1, Declined: &c, Detail: detail})
			step()
		}
		// The app revokes it at the provider, which reports the merchant.
		_, _, err = s.Transition(ctx, m.ID, mandate.Revoked, Change{Source: mandate.SourceWorker, RevokedBy: payments.RevokedByMerchant,
			Code: "REVOKED_BY_MERCHANT"})
		must("revoke", err)
		step()
		msgs, err := s.Messages(ctx, m.ID)
		must("messages", err)
		must("fail a message", s.FailMessage(ctx, msgs[0].ID, "mailbox full"))
		_, err = s.ResendMessage(ctx, msgs[0].ID)
		must("resend", err)
		step()
		must("reset", s.ResetDemoClock(ctx))
		offset.Store(0)

		got, err := s.MandateActivity(ctx, m.ID)
		must("activity", err)
		// Oldest first here; the log is newest first.
		want := []struct{ kind, what, by, detail string }{
			{ActStatus, "Mandate created", ByShopper, ""},
			{ActStatus, "Mandate confirmed", ByProvider, ""},
			{ActBilling, "Billing started: period 1 due", BySchedule, ""},
			{ActMessage, "Email (confirmed) to ada@example.com", ByApp, ""},
			{ActCharge, "Payment of period 1", BySchedule, "7.00 USD refunded"},
			{ActMessage, "Email (receipt)", ByApp, ""},
			{ActBilling, "Paid period 1", BySchedule, ""},
			{ActCharge, "One-off payment", ByMerchant, "declined: INSUFFICIENT_FUNDS: not enough money"},
			{ActRefund, "Refund of payment", ByMerchant, ""},
			{ActMessage, "Email (refund)", ByApp, ""},
			{ActDispute, "disputed (reported by stripe)", ByProvider, "reason: fraudulent"},
			{ActPrice, "Told of a price change: 12.00 USD → 15.00 USD", ByMerchant, ""},
			{ActMessage, "Email (price_change)", ByApp, ""},
			{ActClock, "Demo clock advanced 31 days", ByMerchant, ""},
			{ActCharge, "Payment of period 2", BySchedule, "declined: insufficient_funds: Your card has insufficient funds."},
			{ActBilling, "Payment of period 2 declined: past due", BySchedule, "payment 1 of period 2 declined (insufficient_funds: Your card"},
			{ActMessage, "Email (declined)", ByApp, ""},
			{ActCharge, "Retry 1 of period 2", BySchedule, "declined"},
			{ActBilling, "Retry of period 2 declined: still past due", BySchedule, "payment 2 of period 2"},
			{ActMessage, "Email (declined)", ByApp, ""},
			{ActCharge, "Retry 2 of period 2", BySchedule, "declined"},
			{ActBilling, "Billing ended for non-payment of period 2", BySchedule, ""},
			{ActMessage, "Email (ended)", ByApp, ""},
			{ActStatus, "Ended for non-payment: the mandate was revoked at the provider", BySchedule, "ended for non-payment"},
			{ActResend, "Sent again: Email (confirmed)", ByMerchant, ""},
			{ActClock, "Demo clock reset to real time", ByMerchant, ""},
		}
		if len(got) != len(want) {
			for _, a := range got {
				t.Logf("%s %-8s %-9s %s | %s", a.At.Format(time.RFC3339), a.Kind, a.By, a.What, a.Detail)
			}
			t.Fatalf("%d entries, want %d", len(got), len(want))
		}
		for i, w := range want {
			a := got[len(got)-1-i]
			if a.Kind != w.kind || !strings.Contains(a.What, w.what) || a.By != w.by || !strings.HasPrefix(a.Detail, w.detail) ||
				a.MandateID != "" && a.MandateID != m.ID {
				t.Errorf("entry %d: %s by %s: %q | %q; want %s by %s: %q | %q…", i, a.Kind, a.By, a.What, a.Detail, w.kind, w.by, w.what, w.detail)
			}
		}
		if a := got[len(got)-1-7]; a.Amount != usd(500) {
			t.Errorf("the merchant's charge shows %s", a.Amount)
		}

		// The shop's log, three at a time: the same entries, with the price
		// change as scheduled (for the shop) instead of as told to the
		// mandate (the notice is there, as an email).
		var shop []Activity
		cursor, pages := "", 0
		for {
			page, next, err := s.Activity(ctx, cursor, 3)
			must("shop activity", err)
			shop = append(shop, page...)
			pages++
			if next == "" {
				break
			}
			if pages > 20 {
				t.Fatal("the pages do not end")
			}
			cursor = next
		}
		if len(shop) != len(got) {
			t.Fatalf("the shop's log has %d entries, want %d", len(shop), len(got))
		}
		j := 0
		for _, a := range shop {
			if a.Kind == ActPrice && a.MandateID == "" {
				if !strings.Contains(a.What, "Price of Coffee Club changed: 12.00 USD → 15.00 USD") || a.By != ByMerchant {
					t.Errorf("the shop's price change: %+v", a)
				}
				continue
			}
			if got[j].Kind == ActPrice {
				j++
			}
			if a.Kind != got[j].Kind || a.What != got[j].What || !a.At.Equal(got[j].At) || a.MandateID != "" && a.Shopper != "ada@example.com" {
				t.Errorf("shop entry %d: %s %q of %q, want %s %q of ada@example.com", j, a.Kind, a.What, a.Shopper, got[j].Kind, got[j].What)
			}
			j++
		}
		if _, _, err := s.Activity(ctx, "nonsense", 3); err != ErrBadActivityCursor {
			t.Errorf("a made-up cursor: %v", err)
		}
	})
}

// m0 is the only mandate of a store's tests above.
func m0(t *testing.T, s *Store) string {
	t.Helper()
	var id string
	if err := s.db.QueryRowContext(context.Background(), `SELECT id FROM mandates`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// Every decline and every paid period is a row of the billing history:
// the retries' declines too (the state stays past due).
func TestBillingHistoryHasEachDecline(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		s, clock := openWithClock(t, db, time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC))
		m := activeMandate(t, s, "b@example.com", "stripe")
		for i, to := range []string{BillingPastDue, BillingPastDue, BillingActive} {
			clock.Advance(time.Hour)
			if _, err := s.ClaimDueBilling(ctx, "w", clock.Now().Add(400*24*time.Hour), time.Minute, 10); err != nil {
				t.Fatal(err)
			}
			period := 1
			if to == BillingActive {
				period = 2
			}
			if err := s.SettleBilling(ctx, m.ID, "w", BillingOutcome{To: to, Period: period, NextDueAt: clock.Now(), Failures: (i + 1) % 3,
				Detail: fmt.Sprint("step ", i)}, clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		events, err := s.BillingEvents(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		var words []string
		for _, e := range events {
			words = append(words, BillingWords(e.From, e.To, e.Period, e.Detail))
		}
		want := "Billing started: period 1 due / Payment of period 1 declined: past due / Retry of period 1 declined: still past due / Paid period 1 after declines"
		if got := strings.Join(words, " / "); got != want {
			t.Errorf("billing history:\n%s\nwant\n%s", got, want)
		}
	})
}

func TestDeclineSaysTheCodeOnce(t *testing.T) {
	for _, c := range []struct{ code, reason, want string }{
		{"INSUFFICIENT_FUNDS", "INSUFFICIENT_FUNDS: Insufficient funds", "INSUFFICIENT_FUNDS: Insufficient funds"},
		{"card_declined", "Your card was declined.", "card_declined: Your card was declined."},
		{"", "PPRO reports the charge failed.", "PPRO reports the charge failed."},
		{"GENERIC_DECLINE", "", "GENERIC_DECLINE"},
	} {
		if got := (Charge{FailureCode: c.code, FailureReason: c.reason}).Decline(); got != c.want {
			t.Errorf("%q %q: %q, want %q", c.code, c.reason, got, c.want)
		}
	}
}

// Each source of the shop's log walks its own (time, id) index backwards
// and stops at its LIMIT, with or without a cursor: a page costs the same
// at 100,000 mandates as at ten. (SQLite's plan; nothing is sorted.)
func TestShopActivityWalksAnIndexPerSource(t *testing.T) {
	t.Parallel()
	s, _ := mustOpen(t)
	index := map[string]string{
		ActStatus: "mandate_events_created", ActBilling: "billing_events_created", ActCharge: "charges_created",
		ActRefund: "refunds_created", ActDispute: "disputes_created", ActMessage: "outbox_created",
		ActResend: "outbox_resent", ActPrice: "price_changes_created", ActClock: "clock_moves_at",
	}
	cursors := map[string]*activityKey{"newest": nil}
	for _, rank := range []int{1, 5, 9} {
		cursors["cursor of rank "+strconv.Itoa(rank)] = &activityKey{at: "2027-01-10T09:00:00.000000Z", rank: rank, id: 7}
	}
	for _, src := range activitySources {
		for name, before := range cursors {
			q, args := src.sql(before, "", 51)
			plan := strings.Join(queryPlan(t, s, q, args...), " | ")
			if !strings.Contains(plan, "INDEX "+index[src.kind]) || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s, %s: plan %q, want a walk of %s and no sort", src.kind, name, plan, index[src.kind])
			}
		}
	}
}

// A mandate the app revoked after its billing ended says why: for
// non-payment, or a price change its exact-amount agreement cannot carry;
// one the merchant revoked says so.
func TestRevocationSaysWhy(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		s, clock := openWithClock(t, db, time.Date(2027, 1, 10, 9, 0, 0, 0, time.UTC))
		cases := []struct{ ended, source, want, by string }{
			{"ended for non-payment: 4 declined (GENERIC_DECLINE: Payment Authorization Failed)", "worker",
				"Ended for non-payment: the mandate was revoked at the provider", BySchedule},
			{"ended by a price change: the agreement states 12.00 USD exactly; the price changed to 15.00 USD from period 3", "worker",
				"Ended by a price change: the agreement was revoked at the provider", BySchedule},
			{"", "merchant", "Mandate revoked by the merchant", ByMerchant},
		}
		for i, c := range cases {
			m := activeMandate(t, s, fmt.Sprintf("r%d@example.com", i), "ppro")
			clock.Advance(time.Minute)
			if c.ended != "" {
				if _, err := s.ClaimDueBilling(ctx, "w", clock.Now().Add(400*24*time.Hour), time.Minute, 10); err != nil {
					t.Fatal(err)
				}
				if err := s.SettleBilling(ctx, m.ID, "w", BillingOutcome{To: BillingEnded, Period: 3, NextDueAt: clock.Now(), Detail: c.ended}, clock.Now()); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			if _, _, err := s.Transition(ctx, m.ID, mandate.Revoked, Change{Source: mandate.Source(c.source), RevokedBy: payments.RevokedByMerchant,
				Code: "REVOKED_BY_MERCHANT"}); err != nil {
				t.Fatal(err)
			}
			log, err := s.MandateActivity(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			var revoked []Activity
			for _, a := range log {
				if a.Kind == ActStatus && a.State == "revoked" {
					revoked = append(revoked, a)
				}
			}
			if len(revoked) != 1 || revoked[0].What != c.want || revoked[0].By != c.by || (c.ended != "" && revoked[0].Detail != c.ended) {
				t.Errorf("%s: revocations %+v, want one %q by %s", c.source, revoked, c.want, c.by)
			}
		}
	})
}
