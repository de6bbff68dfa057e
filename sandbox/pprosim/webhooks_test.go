package pprosim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"example.com/storefront/sandbox"
)

// pproReceiver is the app's PPRO webhook endpoint as far as the sandbox
// can tell: it records each delivery and can refuse first attempts.
type pproReceiver struct {
	srv    *httptest.Server
	events chan pproDelivery

	mu        sync.Mutex
	failFirst int
	attempts  map[string]int // by event id
}

type pproDelivery struct {
	header http.Header
	event  obj
}

func newPPROReceiver(t *testing.T, failFirst int) *pproReceiver {
	t.Helper()
	r := &pproReceiver{events: make(chan pproDelivery, 64), failFirst: failFirst, attempts: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		var ev obj
		if err == nil {
			err = json.Unmarshal(body, &ev)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id, _ := ev["id"].(string)
		r.mu.Lock()
		r.attempts[id]++
		refuse := r.attempts[id] <= r.failFirst
		r.mu.Unlock()
		if refuse {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		r.events <- pproDelivery{header: req.Header.Clone(), event: ev}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pproReceiver) config(c *sandbox.Config) {
	c.PPRO.WebhookURL = r.srv.URL + "/webhooks/ppro"
	c.WebhookRetryAfter = 50 * time.Millisecond
}

func (r *pproReceiver) next(t *testing.T) pproDelivery {
	t.Helper()
	select {
	case d := <-r.events:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook delivered within 10 s")
	}
	return pproDelivery{}
}

// expect receives len(types) events and checks their types in order (the
// sandbox queues an agreement's event before its charge's).
func (r *pproReceiver) expect(t *testing.T, types ...string) []obj {
	t.Helper()
	got := make(map[string]obj)
	var order []string
	for range types {
		d := r.next(t)
		wantEnvelope(t, d)
		typ, _ := d.event["type"].(string)
		got[typ] = d.event
		order = append(order, typ)
	}
	out := make([]obj, len(types))
	for i, typ := range types {
		ev, ok := got[typ]
		if !ok {
			t.Fatalf("events %v, want %v", order, types)
		}
		out[i] = ev
	}
	return out
}

func (r *pproReceiver) none(t *testing.T, wait time.Duration) {
	t.Helper()
	select {
	case d := <-r.events:
		t.Errorf("unexpected event %v", d.event["type"])
	case <-time.After(wait):
	}
}

// wantEnvelope checks the CloudEvents envelope of ppro-gpg-webhooks.json.
func wantEnvelope(t *testing.T, d pproDelivery) {
	t.Helper()
	ev := d.event
	wantFields(t, ev, map[string]string{
		"specversion":     "1.0.2",
		"source":          "https://www.ppro.com",
		"datacontenttype": "application/json",
	})
	if id, _ := ev["id"].(string); !eventIDPattern.MatchString(id) {
		t.Errorf("event id %q does not match %v", id, eventIDPattern)
	}
	if ts, _ := ev["time"].(string); !pproTimePattern.MatchString(ts) {
		t.Errorf("time %q, want ISO-8601 UTC with milliseconds", ts)
	}
	if at(ev, "data.type") != ev["type"] {
		t.Errorf("data.type %v, want the event type %v", at(ev, "data.type"), ev["type"])
	}
	if at(ev, "data.merchantId") != testPPROMerchant || at(ev, "data.paymentMethod") != "AMAZON_PAY" {
		t.Errorf("data.merchantId %v paymentMethod %v", at(ev, "data.merchantId"), at(ev, "data.paymentMethod"))
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json; charset=utf-8" && ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	for _, h := range []string{"Webhook-Signature", "Ppro-Signature"} {
		if d.header.Get(h) != "" {
			t.Errorf("%s header sent; PPRO's signature scheme is unconfirmed, so the sandbox signs nothing", h)
		}
	}
	wantNoNulls(t, ev, "event")
}

func TestPPROWebhooksOnApproval(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	created := e.createAgreement(agreementRequest(1200))
	id, chargeID := str(t, created, "id"), str(t, created, "initialPaymentChargeId")
	e.decide(id, "approve")

	evs := rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE", "PAYMENT_CHARGE_CAPTURE_SUCCEEDED")
	wantFields(t, evs[0], map[string]string{
		"subject":                                id,
		"data.paymentAgreementId":                id,
		"data.paymentAgreementStatus":            "ACTIVE",
		"data.merchantPaymentAgreementReference": "mandate-42",
	})
	wantAbsent(t, evs[0], "data.failure")
	c := e.getCharge(chargeID)
	wantFields(t, evs[1], map[string]string{
		"subject":                  chargeID,
		"data.paymentChargeId":     chargeID,
		"data.paymentChargeStatus": "CAPTURED",
		"data.captureId":           str(t, c, "captures.0.id"),
		"data.amount.currency":     "USD",
	})
	if at(evs[1], "data.amount.value") != float64(1200) {
		t.Errorf("data.amount %v, want 1200 USD", at(evs[1], "data.amount"))
	}
	rcv.none(t, 200*time.Millisecond)
}

func TestPPROWebhooksOnDeclineRevokeAndCharges(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)

	declined := e.createAgreement(agreementRequest(1200))
	e.decide(str(t, declined, "id"), "decline")
	evs := rcv.expect(t, "PAYMENT_AGREEMENT_FAILED", "PAYMENT_CHARGE_AUTHORIZATION_FAILED")
	wantFields(t, evs[0], map[string]string{
		"data.paymentAgreementStatus": "FAILED",
		"data.failure.failureType":    "PROVIDER_DECLINE",
		"data.failure.failureCode":    "AUTHENTICATION_FAILED",
	})
	wantFields(t, evs[1], map[string]string{
		"data.paymentChargeId":     str(t, declined, "initialPaymentChargeId"),
		"data.paymentChargeStatus": "FAILED",
		"data.failure.failureCode": "AUTHENTICATION_FAILED",
	})
	if s, _ := at(evs[1], "data.authorizationId").(string); !authzIDPattern.MatchString(s) {
		t.Errorf("data.authorizationId %q", s)
	}

	id := e.activeAgreement()
	rcv.expect(t, "PAYMENT_AGREEMENT_ACTIVE")

	ch := e.pproPost("/v1/payment-agreements/"+id+"/payment-charges",
		obj{"amount": obj{"value": 1202, "currency": "USD"}, "merchantPaymentChargeReference": "invoice-9"}, nil)
	wantAPIStatus(t, ch, http.StatusOK)
	evs = rcv.expect(t, "PAYMENT_CHARGE_AUTHORIZATION_FAILED")
	wantFields(t, evs[0], map[string]string{
		"data.paymentChargeId":                str(t, ch.body, "id"),
		"data.merchantPaymentChargeReference": "invoice-9",
		"data.failure.failureCode":            "INSUFFICIENT_FUNDS",
	})

	wantAPIStatus(t, e.pproPost("/v1/payment-agreements/"+id+"/revocations", obj{}, nil), http.StatusOK)
	evs = rcv.expect(t, "PAYMENT_AGREEMENT_REVOKED_BY_MERCHANT")
	wantFields(t, evs[0], map[string]string{"data.paymentAgreementId": id, "data.paymentAgreementStatus": "REVOKED_BY_MERCHANT"})

	// A refused revocation changes nothing and sends nothing.
	wantAPIStatus(t, e.pproPost("/v1/payment-agreements/"+id+"/revocations", obj{}, nil), http.StatusOK)
	rcv.none(t, 200*time.Millisecond)
}

func TestPPROWebhooksOnTimeoutAndRetry(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 1)
	e := newPPROEnv(t, rcv.config)
	created := e.createAgreement(agreementRequest(1200))
	e.clock.Advance(time.Hour + time.Minute)
	e.getAgreement(str(t, created, "id"))

	evs := rcv.expect(t, "PAYMENT_AGREEMENT_FAILED", "PAYMENT_CHARGE_DISCARDED")
	wantFields(t, evs[0], map[string]string{"data.failure.failureCode": "PAYMENT_METHOD_TIMEOUT"})
	wantFields(t, evs[1], map[string]string{
		"data.paymentChargeStatus": "DISCARDED",
		"data.discardType":         "AUTHENTICATION_TIMEOUT",
	})
	for _, ev := range evs {
		rcv.mu.Lock()
		n := rcv.attempts[ev["id"].(string)]
		rcv.mu.Unlock()
		if n != 2 {
			t.Errorf("%v delivered on attempt %d, want 2 (one refusal first)", ev["type"], n)
		}
	}
	e.getAgreement(str(t, created, "id"))
	rcv.none(t, 200*time.Millisecond)
}
