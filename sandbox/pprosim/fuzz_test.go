package pprosim

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// addRequestSeeds adds the guide's request bodies (testdata/requests).
func addRequestSeeds(f *testing.F) {
	files, err := filepath.Glob("testdata/requests/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed requests in testdata/requests (%v)", err)
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Add([]byte(`{"paymentMethod":"AMAZON_PAY","consumer":{"name":"Ada","country":"US","email":"ada@example.com",` +
		`"client":{"ip":"203.0.113.7","userAgent":"Mozilla/5.0"}},"description":"Coffee Club: 12.00 USD every month",` +
		`"merchantPaymentAgreementReference":"md_1","frequency":{"type":"MONTHLY","interval":1},` +
		`"amount":{"value":1200,"currency":"USD"},"amountType":"EXACT","webhooksUrl":"https://shop.example/webhooks/ppro",` +
		`"authenticationSettings":[{"type":"REDIRECT","settings":{"returnUrl":"https://shop.example/return?mandate=md_1"}}],` +
		`"initialPaymentCharge":{"amount":{"value":1200,"currency":"USD"},"autoCapture":true,"merchantPaymentChargeReference":"md_1-first"}}`))
	f.Add([]byte(`{"amount":{"value":1200,"currency":"USD"},"initiator":"MERCHANT","scheduleType":"SCHEDULED","autoCapture":true,` +
		`"merchantPaymentChargeReference":"md_1/period/2","labels":{"k":"v"}}`))
	f.Add([]byte(`{"amount":{"value":49,"currency":"EUR"}} trailing`))
	f.Add([]byte(`null`))
}

// FuzzAgreementRequest sends arbitrary bodies through the sandbox's parsing
// and validation of POST /v1/payment-agreements. A refusal is a 400 with a
// message; an accepted body describes an agreement the sandbox can serve:
// Amazon Pay, a consumer in the US, a REDIRECT return URL.
func FuzzAgreementRequest(f *testing.F) {
	addRequestSeeds(f)
	now := time.Unix(1_800_000_000, 0)
	f.Fuzz(func(t *testing.T, body []byte) {
		var in pproAgreementIn
		if e := decodePPRO(body, &in); e != nil {
			refused(t, e)
			return
		}
		a, e := validateAgreementIn(&in, now)
		if e != nil {
			refused(t, e)
			return
		}
		if a.PaymentMethod != pproAmazonPay || a.Consumer.Country != "US" {
			t.Fatalf("accepted %s for %q", a.PaymentMethod, a.Consumer.Country)
		}
		if u, err := url.Parse(a.returnURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("accepted return URL %q", a.returnURL)
		}
		if a.Amount != nil && (a.Amount.Currency != "USD" || a.Amount.Value < 50 || a.Amount.Value > 2_000_000) {
			t.Fatalf("accepted amount %+v", a.Amount)
		}
	})
}

// FuzzChargeRequest does the same for the body of an agreement charge.
func FuzzChargeRequest(f *testing.F) {
	addRequestSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var in pproChargeIn
		if e := decodePPRO(body, &in); e != nil {
			refused(t, e)
			return
		}
		amount, e := validateChargeIn(&in, "")
		if e != nil {
			refused(t, e)
			return
		}
		if amount.Currency != "USD" || amount.Value < 50 || amount.Value > 2_000_000 {
			t.Fatalf("accepted amount %+v", amount)
		}
	})
}

// FuzzRefundRequest does the same for the body of a refund: an accepted
// one asks for a positive amount and a documented reason, if any.
func FuzzRefundRequest(f *testing.F) {
	f.Add([]byte(`{"amount":500,"merchantRefundReference":"md_1/refund/1","refundReason":"CUSTOMER_REQUEST","labels":{"k":"v"}}`))
	f.Add([]byte(`{"amount":{"value":500,"currency":"USD"}}`))
	f.Add([]byte(`{"amount":0,"refundReason":"BORED"}`))
	f.Add([]byte(`{"amount":9223372036854775807}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var in pproRefundIn
		if e := decodePPRO(body, &in); e != nil {
			refused(t, e)
			return
		}
		if e := validateRefundIn(&in); e != nil {
			refused(t, e)
			return
		}
		if *in.Amount < 1 || (in.RefundReason != nil && !slices.Contains(pproRefundReasons, *in.RefundReason)) {
			t.Fatalf("accepted amount %d, reason %v", *in.Amount, in.RefundReason)
		}
	})
}

func refused(t *testing.T, e *pproError) {
	t.Helper()
	if e.status != http.StatusBadRequest || e.message == "" {
		t.Fatalf("refused with %d %q, want a 400 with a message", e.status, e.message)
	}
}
