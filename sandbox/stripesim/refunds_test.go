package stripesim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/stripesim"
)

func TestRefundPartialThenFullThenRefused(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config)
	// The refunds settle by the sandbox's clock below, never by the real
	// time a slow (loaded, race-detected) run takes meanwhile.
	e.Sandbox.StripeSim().SetSettings(stripesim.Settings{SettleAfter: time.Hour})
	s := e.saveAmazonPay()
	rcv.collect(t, 2)
	pi := e.charge(s, 1000)
	rcv.collect(t, 3)

	rp := &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(300), Reason: stripe.String("requested_by_customer")}
	rp.AddMetadata("refund_id", "r1")
	partial, err := e.api.Refunds.New(rp)
	if err != nil {
		t.Fatalf("partial refund: %v", err)
	}
	if !strings.HasPrefix(partial.ID, "re_") || partial.Amount != 300 || partial.Status != stripe.RefundStatusPending ||
		partial.Currency != "usd" || partial.Reason != stripe.RefundReasonRequestedByCustomer || partial.Metadata["refund_id"] != "r1" ||
		partial.Charge == nil || partial.Charge.ID != pi.LatestCharge.ID || partial.PaymentIntent == nil || partial.PaymentIntent.ID != pi.ID {
		t.Errorf("partial refund = %+v", partial)
	}
	ch := e.getPaymentIntent(pi.ID).LatestCharge
	if ch.AmountRefunded != 300 || ch.Refunded {
		t.Errorf("after a partial refund: amount_refunded %d refunded %v, want 300 false", ch.AmountRefunded, ch.Refunded)
	}
	events := rcv.collect(t, 2)
	refunded, ok := events["charge.refunded"]
	if !ok {
		t.Fatalf("events %v lack charge.refunded", events)
	}
	if got, _ := decode[stripe.Charge](t, refunded); got.AmountRefunded != 300 {
		t.Errorf("charge.refunded carries amount_refunded %d, want 300", got.AmountRefunded)
	}
	if got := refunded.Data.PreviousAttributes["amount_refunded"]; got != float64(0) {
		t.Errorf("charge.refunded previous amount_refunded = %v, want 0", got)
	}
	if created, ok := events["refund.created"]; !ok {
		t.Errorf("events %v lack refund.created", events)
	} else if re, _ := decode[stripe.Refund](t, created); re.ID != partial.ID || re.Status != stripe.RefundStatusPending {
		t.Errorf("refund.created carries %s %s", re.ID, re.Status)
	}

	// Without an amount, what is left: by charge this time.
	rest, err := e.api.Refunds.New(&stripe.RefundParams{Charge: stripe.String(ch.ID)})
	if err != nil {
		t.Fatalf("refund the rest: %v", err)
	}
	if rest.Amount != 700 {
		t.Errorf("refund of the rest = %d, want 700", rest.Amount)
	}
	if ch, err := e.api.Charges.Get(ch.ID, nil); err != nil || ch.AmountRefunded != 1000 || !ch.Refunded {
		t.Errorf("after the full refund: %+v, %v", ch, err)
	}
	rcv.collect(t, 2)

	_, err = e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)})
	se := wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, stripe.ErrorCodeChargeAlreadyRefunded, "")
	if want := "Charge " + ch.ID + " has already been refunded."; se.Msg != want {
		t.Errorf("message %q, want %q", se.Msg, want)
	}

	// Pending for the settle delay (an hour here) on the sandbox's clock,
	// then succeeded, with refund.updated (and charge.refund.updated), sent
	// once an API request sees the time.
	e.Clock.Advance(time.Hour + time.Second)
	got, err := e.api.Refunds.Get(partial.ID, nil)
	if err != nil || got.Status != stripe.RefundStatusSucceeded {
		t.Fatalf("after the settle delay: %+v, %v; want succeeded", got, err)
	}
	updates := map[string]int{}
	for range 4 {
		ev := rcv.next(t)
		re, _ := decode[stripe.Refund](t, ev)
		if re.Status != stripe.RefundStatusSucceeded || ev.Data.PreviousAttributes["status"] != "pending" || ev.Request.ID != "" {
			t.Errorf("%s: refund %s status %s previous %v request %+v", ev.Type, re.ID, re.Status, ev.Data.PreviousAttributes, ev.Request)
		}
		updates[string(ev.Type)+" "+re.ID]++
	}
	for _, id := range []string{partial.ID, rest.ID} {
		for _, typ := range []string{"refund.updated", "charge.refund.updated"} {
			if updates[typ+" "+id] != 1 {
				t.Errorf("%d %s events for %s, want 1", updates[typ+" "+id], typ, id)
			}
		}
	}
	rcv.none(t, 200*time.Millisecond)
}

func TestRefundRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.saveAmazonPay()
	pi := e.charge(s, 1000)
	if _, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(600)}); err != nil {
		t.Fatal(err)
	}
	fresh := e.charge(s, 1000)
	_, err := e.api.PaymentIntents.New(chargeParams(s, 1201))
	declined := stripeErr(t, err).PaymentIntent

	for _, tc := range []struct {
		name       string
		params     *stripe.RefundParams
		code       stripe.ErrorCode
		param      string
		msgContain string
	}{
		{"more than is left", &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(500)},
			"", "amount", "Refund amount ($5.00) is greater than unrefunded amount on charge ($4.00)"},
		{"more than the charge", &stripe.RefundParams{PaymentIntent: stripe.String(fresh.ID), Amount: stripe.Int64(1500)},
			"", "amount", "Refund amount ($15.00) is greater than charge amount ($10.00)"},
		{"a PaymentIntent that did not succeed", &stripe.RefundParams{PaymentIntent: stripe.String(declined.ID)},
			"", "payment_intent", "does not have a successful charge to refund"},
		{"a failed charge", &stripe.RefundParams{Charge: stripe.String(declined.LatestCharge.ID)}, "", "charge", "did not succeed"},
		{"both", &stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Charge: stripe.String(pi.LatestCharge.ID)},
			"", "payment_intent", "only specify one"},
		{"neither", &stripe.RefundParams{Amount: stripe.Int64(100)}, "parameter_missing", "", "charge or payment_intent"},
		{"unknown payment intent", &stripe.RefundParams{PaymentIntent: stripe.String("pi_nope")},
			"resource_missing", "payment_intent", "No such payment_intent: 'pi_nope'"},
		{"zero", &stripe.RefundParams{PaymentIntent: stripe.String(fresh.ID), Amount: stripe.Int64(0)}, "", "amount", "positive integer"},
		{"unknown reason", &stripe.RefundParams{PaymentIntent: stripe.String(fresh.ID), Reason: stripe.String("changed_mind")},
			"", "reason", "Invalid reason"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.api.Refunds.New(tc.params)
			se := wantStripeError(t, err, http.StatusBadRequest, stripe.ErrorTypeInvalidRequest, tc.code, tc.param)
			if !strings.Contains(se.Msg, tc.msgContain) {
				t.Errorf("message %q lacks %q", se.Msg, tc.msgContain)
			}
		})
	}
	if ch, _ := e.api.Charges.Get(pi.LatestCharge.ID, nil); ch.AmountRefunded != 600 {
		t.Errorf("refused refunds changed amount_refunded to %d", ch.AmountRefunded)
	}
}

// Nobody needs to ask: the sandbox settles a refund by itself once it is
// due (here on the wall clock).
func TestRefundSettlesByItself(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, 0)
	e := newEnv(t, rcv.config, func(c *sandbox.Config) { c.Now = nil })
	s := e.saveAmazonPay()
	rcv.collect(t, 2)
	pi := e.charge(s, 1000)
	rcv.collect(t, 3)
	re, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)})
	if err != nil {
		t.Fatal(err)
	}
	rcv.collect(t, 2)
	events := rcv.collect(t, 2) // within the receiver's 10 s
	ev, ok := events["refund.updated"]
	if !ok {
		t.Fatalf("events %v lack refund.updated", events)
	}
	if got, _ := decode[stripe.Refund](t, ev); got.ID != re.ID || got.Status != stripe.RefundStatusSucceeded {
		t.Errorf("refund.updated carries %s %s", got.ID, got.Status)
	}
}
