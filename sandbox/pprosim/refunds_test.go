package pprosim_test

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

// Amazon Pay through PPRO refunds "Full, Partial, Multiple": a partial
// refund leaves the charge CAPTURED, the one that gives back the rest makes
// it REFUNDED, and a third is refused. Each is PENDING until it settles.
func TestPPRORefunds(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	e.echoReferences()
	id := e.activeAgreement()
	chargeID := str(t, e.chargeWith(id, 1200, obj{"merchantPaymentChargeReference": "md_1/period/2"}), "id")
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")

	first := e.refund(chargeID, 500, obj{
		"merchantRefundReference": "md_1/refund/1",
		"refundReason":            "CUSTOMER_REQUEST",
		"refundDescriptor":        "Coffee Club: March",
		"labels":                  obj{"ticket": "T-12"},
	}, nil)
	wantAPIStatus(t, first, http.StatusOK)
	refundID := str(t, first.Body, "id")
	if !refundIDPattern.MatchString(refundID) {
		t.Errorf("refund id %q does not match %v", refundID, refundIDPattern)
	}
	wantFields(t, first.Body, map[string]string{
		"status":                  "PENDING",
		"merchantRefundReference": "md_1/refund/1",
		"refundReason":            "CUSTOMER_REQUEST",
		"refundDescriptor":        "Coffee Club: March",
		"labels.ticket":           "T-12",
	})
	if number(t, first.Body, "amount") != 500 {
		t.Errorf("amount %v, want 500", at(first.Body, "amount"))
	}
	for _, f := range []string{"createdAt", "updatedAt"} {
		if ts := str(t, first.Body, f); !pproTimePattern.MatchString(ts) {
			t.Errorf("%s = %q", f, ts)
		}
	}
	wantAbsent(t, first.Body, "failure")
	wantNoNulls(t, first.Body, "refund")
	ev := rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING")[0]
	wantFields(t, ev, map[string]string{"data.refundId": refundID, "data.paymentChargeStatus": "CAPTURED"})
	e.settle()
	ev = rcv.expect(t, "PAYMENT_CHARGE_REFUND_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{
		"subject":                             chargeID,
		"data.paymentChargeId":                chargeID,
		"data.paymentChargeStatus":            "CAPTURED",
		"data.refundId":                       refundID,
		"data.merchantRefundReference":        "md_1/refund/1",
		"data.merchantPaymentChargeReference": "md_1/period/2",
		"data.amount.currency":                "USD",
	})
	if number(t, ev, "data.amount.value") != 500 {
		t.Errorf("event amount %v, want the refund's 500", at(ev, "data.amount"))
	}

	c := e.getCharge(chargeID)
	wantFields(t, c, map[string]string{"status": "CAPTURED", "refunds.0.id": refundID, "refunds.0.status": "REFUNDED"})

	// The rest, without any optional field.
	second := e.refund(chargeID, 700, nil, nil)
	wantAPIStatus(t, second, http.StatusOK)
	wantAbsent(t, second.Body, "merchantRefundReference", "refundReason", "refundDescriptor", "labels", "failure")
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING")
	e.settle()
	ev = rcv.expect(t, "PAYMENT_CHARGE_REFUND_SUCCEEDED")[0]
	wantFields(t, ev, map[string]string{"data.paymentChargeStatus": "REFUNDED", "data.refundId": str(t, second.Body, "id")})
	wantAbsent(t, ev, "data.merchantRefundReference")

	c = e.getCharge(chargeID)
	wantFields(t, c, map[string]string{"status": "REFUNDED", "captures.0.status": "CAPTURED"})
	if got := statuses(t, c, "refunds", "id"); !slices.Equal(got, []string{refundID, str(t, second.Body, "id")}) {
		t.Errorf("refunds %v", got)
	}

	// Nothing is left: a third is refused, and changes nothing.
	wantException(t, e.refund(chargeID, 1, nil, nil), http.StatusBadRequest, chargeID, "fully refunded")
	if n := len(list(t, e.getCharge(chargeID), "refunds")); n != 2 {
		t.Errorf("%d refunds after a refused one, want 2", n)
	}
	rcv.none(t, 100*time.Millisecond)

	// GET …/refunds and …/refunds/{refundId}.
	all := e.pproGet("/v1/payment-charges/" + chargeID + "/refunds")
	wantAPIStatus(t, all, http.StatusOK)
	if got := statuses(t, all.Body, "data", "id"); !slices.Equal(got, []string{refundID, str(t, second.Body, "id")}) {
		t.Errorf("GET refunds: %v", got)
	}
	one := e.pproGet("/v1/payment-charges/" + chargeID + "/refunds/" + refundID)
	wantAPIStatus(t, one, http.StatusOK)
	wantFields(t, one.Body, map[string]string{"id": refundID, "status": "REFUNDED", "merchantRefundReference": "md_1/refund/1",
		"createdAt": str(t, first.Body, "createdAt")})
	wantException(t, e.pproGet("/v1/payment-charges/"+chargeID+"/refunds/refund_nope"), http.StatusNotFound, "refund_nope")
	wantException(t, e.pproGet("/v1/payment-charges/charge_nope/refunds"), http.StatusNotFound, "charge_nope")
}

func TestPPRORefundRefusals(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	id := e.activeAgreement()
	captured := str(t, e.chargeAgreement(id, 1200), "id")
	failed := str(t, e.chargeAgreement(id, 1202), "id")
	pending := str(t, e.createAgreement(agreementRequest(1200)), "initialPaymentChargeId")

	for _, tc := range []struct {
		name, charge string
		body         any
		wantMsg      []string
	}{
		{"failed charge", failed, obj{"amount": 100}, []string{failed, "FAILED", "only a captured charge"}},
		{"pending charge", pending, obj{"amount": 100}, []string{pending, "AUTHENTICATION_PENDING"}},
		{"unknown charge", "charge_nope", obj{"amount": 100}, []string{"charge_nope", "not found"}},
		{"above the charge", captured, obj{"amount": 1201}, []string{"1201", "1200"}},
		{"no amount", captured, obj{}, []string{"amount is required"}},
		{"zero", captured, obj{"amount": 0}, []string{"amount 0", "at least 1"}},
		{"negative", captured, obj{"amount": -5}, []string{"amount -5"}},
		{"Money instead of an integer", captured, obj{"amount": obj{"value": 100, "currency": "USD"}}, []string{"amount", "integer"}},
		{"reason", captured, obj{"amount": 100, "refundReason": "BORED"}, []string{"refundReason", "CUSTOMER_REQUEST"}},
		{"no body", captured, "", []string{"body is missing"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantException(t, e.pproPost("/v1/payment-charges/"+tc.charge+"/refunds", tc.body, nil), http.StatusBadRequest, tc.wantMsg...)
		})
	}
	for _, c := range []string{captured, failed, pending} {
		if n := len(list(t, e.getCharge(c), "refunds")); n != 0 {
			t.Errorf("%s has %d refunds after refusals", c, n)
		}
	}
}

// The same Request-Idempotency-Key refunds once, and replays the answer.
func TestPPRORefundIdempotency(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	chargeID := str(t, e.chargeAgreement(e.activeAgreement(), 1200), "id")
	key := http.Header{"Request-Idempotency-Key": {"0b9f5a52-4c1e-4b7a-9d1e-3f2a1b0c9d8e"}}

	first := e.refund(chargeID, 400, obj{"merchantRefundReference": "r-1"}, key)
	wantAPIStatus(t, first, http.StatusOK)
	replay := e.refund(chargeID, 400, obj{"merchantRefundReference": "r-1"}, key)
	wantAPIStatus(t, replay, http.StatusOK)
	if replay.Header.Get("Request-Idempotency") != "true" || string(replay.raw) != string(first.raw) {
		t.Errorf("replay answered %s (Request-Idempotency %q), want the first answer %s",
			replay.raw, replay.Header.Get("Request-Idempotency"), first.raw)
	}
	if n := len(list(t, e.getCharge(chargeID), "refunds")); n != 1 {
		t.Errorf("%d refunds after a replay, want 1", n)
	}
	wantException(t, e.refund(chargeID, 300, obj{"merchantRefundReference": "r-1"}, key), http.StatusConflict, "Request-Idempotency-Key")

	// A refused first request does not keep its key.
	key2 := http.Header{"Request-Idempotency-Key": {"refund-2"}}
	wantAPIStatus(t, e.refund(chargeID, 5000, nil, key2), http.StatusBadRequest)
	ok := e.refund(chargeID, 800, nil, key2)
	wantAPIStatus(t, ok, http.StatusOK)
	if ok.Header.Get("Request-Idempotency") != "" {
		t.Error("a refused request's key replayed")
	}
	e.settle()
	if at(e.getCharge(chargeID), "status") != "REFUNDED" {
		t.Error("400 + 800 of 1200 did not refund the charge fully")
	}
}

// Amazon Pay refunds for six months after the capture; later the refund is
// declined (HTTP 200, a FAILED refund), not refused.
func TestPPRORefundPeriod(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	chargeID := str(t, e.chargeAgreement(e.activeAgreement(), 1200), "id")
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")

	e.Clock.Advance(180 * 24 * time.Hour) // within six months whatever the month lengths
	wantAPIStatus(t, e.refund(chargeID, 100, nil, nil), http.StatusOK)
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_PENDING")
	e.settle()
	rcv.expect(t, "PAYMENT_CHARGE_REFUND_SUCCEEDED")

	e.Clock.Advance(7 * 24 * time.Hour)
	r := e.refund(chargeID, 100, obj{"merchantRefundReference": "late"}, nil)
	wantAPIStatus(t, r, http.StatusOK)
	wantFields(t, r.Body, map[string]string{
		"status":              "FAILED",
		"failure.failureType": "INTERNAL_DECLINE",
		"failure.failureCode": "REFUND_PERIOD_EXPIRED",
	})
	ev := rcv.expect(t, "PAYMENT_CHARGE_REFUND_FAILED")[0]
	wantFields(t, ev, map[string]string{
		"data.refundId":                str(t, r.Body, "id"),
		"data.paymentChargeStatus":     "CAPTURED",
		"data.failure.failureCode":     "REFUND_PERIOD_EXPIRED",
		"data.merchantRefundReference": "late",
	})
	c := e.getCharge(chargeID)
	if got := statuses(t, c, "refunds", "status"); !slices.Equal(got, []string{"REFUNDED", "FAILED"}) {
		t.Errorf("refunds %v", got)
	}
	if at(c, "status") != "CAPTURED" {
		t.Errorf("charge %v, want CAPTURED", at(c, "status"))
	}
}
