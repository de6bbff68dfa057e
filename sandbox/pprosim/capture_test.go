package pprosim_test

import (
	"net/http"
	"testing"
	"time"
)

// autoCapture false: the charge is answered CAPTURE_PENDING (authorized,
// not captured) and captures itself ten sandbox seconds later, when it is
// next read, as of the moment it was due.
func TestPPROAutoCaptureFalse(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	e.echoReferences()
	id := e.activeAgreement()
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")

	ch := e.chargeWith(id, 1200, obj{"autoCapture": false, "merchantPaymentChargeReference": "md_1/period/2"})
	chargeID := str(t, ch, "id")
	wantFields(t, ch, map[string]string{"status": "CAPTURE_PENDING", "authorizations.0.status": "AUTHORIZED"})
	if n := len(list(t, ch, "captures")); n != 0 {
		t.Errorf("%d captures before the capture, want none", n)
	}
	ev := rcv.expect(t, "PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{
		"data.paymentChargeId":     chargeID,
		"data.paymentChargeStatus": "CAPTURE_PENDING",
		"data.authorizationId":     str(t, ch, "authorizations.0.id"),
		"data.amount.currency":     "USD",
	})

	e.Clock.Advance(9 * time.Second)
	if got := e.getCharge(chargeID); at(got, "status") != "CAPTURE_PENDING" {
		t.Fatalf("after 9 s: %v, want CAPTURE_PENDING", at(got, "status"))
	}
	rcv.none(t, 100*time.Millisecond)

	e.Clock.Advance(2 * time.Second)
	got := e.getCharge(chargeID)
	wantFields(t, got, map[string]string{"status": "CAPTURED", "authorizations.0.status": "AUTHORIZED", "captures.0.status": "CAPTURED"})
	if s := str(t, got, "captures.0.id"); !captureIDPattern.MatchString(s) {
		t.Errorf("capture id %q", s)
	}
	if number(t, got, "captures.0.amount") != 1200 {
		t.Errorf("captured %v, want 1200", at(got, "captures.0.amount"))
	}
	due := mustTime(t, str(t, ch, "createdAt")).Add(10 * time.Second)
	if c := mustTime(t, str(t, got, "captures.0.createdAt")); !c.Equal(due) {
		t.Errorf("captured at %v, want %v (ten seconds after the authorization)", c, due)
	}
	ev = rcv.expect(t, "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{
		"data.paymentChargeId":                chargeID,
		"data.paymentChargeStatus":            "CAPTURED",
		"data.captureId":                      str(t, got, "captures.0.id"),
		"data.merchantPaymentChargeReference": "md_1/period/2",
	})

	// Reading again changes nothing more.
	again := e.getCharge(chargeID)
	if len(list(t, again, "captures")) != 1 || at(again, "updatedAt") != at(got, "updatedAt") {
		t.Errorf("a second read changed the charge: %v", again)
	}
	rcv.none(t, 100*time.Millisecond)

	// true and absent both capture at once.
	for _, body := range []obj{{"autoCapture": true}, {}} {
		if c := e.chargeWith(id, 1200, body); at(c, "status") != "CAPTURED" || len(list(t, c, "captures")) != 1 {
			t.Errorf("autoCapture %v: %v with %v captures", body["autoCapture"], at(c, "status"), at(c, "captures"))
		}
	}
	// A magic amount still declines, capture or not.
	if c := e.chargeWith(id, 1201, obj{"autoCapture": false}); at(c, "status") != "FAILED" {
		t.Errorf("magic 1201 with autoCapture false: %v", at(c, "status"))
	}
	wantException(t, e.pproPost("/v1/payment-agreements/"+id+"/payment-charges",
		obj{"amount": obj{"value": 1200, "currency": "USD"}, "autoCapture": "no"}, nil), http.StatusBadRequest, "autoCapture", "boolean")
}

// The initial charge honours autoCapture too: approved, it waits for its
// capture like any other.
func TestPPROInitialChargeAutoCaptureFalse(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	req := agreementRequest(1200)
	req["initialPaymentCharge"].(obj)["autoCapture"] = false
	created := e.createAgreement(req)
	id, chargeID := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
	e.decide(id, "approve")

	c := e.getCharge(chargeID)
	wantFields(t, c, map[string]string{"status": "CAPTURE_PENDING", "authorizations.0.status": "AUTHORIZED"})
	if at(e.getAgreement(id), "status") != "ACTIVE" {
		t.Error("the agreement is not ACTIVE")
	}
	// Not refundable before the capture (a 400, as PPRO refuses an
	// operation in the wrong state), and then it is.
	wantException(t, e.refund(chargeID, 100, nil, nil), http.StatusBadRequest, chargeID, "CAPTURE_PENDING", "captured")
	e.Clock.Advance(time.Minute)
	r := e.refund(chargeID, 100, nil, nil)
	wantAPIStatus(t, r, http.StatusOK)
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "CAPTURED", "captures.0.status": "CAPTURED", "refunds.0.status": "PENDING"})
	e.settle()
	wantFields(t, e.getCharge(chargeID), map[string]string{"status": "CAPTURED", "refunds.0.status": "REFUNDED"})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return tm
}
