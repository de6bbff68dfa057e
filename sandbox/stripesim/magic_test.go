package stripesim_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/sandbox/stripesim"
)

// The magic amounts' hard cases (03, 04, 05, 06, 07), each as Stripe
// documents it: status, fields, events and timing.

// testSettle is the settle delay of these tests: short enough for the
// wall clock, while the sandbox's (stopped) clock stays put.
const testSettle = 100 * time.Millisecond

func (e *env) settle(d time.Duration) {
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{SettleAfter: d})
}

// savedWithWebhooks is an env whose events rcv receives, settling after
// settle, with an Amazon Pay method saved (its setup's two events
// received).
func savedWithWebhooks(t *testing.T, settle time.Duration) (*env, *receiver, saved) {
	t.Helper()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	e.settle(settle)
	s := e.saveAmazonPay()
	rcv.collect(t, 2)
	return e, rcv, s
}

func TestChargeRequiresAction(t *testing.T) {
	t.Parallel()
	e, rcv, s := savedWithWebhooks(t, testSettle)

	pi := e.charge(s, 1203)
	if pi.Status != stripe.PaymentIntentStatusRequiresAction {
		t.Fatalf("status %s, want requires_action", pi.Status)
	}
	if pi.NextAction == nil || pi.NextAction.Type != "redirect_to_url" || pi.NextAction.RedirectToURL == nil ||
		pi.NextAction.RedirectToURL.URL == "" {
		t.Errorf("next_action %+v, want redirect_to_url with a url", pi.NextAction)
	}
	if pi.LatestCharge != nil || pi.AmountReceived != 0 {
		t.Errorf("latest_charge %v, amount_received %d: nothing is charged before the shopper acts", pi.LatestCharge, pi.AmountReceived)
	}
	events := rcv.collect(t, 2)
	for _, typ := range []stripe.EventType{"payment_intent.created", "payment_intent.requires_action"} {
		if _, ok := events[typ]; !ok {
			t.Errorf("events %v lack %s", keys(events), typ)
		}
	}
	// Off session the shopper is not there: nothing moves it on, neither
	// time nor the clock.
	rcv.none(t, 3*testSettle)
	e.Clock.Advance(48 * time.Hour)
	if got := e.getPaymentIntent(pi.ID); got.Status != stripe.PaymentIntentStatusRequiresAction {
		t.Errorf("a day later: status %s, want requires_action", got.Status)
	}
}

func TestChargeRequiresActionRefusedWithErrorOnRequiresAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	p := chargeParams(s, 1203)
	p.ErrorOnRequiresAction = stripe.Bool(true)
	_, err := e.api.PaymentIntents.New(p)
	se := wantStripeError(t, err, http.StatusPaymentRequired, stripe.ErrorTypeCard, stripe.ErrorCodeAuthenticationRequired, "")
	if se.PaymentIntent == nil {
		t.Fatal("the error carries no payment_intent")
	}
	got := e.getPaymentIntent(se.PaymentIntent.ID)
	if got.Status != stripe.PaymentIntentStatusRequiresPaymentMethod || got.LastPaymentError == nil ||
		got.LastPaymentError.Code != stripe.ErrorCodeAuthenticationRequired {
		t.Errorf("payment intent %s, last_payment_error %+v; want requires_payment_method with authentication_required",
			got.Status, got.LastPaymentError)
	}
	if got.LatestCharge == nil || got.LatestCharge.Status != stripe.ChargeStatusFailed ||
		got.LatestCharge.FailureCode != string(stripe.ErrorCodeAuthenticationRequired) {
		t.Errorf("latest charge %+v, want failed with authentication_required", got.LatestCharge)
	}
	// Any other amount is unaffected by the parameter.
	p = chargeParams(s, 1200)
	p.ErrorOnRequiresAction = stripe.Bool(true)
	if pi, err := e.api.PaymentIntents.New(p); err != nil || pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Errorf("1200 with error_on_requires_action: %v, %v", pi, err)
	}
}

func TestChargeProcessingSucceedsLater(t *testing.T) {
	t.Parallel()
	e, rcv, s := savedWithWebhooks(t, testSettle)

	pi := e.charge(s, 1207)
	if pi.Status != stripe.PaymentIntentStatusProcessing || pi.AmountReceived != 0 {
		t.Fatalf("status %s, amount_received %d; want processing, 0", pi.Status, pi.AmountReceived)
	}
	got := e.getPaymentIntent(pi.ID)
	if ch := got.LatestCharge; ch == nil || ch.Status != stripe.ChargeStatusPending || ch.Paid {
		t.Fatalf("latest charge %+v, want pending and not paid", ch)
	}
	events := rcv.collect(t, 3)
	for _, typ := range []stripe.EventType{"payment_intent.created", "charge.pending", "payment_intent.processing"} {
		if _, ok := events[typ]; !ok {
			t.Errorf("events %v lack %s", keys(events), typ)
		}
	}
	// On the wall clock (the sandbox's has not moved), with its events.
	events = rcv.collect(t, 2)
	ev, ok := events["payment_intent.succeeded"]
	if !ok {
		t.Fatalf("events %v lack payment_intent.succeeded", keys(events))
	}
	if done, _ := decode[stripe.PaymentIntent](t, ev); done.ID != pi.ID || done.AmountReceived != 1207 {
		t.Errorf("payment_intent.succeeded carries %s received %d", done.ID, done.AmountReceived)
	}
	if ev, ok := events["charge.succeeded"]; !ok {
		t.Errorf("events %v lack charge.succeeded", keys(events))
	} else if ch, _ := decode[stripe.Charge](t, ev); ch.Status != stripe.ChargeStatusSucceeded || !ch.Paid {
		t.Errorf("charge.succeeded carries %s paid=%v", ch.Status, ch.Paid)
	}
	if got := e.getPaymentIntent(pi.ID); got.Status != stripe.PaymentIntentStatusSucceeded {
		t.Errorf("status %s, want succeeded", got.Status)
	}
}

// A moved clock settles at once whatever reads next, before any timer.
func TestChargeProcessingCatchesUpWithTheClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.settle(time.Hour) // no timer fires during the test
	s := e.saveAmazonPay()
	pi := e.charge(s, 1207)
	if got := e.getPaymentIntent(pi.ID); got.Status != stripe.PaymentIntentStatusProcessing {
		t.Fatalf("before the clock moves: %s", got.Status)
	}
	e.Clock.Advance(time.Hour)
	if got := e.getPaymentIntent(pi.ID); got.Status != stripe.PaymentIntentStatusSucceeded ||
		got.LatestCharge.Status != stripe.ChargeStatusSucceeded {
		t.Errorf("after the clock moved: %s, charge %s; want succeeded", got.Status, got.LatestCharge.Status)
	}
	// A restart has no timers left: the clock alone settles.
	pi2 := e.charge(s, 2207)
	e.Reopen()
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{SettleAfter: time.Hour})
	e.Clock.Advance(2 * time.Hour)
	if got := e.getPaymentIntent(pi2.ID); got.Status != stripe.PaymentIntentStatusSucceeded {
		t.Errorf("after a restart and a clock move: %s, want succeeded", got.Status)
	}
}

func TestChargeDisputedLater(t *testing.T) {
	t.Parallel()
	e, rcv, s := savedWithWebhooks(t, testSettle)

	pi := e.charge(s, 1204)
	if pi.Status != stripe.PaymentIntentStatusSucceeded {
		t.Fatalf("status %s, want succeeded", pi.Status)
	}
	rcv.collect(t, 3)
	ev := rcv.next(t)
	if ev.Type != "charge.dispute.created" {
		t.Fatalf("event %s, want charge.dispute.created", ev.Type)
	}
	dp, raw := decode[stripe.Dispute](t, ev)
	if dp.Status != stripe.DisputeStatusNeedsResponse || dp.Amount != 1204 || dp.Currency != "usd" ||
		dp.Charge == nil || dp.Charge.ID != pi.LatestCharge.ID || dp.PaymentIntent == nil || dp.PaymentIntent.ID != pi.ID ||
		dp.Reason == "" || dp.EvidenceDetails == nil || dp.EvidenceDetails.DueBy <= e.Clock.Now().Unix() || dp.IsChargeRefundable {
		t.Errorf("dispute %+v", dp)
	}
	if raw["object"] != "dispute" || len(dp.ID) < 4 || dp.ID[:3] != "dp_" {
		t.Errorf("dispute id %q object %v", dp.ID, raw["object"])
	}

	got, err := e.api.Disputes.Get(dp.ID, nil)
	if err != nil || got.Status != stripe.DisputeStatusNeedsResponse {
		t.Fatalf("GET dispute: %+v, %v", got, err)
	}
	for _, p := range []*stripe.DisputeListParams{
		{Charge: stripe.String(pi.LatestCharge.ID)},
		{PaymentIntent: stripe.String(pi.ID)},
	} {
		it := e.api.Disputes.List(p)
		var ids []string
		for it.Next() {
			ids = append(ids, it.Dispute().ID)
		}
		if it.Err() != nil || len(ids) != 1 || ids[0] != dp.ID {
			t.Errorf("list %+v: %v, %v; want [%s]", p, ids, it.Err(), dp.ID)
		}
	}
	if ch, err := e.api.Charges.Get(pi.LatestCharge.ID, nil); err != nil || !ch.Disputed {
		t.Errorf("charge disputed=%v, %v", ch != nil && ch.Disputed, err)
	}
	_, err = e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)})
	wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, stripe.ErrorCodeChargeDisputed, "")

	ctx := context.Background()
	if err := e.Sandbox.StripeSim().CloseDispute(ctx, dp.ID, true); err != nil {
		t.Fatalf("CloseDispute: %v", err)
	}
	ev = rcv.next(t)
	closed, _ := decode[stripe.Dispute](t, ev)
	if ev.Type != "charge.dispute.closed" || closed.ID != dp.ID || closed.Status != stripe.DisputeStatusWon ||
		ev.Data.PreviousAttributes["status"] != "needs_response" {
		t.Errorf("event %s carries %s %s, previous %v", ev.Type, closed.ID, closed.Status, ev.Data.PreviousAttributes)
	}
	if err := e.Sandbox.StripeSim().CloseDispute(ctx, dp.ID, false); !errors.Is(err, stripesim.ErrDisputeClosed) {
		t.Errorf("closing it again: %v, want ErrDisputeClosed", err)
	}
	if got, _ := e.api.Disputes.Get(dp.ID, nil); got.Status != stripe.DisputeStatusWon {
		t.Errorf("after a second close: %s, want won", got.Status)
	}
}

func TestDisputeLostAndCatchUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.settle(time.Hour)
	s := e.saveCard()
	p := chargeParams(s, 2004)
	p.PaymentMethodTypes = stripe.StringSlice([]string{"card"})
	pi, err := e.api.PaymentIntents.New(p)
	if err != nil {
		t.Fatal(err)
	}
	list := func() []*stripe.Dispute {
		it := e.api.Disputes.List(&stripe.DisputeListParams{PaymentIntent: stripe.String(pi.ID)})
		var out []*stripe.Dispute
		for it.Next() {
			out = append(out, it.Dispute())
		}
		if it.Err() != nil {
			t.Fatal(it.Err())
		}
		return out
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("disputed before the delay: %v", got)
	}
	e.Clock.Advance(time.Hour)
	got := list()
	if len(got) != 1 {
		t.Fatalf("after the clock moved: %d disputes, want 1", len(got))
	}
	if pmd := got[0].PaymentMethodDetails; pmd == nil || pmd.Type != "card" || pmd.Card == nil || pmd.Card.Brand == "" {
		t.Errorf("payment_method_details %+v, want the card's", pmd)
	}
	if err := e.Sandbox.StripeSim().CloseDispute(context.Background(), got[0].ID, false); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.api.Disputes.Get(got[0].ID, nil); d.Status != stripe.DisputeStatusLost {
		t.Errorf("status %s, want lost", d.Status)
	}
	if _, err := e.api.Disputes.Get("dp_nope", nil); err == nil {
		t.Error("an unknown dispute was found")
	} else {
		wantStripeError(t, err, http.StatusNotFound, stripe.ErrorTypeInvalidRequest, stripe.ErrorCodeResourceMissing, "dispute")
	}
}

// A refund ending in 05 is created pending and fails; its amount goes
// back to the charge.
func TestRefundFails(t *testing.T) {
	t.Parallel()
	e, rcv, s := savedWithWebhooks(t, testSettle)
	pi := e.charge(s, 1000)
	rcv.collect(t, 3)

	re, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(405)})
	if err != nil {
		t.Fatal(err)
	}
	if re.Status != stripe.RefundStatusPending {
		t.Fatalf("status %s, want pending", re.Status)
	}
	if ch, _ := e.api.Charges.Get(pi.LatestCharge.ID, nil); ch.AmountRefunded != 405 {
		t.Errorf("amount_refunded %d while pending, want 405 (Stripe counts pending refunds)", ch.AmountRefunded)
	}
	rcv.collect(t, 2) // charge.refunded, refund.created
	events := rcv.collect(t, 2)
	for _, typ := range []stripe.EventType{"refund.updated", "charge.refund.updated"} {
		ev, ok := events[typ]
		if !ok {
			t.Errorf("events %v lack %s", keys(events), typ)
			continue
		}
		got, _ := decode[stripe.Refund](t, ev)
		if got.ID != re.ID || got.Status != stripe.RefundStatusFailed || got.FailureReason == "" ||
			ev.Data.PreviousAttributes["status"] != "pending" {
			t.Errorf("%s carries %s %s %q, previous %v", typ, got.ID, got.Status, got.FailureReason, ev.Data.PreviousAttributes)
		}
	}
	if ch, _ := e.api.Charges.Get(pi.LatestCharge.ID, nil); ch.AmountRefunded != 0 || ch.Refunded {
		t.Errorf("after the failure amount_refunded %d refunded=%v, want 0 false", ch.AmountRefunded, ch.Refunded)
	}
	// The whole amount can be refunded again.
	if again, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)}); err != nil || again.Amount != 1000 {
		t.Errorf("refund the rest: %v, %v", again, err)
	}
}

// A refund ending in 06 succeeds, then fails: Stripe documents
// succeeded → failed.
func TestRefundSucceedsThenFails(t *testing.T) {
	t.Parallel()
	e, rcv, s := savedWithWebhooks(t, testSettle)
	pi := e.charge(s, 1000)
	rcv.collect(t, 3)

	re, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(306)})
	if err != nil {
		t.Fatal(err)
	}
	rcv.collect(t, 2)
	for _, want := range []struct{ status, previous stripe.RefundStatus }{
		{stripe.RefundStatusSucceeded, stripe.RefundStatusPending},
		{stripe.RefundStatusFailed, stripe.RefundStatusSucceeded},
	} {
		events := rcv.collect(t, 2)
		ev, ok := events["refund.updated"]
		if !ok {
			t.Fatalf("events %v lack refund.updated", keys(events))
		}
		got, _ := decode[stripe.Refund](t, ev)
		if got.ID != re.ID || got.Status != want.status || ev.Data.PreviousAttributes["status"] != string(want.previous) {
			t.Errorf("refund.updated carries %s %s (was %v), want %s (was %s)", got.ID, got.Status,
				ev.Data.PreviousAttributes["status"], want.status, want.previous)
		}
	}
	if ch, _ := e.api.Charges.Get(pi.LatestCharge.ID, nil); ch.AmountRefunded != 0 {
		t.Errorf("amount_refunded %d after the failure, want 0", ch.AmountRefunded)
	}
}

// Both steps of an 06 refund happen at once when the clock has moved past
// them.
func TestRefundSucceedsThenFailsByTheClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.settle(time.Hour)
	s := e.saveAmazonPay()
	pi := e.charge(s, 1000)
	re, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(506)})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Hour)
	if got, _ := e.api.Refunds.Get(re.ID, nil); got.Status != stripe.RefundStatusSucceeded {
		t.Errorf("after one delay: %s, want succeeded", got.Status)
	}
	e.Clock.Advance(time.Hour)
	if got, _ := e.api.Refunds.Get(re.ID, nil); got.Status != stripe.RefundStatusFailed {
		t.Errorf("after two delays: %s, want failed", got.Status)
	}
	re2, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(106)})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(5 * time.Hour)
	if got, _ := e.api.Refunds.Get(re2.ID, nil); got.Status != stripe.RefundStatusFailed {
		t.Errorf("long after: %s, want failed", got.Status)
	}
}

func keys[V any](m map[stripe.EventType]V) []stripe.EventType {
	out := make([]stripe.EventType, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A restart has no timers: the sandbox sets them again for what is due,
// so the webhooks come without anyone asking.
func TestDueOutcomesResumeAfterRestart(t *testing.T) {
	t.Parallel()
	e, rcv, s := savedWithWebhooks(t, time.Hour)
	pi := e.charge(s, 1000)
	rcv.collect(t, 3)
	re, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(105)})
	if err != nil {
		t.Fatal(err)
	}
	rcv.collect(t, 2)

	e.Clock.Advance(time.Hour)
	e.Reopen() // no request follows
	events := rcv.collect(t, 2)
	ev, ok := events["refund.updated"]
	if !ok {
		t.Fatalf("events %v lack refund.updated", keys(events))
	}
	if got, _ := decode[stripe.Refund](t, ev); got.ID != re.ID || got.Status != stripe.RefundStatusFailed {
		t.Errorf("refund.updated carries %s %s, want %s failed", got.ID, got.Status, re.ID)
	}
}
