package pprosim_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"example.com/storefront/sandbox/pprosim"
)

// By default an agreement charge's authorizations and webhooks carry no
// merchantPaymentChargeReference, as in the Amazon Pay guide's example;
// PPRO's search still finds the charge by the reference it was requested
// with, and by its agreement.
func TestPPROChargeReferenceNotEchoed(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	if e.Sandbox.PPROSim().Settings().EchoChargeReference {
		t.Fatal("EchoChargeReference is on by default")
	}
	id := e.activeAgreement()
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")
	ch := e.chargeWith(id, 1200, obj{"merchantPaymentChargeReference": "md_1/period/2"})
	chargeID := str(t, ch, "id")
	wantAbsent(t, ch, "authorizations.0.merchantPaymentChargeReference")
	wantAbsent(t, e.getCharge(chargeID), "authorizations.0.merchantPaymentChargeReference")
	ev := rcv.expect(t, "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")[0]
	wantAbsent(t, ev, "data.merchantPaymentChargeReference")

	byRef := e.pproGet("/v1/payment-charges?" + url.Values{"merchantPaymentChargeReference": {"md_1/period/2"}}.Encode())
	wantAPIStatus(t, byRef, http.StatusOK)
	if got := statuses(t, byRef.Body, "data", "id"); !slices.Equal(got, []string{chargeID}) {
		t.Errorf("search by reference: %v, want [%s]", got, chargeID)
	}
	byAgreement := e.pproGet("/v1/payment-charges?" + url.Values{"agreementId": {id}}.Encode())
	wantAPIStatus(t, byAgreement, http.StatusOK)
	wantFields(t, byAgreement.Body, map[string]string{"data.0.id": chargeID, "data.0.agreementId": id})

	// The setting brings the echo back, for the charges made from then on.
	e.echoReferences()
	echoed := e.chargeWith(id, 1200, obj{"merchantPaymentChargeReference": "md_1/period/3"})
	wantFields(t, echoed, map[string]string{"authorizations.0.merchantPaymentChargeReference": "md_1/period/3"})
	wantAbsent(t, e.getCharge(chargeID), "authorizations.0.merchantPaymentChargeReference")
}

// An EXACT agreement takes only its own amount: another is refused with
// PPRO's error representation (400), and nothing is charged.
func TestPPROExactAgreementRefusesAnotherAmount(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	req := agreementRequest(0)
	req["amount"] = obj{"value": 1200, "currency": "USD"}
	req["amountType"] = "EXACT"
	id := str(t, e.createAgreement(req), "id")
	e.decide(id, "approve")

	r := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges", obj{"amount": obj{"value": 1500, "currency": "USD"}}, nil)
	wantException(t, r, http.StatusBadRequest, "1500", "EXACT", "1200")
	list := e.pproGet("/v1/payment-charges?" + url.Values{"agreementId": {id}}.Encode())
	if n := len(list.Body["data"].([]any)); n != 0 {
		t.Errorf("%d charges after a refused one", n)
	}
	wantFields(t, e.chargeAgreement(id, 1200), map[string]string{"status": "CAPTURED"})

	// MAX and VARIABLE agreements are not held to their amount here.
	req["amountType"] = "MAX"
	other := str(t, e.createAgreement(req), "id")
	e.decide(other, "approve")
	wantFields(t, e.chargeAgreement(other, 900), map[string]string{"status": "CAPTURED"})
}

// With RevocationLag, a revoked agreement still reads ACTIVE for a while
// after the revocation's answer said REVOKED; it is revoked all the same.
func TestPPRORevocationLag(t *testing.T) {
	t.Parallel()
	e := newPPROEnv(t)
	e.configure(func(s *pprosim.Settings) { s.RevocationLag = 10 * time.Second })
	id := e.activeAgreement()

	answer := e.pproPost("/v1/payment-agreements/"+id+"/revocations", obj{}, nil)
	wantAPIStatus(t, answer, http.StatusOK)
	wantFields(t, answer.Body, map[string]string{"status": "REVOKED"})
	a := e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "ACTIVE"})
	wantAbsent(t, a, "revocations")
	if got := statuses(t, a, "history", "status"); slices.Contains(got, "REVOKED_BY_MERCHANT") {
		t.Errorf("history %v shows the revocation early", got)
	}
	wantFields(t, e.chargeAgreement(id, 1200), map[string]string{"status": "FAILED", "failure.failureCode": "AGREEMENT_REVOKED"})

	e.Clock.Advance(10 * time.Second)
	a = e.getAgreement(id)
	wantFields(t, a, map[string]string{"status": "REVOKED_BY_MERCHANT", "revocations.0.revocationStatus": "REVOKED_BY_MERCHANT"})

	// Without the lag, at once.
	e.configure(func(s *pprosim.Settings) { s.RevocationLag = 0 })
	other := e.activeAgreement()
	wantAPIStatus(t, e.pproPost("/v1/payment-agreements/"+other+"/revocations", obj{}, nil), http.StatusOK)
	wantFields(t, e.getAgreement(other), map[string]string{"status": "REVOKED_BY_MERCHANT"})
}
