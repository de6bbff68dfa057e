package pprosim_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/payments/ppro"
	"example.com/storefront/sandbox"
)

// pproReceiver is the app's PPRO webhook endpoint as far as the sandbox
// can tell: it records each delivery and can refuse first attempts.
type pproReceiver struct {
	srv    *httptest.Server
	events chan pproDelivery

	mu        sync.Mutex
	failFirst int
	attempts  map[string]int           // by event id
	tried     map[string][]pproAttempt // every attempt, refused ones too, by event id
}

type pproDelivery struct {
	header http.Header
	raw    []byte
	event  obj
}

// pproAttempt is one delivery attempt as it arrived.
type pproAttempt struct {
	signature string
	raw       []byte
	at        time.Time
}

func newPPROReceiver(t *testing.T, failFirst int) *pproReceiver {
	t.Helper()
	r := &pproReceiver{events: make(chan pproDelivery, 64), failFirst: failFirst, attempts: map[string]int{},
		tried: map[string][]pproAttempt{}}
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
		r.tried[id] = append(r.tried[id], pproAttempt{signature: req.Header.Get(ppro.SignatureHeader), raw: body, at: time.Now()})
		refuse := r.attempts[id] <= r.failFirst
		r.mu.Unlock()
		if refuse {
			http.Error(w, "not now", http.StatusServiceUnavailable)
			return
		}
		r.events <- pproDelivery{header: req.Header.Clone(), raw: body, event: ev}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *pproReceiver) config(c *sandbox.Config) {
	c.PPRO.WebhookURL = r.srv.URL + "/webhooks/ppro"
	c.PPRO.WebhookSecret = testPPROWebhookSecret
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
	// ChargebackSucceededEventRequestDetails alone has no paymentMethod.
	if at(ev, "data.merchantId") != testPPROMerchant || (at(ev, "data.paymentMethod") != "AMAZON_PAY" && ev["type"] != "CHARGEBACK_SUCCEEDED") {
		t.Errorf("data.merchantId %v paymentMethod %v", at(ev, "data.merchantId"), at(ev, "data.paymentMethod"))
	}
	if ct := d.header.Get("Content-Type"); ct != "application/json; charset=utf-8" && ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	wantSigned(t, d.header.Get(ppro.SignatureHeader), d.raw, time.Now())
	if h := d.header.Get("Webhook-Signature"); h != "" {
		t.Errorf("Webhook-Signature %q sent: the legacy scheme is not the one the app verifies", h)
	}
	wantNoNulls(t, ev, "event")
}

// wantSigned checks a PPRO-Signature with the app's own verifier: right
// with the secret, refused with another.
func wantSigned(t *testing.T, signature string, raw []byte, now time.Time) {
	t.Helper()
	if err := ppro.VerifySignature(signature, raw, testPPROWebhookSecret, now); err != nil {
		t.Errorf("the app refuses the signature %q: %v", signature, err)
	}
	if err := ppro.VerifySignature(signature, raw, "ppro_whsec_someone_else", now); !errors.Is(err, ppro.ErrBadSignature) {
		t.Errorf("a wrong secret verified the signature %q: %v", signature, err)
	}
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
	e.echoReferences()

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
		"data.paymentChargeId":                str(t, ch.Body, "id"),
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
	e.Clock.Advance(time.Hour + time.Minute)
	e.getAgreement(str(t, created, "id"))

	evs := rcv.expect(t, "PAYMENT_AGREEMENT_FAILED", "PAYMENT_CHARGE_DISCARDED")
	wantFields(t, evs[0], map[string]string{"data.failure.failureCode": "PAYMENT_METHOD_TIMEOUT"})
	wantFields(t, evs[1], map[string]string{
		"data.paymentChargeStatus": "DISCARDED",
		"data.discardType":         "AUTHENTICATION_TIMEOUT",
	})
	for _, ev := range evs {
		rcv.mu.Lock()
		n, tried := rcv.attempts[ev["id"].(string)], rcv.tried[ev["id"].(string)]
		rcv.mu.Unlock()
		if n != 2 {
			t.Errorf("%v delivered on attempt %d, want 2 (one refusal first)", ev["type"], n)
		}
		// Each attempt, the refused one too, carries its own signature
		// of the same body, made when it was sent.
		for i, a := range tried {
			if string(a.raw) != string(tried[0].raw) {
				t.Errorf("attempt %d of %v sent another body", i+1, ev["type"])
			}
			wantSigned(t, a.signature, a.raw, a.at)
			if ts := signatureTime(t, a.signature); a.at.Sub(ts) > 2*time.Second || ts.Sub(a.at) > time.Second {
				t.Errorf("attempt %d of %v signed at %v, arrived at %v: not signed afresh", i+1, ev["type"], ts, a.at)
			}
		}
	}
	e.getAgreement(str(t, created, "id"))
	rcv.none(t, 200*time.Millisecond)
}

// signatureTime is the t= of a PPRO-Signature.
func signatureTime(t *testing.T, signature string) time.Time {
	t.Helper()
	for part := range strings.SplitSeq(signature, ",") {
		if v, ok := strings.CutPrefix(part, "t="); ok {
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatalf("signature %q: t is not a number", signature)
			}
			return time.Unix(sec, 0)
		}
	}
	t.Fatalf("signature %q has no t=", signature)
	return time.Time{}
}

// The sandbox's own signer (sandbox/pprosim) and the app's verifier
// (payments/ppro) are written apart; deliveries prove they agree, and the
// app refuses what the sandbox would not send: another secret, another
// body, a stale timestamp.
func TestPPROWebhookSignatures(t *testing.T) {
	t.Parallel()
	rcv := newPPROReceiver(t, 0)
	e := newPPROEnv(t, rcv.config)
	id := e.activeAgreement()
	d := rcv.next(t)
	wantEnvelope(t, d)
	wantFields(t, d.event, map[string]string{"type": "PAYMENT_AGREEMENT_ACTIVE", "data.paymentAgreementId": id})

	sig := d.header.Get(ppro.SignatureHeader)
	if !regexp.MustCompile(`^t=\d+,s=[0-9a-f]{64}$`).MatchString(sig) {
		t.Errorf("PPRO-Signature %q, want t=<unix seconds>,s=<64 lower-case hex digits>", sig)
	}
	if got, want := sig, ppro.Sign(d.raw, testPPROWebhookSecret, signatureTime(t, sig)); got != want {
		t.Errorf("signature %q, the app would sign %q", got, want)
	}
	tampered := []byte(strings.Replace(string(d.raw), id, "agr_xxxxxxxxxxxxxxxxxxxxx", 1))
	if err := ppro.VerifySignature(sig, tampered, testPPROWebhookSecret, time.Now()); !errors.Is(err, ppro.ErrBadSignature) {
		t.Errorf("a changed body verified: %v", err)
	}
	if err := ppro.VerifySignature(sig, d.raw, testPPROWebhookSecret, time.Now().Add(ppro.SignatureTolerance+time.Minute)); !errors.Is(err, ppro.ErrBadSignature) {
		t.Errorf("a stale signature verified: %v", err)
	}
}
