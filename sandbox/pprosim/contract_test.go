package pprosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/pproschema"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/pprosim"
)

// The answers the app's PPRO client cannot ask for yet (refunds, the charge
// search, CAPTURE_PENDING charges, revocations by the shopper and by Amazon
// Pay) and their webhooks conform to PPRO's OpenAPI documents. Requests go
// through pproschema's validating proxy, which checks each request and
// answer; webhooks are checked on arrival, signature included. Like
// payments/ppro's contract test, it is skipped without the documents
// (../shared/reference/ppro-openapi or $PPRO_OPENAPI_DIR) unless CI=true.
func TestPPROContractOfTheSandboxsNewAnswers(t *testing.T) {
	t.Parallel()
	v := pproschema.Load(t)

	var mu sync.Mutex
	var types []string
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Webhook(body); err != nil {
			t.Errorf("webhook does not match PPRO's document: %v\n%s", err, body)
		}
		if err := ppro.VerifySignature(r.Header.Get(ppro.SignatureHeader), body, testPPROWebhookSecret, time.Now()); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		mu.Lock()
		types = append(types, ev.Type)
		mu.Unlock()
	}))
	t.Cleanup(hooks.Close)
	e := newPPROEnv(t, func(c *sandbox.Config) {
		c.PPRO.WebhookURL, c.PPRO.WebhookSecret = hooks.URL, testPPROWebhookSecret
	})
	proxy := pproschema.NewProxy(t, v, e.BaseURL, "/sandbox/ppro")
	e.pproBase = proxy.URL + "/sandbox/ppro"

	// The agreement as the app will send it, its first payment with
	// autoCapture false: CAPTURE_PENDING, then CAPTURED.
	req := agreementRequest(1200)
	req["frequency"] = obj{"type": "MONTHLY", "interval": 1}
	req["amount"] = obj{"value": 1200, "currency": "USD"}
	req["amountType"] = "EXACT"
	req["consumer"].(obj)["client"] = obj{"ip": "203.0.113.7", "userAgent": "Mozilla/5.0"}
	req["webhooksUrl"] = "https://shop.example/webhooks/ppro"
	req["initialPaymentCharge"].(obj)["autoCapture"] = false
	req["initialPaymentCharge"].(obj)["merchantPaymentChargeReference"] = "md_1-first"
	created := e.createAgreement(req)
	id, first := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
	e.decide(id, "approve")
	wantFields(t, e.getCharge(first), map[string]string{"status": "CAPTURE_PENDING"})
	e.Clock.Advance(time.Minute)
	wantFields(t, e.getCharge(first), map[string]string{"status": "CAPTURED"})
	pending := e.chargeWith(id, 1200, obj{"autoCapture": false, "merchantPaymentChargeReference": "md_1/period/2"})
	wantFields(t, pending, map[string]string{"status": "CAPTURE_PENDING"})

	// Refunds: partial, listed, one by id, the rest, then refusals.
	r := e.refund(first, 500, obj{"merchantRefundReference": "md_1/refund/1", "refundReason": "RETURN", "labels": obj{"k": "v"}}, nil)
	wantAPIStatus(t, r, http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges/"+first+"/refunds"), http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges/"+first+"/refunds/"+str(t, r.Body, "id")), http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges/"+first), http.StatusOK) // CAPTURED with a refund
	wantAPIStatus(t, e.refund(first, 700, nil, nil), http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges/"+first), http.StatusOK) // REFUNDED
	wantAPIStatus(t, e.refund(first, 1, nil, nil), http.StatusBadRequest)
	wantAPIStatus(t, e.refund(str(t, pending, "id"), 100, nil, nil), http.StatusBadRequest) // CAPTURE_PENDING
	wantAPIStatus(t, e.pproGet("/v1/payment-charges/"+first+"/refunds/refund_nope"), http.StatusNotFound)

	// The search, in pages.
	for range 20 {
		e.chargeAgreement(id, 1200)
	}
	page1 := e.pproGet("/v1/payment-charges?" + url.Values{"agreementId": {id}}.Encode())
	wantAPIStatus(t, page1, http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges?"+url.Values{"agreementId": {id}, "page": {str(t, page1.Body, "nextPage")}}.Encode()), http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges?merchantPaymentChargeReference=md_1-first"), http.StatusOK)
	wantAPIStatus(t, e.pproGet("/v1/payment-charges?page=nope"), http.StatusBadRequest)

	// Revocations from outside the app, as the agreement then reads; a
	// refund after Amazon Pay's six months is declined.
	wantStatus(t, e.Post(revocationPath(id), url.Values{"by": {"consumer"}}), http.StatusSeeOther)
	wantFields(t, e.getAgreement(id), map[string]string{"revocations.0.revocationStatus": "REVOKED_BY_CONSUMER"})
	other := e.activeAgreement()
	late := str(t, e.chargeAgreement(other, 1200), "id")
	wantStatus(t, e.Post(revocationPath(other), url.Values{"by": {"provider"}}), http.StatusSeeOther)
	wantFields(t, e.getAgreement(other), map[string]string{"status": "REVOKED_BY_PROVIDER"})
	e.Clock.Advance(200 * 24 * time.Hour)
	wantFields(t, e.refund(late, 100, nil, nil).Body, map[string]string{"status": "FAILED"})

	// The magic amounts: pending charges and refunds, what they settle
	// to, and a chargeback. An EXACT agreement refuses another amount; a
	// revocation with a lag reads ACTIVE first.
	live := e.activeAgreement()
	exact := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges", obj{"amount": obj{"value": 1500, "currency": "USD"}}, nil)
	wantAPIStatus(t, exact, http.StatusBadRequest)
	e.configure(func(s *pprosim.Settings) { s.RevocationLag = time.Minute })
	lagged := e.activeAgreement()
	wantAPIStatus(t, e.pproPost("/v1/payment-agreements/"+lagged+"/revocations", obj{}, nil), http.StatusOK)
	wantFields(t, e.getAgreement(lagged), map[string]string{"status": "ACTIVE"})
	needsShopper := str(t, e.chargeAgreement(live, 1203), "id")
	async := str(t, e.chargeAgreement(live, 1207), "id")
	chargedBack := str(t, e.chargeAgreement(live, 1204), "id")
	wantFields(t, e.getCharge(needsShopper), map[string]string{"status": "AUTHENTICATION_PENDING"})
	wantFields(t, e.getCharge(async), map[string]string{"status": "AUTHORIZATION_ASYNC"})
	e.settle()
	wantFields(t, e.getCharge(needsShopper), map[string]string{"status": "FAILED"})
	wantFields(t, e.getCharge(async), map[string]string{"status": "CAPTURED"})
	for _, amount := range []int64{105, 206, 300} {
		wantFields(t, e.refund(async, amount, nil, nil).Body, map[string]string{"status": "PENDING"})
	}
	wantAPIStatus(t, e.pproGet("/v1/payment-charges/"+async+"/refunds"), http.StatusOK) // PENDING
	e.settle()
	e.settle()
	if got := statuses(t, e.getCharge(async), "refunds", "status"); !slices.Equal(got, []string{"FAILED", "FAILED", "REFUNDED"}) {
		t.Errorf("refunds 05, 06, 00: %v", got)
	}
	wantFields(t, e.getCharge(chargedBack), map[string]string{"status": "CAPTURED"})

	// 409 for a key whose first request is in flight: the first goes to
	// the sandbox directly (the proxy validates one exchange at a time),
	// the second through the proxy; if the second still came first, again
	// with a new key.
	e.configure(func(s *pprosim.Settings) { s.Processing = time.Second })
	direct := &env{Env: e.Env, t: t}
	for attempt := 0; ; attempt++ {
		key := http.Header{"Request-Idempotency-Key": {"contract-in-flight-" + strconv.Itoa(attempt)}}
		done := make(chan apiResponse, 1)
		go func() { done <- direct.refund(chargedBack, 100, nil, key) }()
		time.Sleep(50 * time.Millisecond)
		r := e.refund(chargedBack, 100, nil, key)
		first := <-done
		if r.Status == http.StatusConflict {
			wantAPIStatus(t, first, http.StatusOK)
			break
		}
		if attempt == 4 {
			t.Fatalf("no 409 in 5 attempts: %d %s", r.Status, r.raw)
		}
	}
	e.configure(func(s *pprosim.Settings) { s.Processing = 0 })

	seen := proxy.Seen()
	for _, want := range []string{
		"GET /v1/payment-charges 200",
		"GET /v1/payment-charges 400",
		"GET /v1/payment-charges/{paymentChargeId} 200",
		"POST /v1/payment-charges/{paymentChargeId}/refunds 200",
		"POST /v1/payment-charges/{paymentChargeId}/refunds 400",
		"POST /v1/payment-charges/{paymentChargeId}/refunds 409",
		"GET /v1/payment-charges/{paymentChargeId}/refunds 200",
		"GET /v1/payment-charges/{paymentChargeId}/refunds/{refundId} 200",
		"GET /v1/payment-charges/{paymentChargeId}/refunds/{refundId} 404",
		"POST /v1/payment-agreements 200",
		"POST /v1/payment-agreements/{agreement-id}/payment-charges 200",
		"POST /v1/payment-agreements/{agreement-id}/payment-charges 400",
		"POST /v1/payment-agreements/{agreement-id}/revocations 200",
		"GET /v1/payment-agreements/{agreement-id} 200",
	} {
		if !slices.Contains(seen, want) {
			t.Errorf("no %q went through the validator; seen:\n%s", want, strings.Join(seen, "\n"))
		}
	}

	wantTypes := []string{
		"PAYMENT_CHARGE_AUTHORIZATION_SUCCEEDED", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED",
		"PAYMENT_CHARGE_REFUND_SUCCEEDED", "PAYMENT_CHARGE_REFUND_FAILED",
		"PAYMENT_AGREEMENT_REVOKED_BY_CONSUMER", "PAYMENT_AGREEMENT_REVOKED_BY_PROVIDER",
		"PAYMENT_CHARGE_AUTHENTICATION_PENDING", "PAYMENT_CHARGE_PROVIDER_CONFIRMATION_PENDING",
		"PAYMENT_CHARGE_AUTHORIZATION_FAILED", "PAYMENT_CHARGE_REFUND_PENDING", "CHARGEBACK_SUCCEEDED",
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := slices.Clone(types)
		mu.Unlock()
		missing := slices.DeleteFunc(slices.Clone(wantTypes), func(typ string) bool { return slices.Contains(got, typ) })
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhooks %v never arrived; got %v", missing, got)
		}
	}
}
