package pprosim_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"example.com/storefront/sandbox/pprosim"
	"example.com/storefront/sandbox/simkit"
)

// The magic amounts on agreement charges: each is answered in the state
// PPRO documents, with its webhook, and settles a settle delay later on
// the sandbox's clock, with the next.
func TestPPROMagicCharges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                  string
		amount                int64
		status, authz, event  string // the answer, its authorization, its webhook
		settled, settledAuthz string // after the settle delay
		settledEvent          string
		failureCode           string
	}{
		{"03 needs the shopper", 1203, "AUTHENTICATION_PENDING", "AUTHENTICATION_PENDING", "PAYMENT_CHARGE_AUTHENTICATION_PENDING",
			"FAILED", "FAILED", "PAYMENT_CHARGE_AUTHORIZATION_FAILED", "AUTHENTICATION_FAILED"},
		{"07 asynchronous", 1207, "AUTHORIZATION_ASYNC", "PROVIDER_CONFIRMATION_PENDING", "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING",
			"CAPTURED", "AUTHORIZED", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rcv := newPPROReceiver(t, 0)
			e := newPPROEnv(t, rcv.config)
			// Long enough that the real-time timers never fire first.
			e.configure(func(s *pprosim.Settings) { s.SettleAfter = time.Minute })
			id := e.activeAgreement()
			rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")

			ch := e.chargeWith(id, tc.amount, obj{"merchantPaymentChargeReference": "md_1/period/2"})
			chargeID := str(t, ch, "id")
			wantFields(t, ch, map[string]string{"status": tc.status, "authorizations.0.status": tc.authz})
			wantAbsent(t, ch, "failure", "authorizations.0.merchantPaymentChargeReference")
			if n := len(list(t, ch, "captures")); n != 0 {
				t.Errorf("%d captures while pending", n)
			}
			ev := rcv.expect(t, tc.event)[0]
			wantFields(t, ev, map[string]string{"data.paymentChargeId": chargeID, "data.paymentChargeStatus": tc.status,
				"data.authorizationId": str(t, ch, "authorizations.0.id")})

			// Not yet: a second short of the delay, nothing moves.
			e.Clock.Advance(e.Sandbox.PPROSim().Settings().SettleAfter - time.Second)
			wantFields(t, e.getCharge(chargeID), map[string]string{"status": tc.status})
			rcv.none(t, 100*time.Millisecond)

			e.Clock.Advance(time.Second)
			got := e.getCharge(chargeID)
			wantFields(t, got, map[string]string{"status": tc.settled, "authorizations.0.status": tc.settledAuthz})
			ev = rcv.expect(t, tc.settledEvent)[0]
			wantFields(t, ev, map[string]string{"data.paymentChargeId": chargeID, "data.paymentChargeStatus": tc.settled})
			if tc.failureCode != "" {
				wantFields(t, got, map[string]string{"failure.failureType": "PROVIDER_DECLINE", "failure.failureCode": tc.failureCode})
				wantFields(t, ev, map[string]string{"data.failure.failureCode": tc.failureCode})
			} else {
				wantFields(t, got, map[string]string{"captures.0.status": "CAPTURED"})
			}
			// Settled as of when it was due, not when it was read.
			due := mustTime(t, str(t, ch, "createdAt")).Add(time.Minute)
			if u := mustTime(t, str(t, got, "updatedAt")); !u.Equal(due) {
				t.Errorf("updatedAt %v, want %v", u, due)
			}
		})
	}
}

// 04: captured at once, then charged back a settle delay later with
// CHARGEBACK_SUCCEEDED, PPRO's only word on a chargeback; the merchant's
// defence is decided on the sandbox's side, which PPRO reports nowhere.
func TestPPROChargeback(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	e.configure(func(s *pprosim.Settings) { s.SettleAfter = time.Minute })
	id := e.activeAgreement()
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")
	ctx := context.Background()
	sim := e.Sandbox.PPROSim()

	ch := e.chargeAgreement(id, 1204)
	chargeID := str(t, ch, "id")
	wantFields(t, ch, map[string]string{"status": "CAPTURED"})
	rcv.expect(t, "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")
	if cbs, err := sim.Chargebacks(ctx); err != nil || len(cbs) != 0 {
		t.Fatalf("chargebacks before the delay: %v, %v", cbs, err)
	}

	e.settle()
	ev := rcv.expect(t, "CHARGEBACK_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{
		"subject":              chargeID,
		"data.type":            "CHARGEBACK_SUCCEEDED",
		"data.paymentChargeId": chargeID,
		"data.merchantId":      testPPROMerchant,
		"data.amount.currency": "USD",
	})
	if number(t, ev, "data.amount.value") != 1204 {
		t.Errorf("chargeback amount %v, want 1204", at(ev, "data.amount"))
	}
	// PaymentChargeResponse has no chargeback state: the charge reads as before.
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "CAPTURED"})

	cbs, err := sim.Chargebacks(ctx)
	if err != nil || len(cbs) != 1 {
		t.Fatalf("chargebacks: %v, %v", cbs, err)
	}
	cb := cbs[0]
	if cb.ChargeID != chargeID || cb.Amount != 1204 || cb.Currency != "USD" || cb.Outcome != "" {
		t.Errorf("chargeback %+v", cb)
	}
	if err := sim.ResolveChargeback(ctx, cb.ID, true); err != nil {
		t.Fatal(err)
	}
	if cbs, _ := sim.Chargebacks(ctx); cbs[0].Outcome != pprosim.ChargebackWon {
		t.Errorf("outcome %q, want WON", cbs[0].Outcome)
	}
	if err := sim.ResolveChargeback(ctx, cb.ID, false); !errors.Is(err, pprosim.ErrChargebackResolved) {
		t.Errorf("resolving twice: %v, want ErrChargebackResolved", err)
	}
	if err := sim.ResolveChargeback(ctx, "chargeback_nope", false); !errors.Is(err, simkit.ErrNotFound) {
		t.Errorf("unknown chargeback: %v, want ErrNotFound", err)
	}
	rcv.none(t, 200*time.Millisecond) // PPRO documents no webhook for an outcome
}

// Every refund is PENDING first; 05 then fails, 06 succeeds and then
// fails, giving its amount back to the charge; a pending refund is not
// left to refund.
func TestPPROMagicRefunds(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	id := e.activeAgreement()
	chargeID := str(t, e.chargeAgreement(id, 1200), "id")
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")

	fails := e.refund(chargeID, 105, obj{"merchantRefundReference": "r-05"}, nil)
	wantAPIStatus(t, fails, http.StatusOK)
	wantFields(t, fails.Body, map[string]string{"status": "PENDING"})
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING")
	// 105 is pending: 1095 is left, not 1200.
	wantException(t, e.refund(chargeID, 1096, nil, nil), http.StatusBadRequest, "1095", "pending")

	e.settle()
	ev := rcv.expect(t, "PAYMENT_CHARGE_REFUND_FAILED")[0]
	wantFields(t, ev, map[string]string{"data.refundId": str(t, fails.Body, "id"), "data.merchantRefundReference": "r-05",
		"data.paymentChargeStatus": "CAPTURED", "data.failure.failureType": "PROVIDER_DECLINE"})
	c := e.getCharge(chargeID)
	wantFields(t, c, map[string]string{"status": "CAPTURED", "refunds.0.status": "FAILED", "refunds.0.failure.failureCode": "GENERIC_DECLINE"})

	// The failed 105 is the charge's again: all 1200 is left.
	rest := e.refund(chargeID, 1200, nil, nil)
	wantAPIStatus(t, rest, http.StatusOK)
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING")
	wantException(t, e.refund(chargeID, 1, nil, nil), http.StatusBadRequest, "0 of the 1200")
	e.settle()
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_SUCCEEDED")
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "REFUNDED", "refunds.1.status": "REFUNDED"})

	// 06, the whole charge: PENDING, REFUNDED (the charge too), then
	// FAILED (the charge CAPTURED again, and refundable again).
	c06 := str(t, e.chargeAgreement(id, 1206), "id")
	rcv.expect(t, "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")
	r06 := e.refund(c06, 1206, nil, nil)
	wantFields(t, r06.Body, map[string]string{"status": "PENDING"})
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING")
	e.settle()
	ev = rcv.expect(t, "PAYMENT_CHARGE_REFUND_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{"data.refundId": str(t, r06.Body, "id"), "data.paymentChargeStatus": "REFUNDED"})
	wantFields(t, e.getCharge(c06), map[string]string{"status": "REFUNDED", "refunds.0.status": "REFUNDED"})
	e.settle()
	ev = rcv.expect(t, "PAYMENT_CHARGE_REFUND_FAILED")[0]
	wantFields(t, ev, map[string]string{"data.refundId": str(t, r06.Body, "id"), "data.paymentChargeStatus": "CAPTURED"})
	got := e.getCharge(c06)
	wantFields(t, got, map[string]string{"status": "CAPTURED", "refunds.0.status": "FAILED"})
	if got := statuses(t, got, "refunds", "status"); !slices.Equal(got, []string{"FAILED"}) {
		t.Errorf("refunds %v", got)
	}
	wantAPIStatus(t, e.refund(c06, 1200, nil, nil), http.StatusOK)
}

// With a frozen clock, the timers settle in real time and the webhooks
// come without anyone asking.
func TestPPROSettlesInRealTime(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	e.configure(func(s *pprosim.Settings) { s.SettleAfter = 100 * time.Millisecond })
	id := e.activeAgreement()
	chargeID := str(t, e.chargeAgreement(id, 1207), "id")
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")
	r := e.refund(chargeID, 206, nil, nil)
	wantAPIStatus(t, r, http.StatusOK)
	// Deliveries run concurrently, so their order is not asserted.
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING", "PAYMENT_CHARGE_REFUND_SUCCEEDED", "PAYMENT_CHARGE_REFUND_FAILED")
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "CAPTURED", "refunds.0.status": "FAILED"})
}

// What was due before a restart is done after it: on the next read once
// the clock has passed it.
func TestPPROCatchesUpAfterReopen(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	id := e.activeAgreement()
	chargeID := str(t, e.chargeAgreement(id, 1207), "id")
	e.Reopen()
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "AUTHORIZATION_ASYNC"})
	e.Clock.Advance(pprosim.DefaultSettleAfter)
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "CAPTURED"})
}

// Without any read, a restarted sandbox does what the previous run left
// due a settle delay later, in real time, and sends its webhooks.
func TestPPROCatchesUpAfterReopenInRealTime(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	id := e.activeAgreement()
	chargeID := str(t, e.chargeAgreement(id, 1207), "id")
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING")
	e.Reopen() // cancels the first run's timer
	ev := rcv.expect(t, "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{"data.paymentChargeId": chargeID, "data.paymentChargeStatus": "CAPTURED"})
}
