package ppro

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"example.com/storefront/payments"
)

func TestVerifySignature(t *testing.T) {
	body := []byte(`{"id":"DBmK364tFeNGuHIJM9Fb4","type":"PAYMENT_AGREEMENT_ACTIVE"}`)
	now := time.Unix(1_800_000_000, 0)
	good := Sign(body, "s3cret", now)
	if !strings.HasPrefix(good, "t=1800000000,s=") || len(good) != len("t=1800000000,s=")+64 {
		t.Fatalf("Sign = %q", good)
	}
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		at     time.Time
		ok     bool
	}{
		{"good", good, body, now, true},
		{"4 minutes later", good, body, now.Add(4 * time.Minute), true},
		{"4 minutes early", good, body, now.Add(-4 * time.Minute), true},
		{"stale", good, body, now.Add(6 * time.Minute), false},
		{"from the future", good, body, now.Add(-6 * time.Minute), false},
		{"unsigned", "", body, now, false},
		{"other body", good, []byte(`{}`), now, false},
		{"other secret", Sign(body, "other", now), body, now, false},
		{"no s", "t=1800000000", body, now, false},
		{"bad hex", "t=1800000000,s=zz", body, now, false},
		{"not k=v", "t=1800000000,garbage", body, now, false},
		{"timestamp not a number", "t=soon,s=" + strings.Repeat("0", 64), body, now, false},
		{"timestamp changed", "t=" + strconv.Itoa(1_800_000_001) + good[len("t=1800000000"):], body, now, false},
	} {
		err := VerifySignature(tc.header, tc.body, "s3cret", tc.at)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrBadSignature) {
			t.Errorf("%s: %v is not ErrBadSignature", tc.name, err)
		}
	}
}

// With a secret, unsigned and badly signed deliveries are refused; without
// one (real credentials, no signing secret yet) they are accepted as nudges.
func TestParseWebhookVerifiesWhenASecretIsSet(t *testing.T) {
	body := `{"specversion":"1.0.2","id":"evt1","type":"PAYMENT_AGREEMENT_ACTIVE","data":{"paymentAgreementId":"agr_1"}}`
	req := func(header string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/ppro", strings.NewReader(body))
		if header != "" {
			r.Header.Set(SignatureHeader, header)
		}
		return r
	}
	signed := NewProvider(nil, payments.ModeSandbox, "s3cret")
	if _, err := signed.ParseWebhook(req("")); !errors.Is(err, ErrBadSignature) {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := signed.ParseWebhook(req(Sign([]byte(body), "wrong", time.Now()))); !errors.Is(err, ErrBadSignature) {
		t.Errorf("wrong secret: %v", err)
	}
	if ev, err := signed.ParseWebhook(req(Sign([]byte(body), "s3cret", time.Now()))); err != nil || ev.SetupRef != "agr_1" {
		t.Errorf("signed: %+v, %v", ev, err)
	}
	if ev, err := NewProvider(nil, payments.ModeTest, "").ParseWebhook(req("")); err != nil || ev.ID != "evt1" {
		t.Errorf("no secret: %+v, %v", ev, err)
	}
}

// Refund events name the refund, its charge and our reference, as PPRO's
// webhook document gives them: PAYMENT_CHARGE_REFUND_* by refundId, and
// FUNDS_STATE_CHANGED by the operation it is about when that is a REFUND
// (REFUND_FUNDS_REJECTED: the money did not reach the shopper).
func TestParseWebhookRefundEvents(t *testing.T) {
	p := NewProvider(nil, payments.ModeTest, "")
	for _, tc := range []struct {
		name, body string
		want       payments.Event
	}{
		{"refund failed", `{"id":"e1","type":"PAYMENT_CHARGE_REFUND_FAILED","data":{"paymentChargeId":"charge_1",` +
			`"refundId":"refund_1","merchantRefundReference":"mandate/md_1/charge/1/refund/1","failure":{"failureCode":"X"}}}`,
			payments.Event{ID: "e1", Type: "PAYMENT_CHARGE_REFUND_FAILED", ChargeRef: "charge_1", RefundRef: "refund_1",
				RefundReference: "mandate/md_1/charge/1/refund/1"}},
		{"refund funds rejected", `{"id":"e2","type":"FUNDS_STATE_CHANGED","data":{"paymentChargeId":"charge_1",` +
			`"paymentOperationId":"refund_2","paymentOperationType":"REFUND","fundsState":"REFUND_FUNDS_REJECTED",` +
			`"merchantRefundReference":"mandate/md_1/charge/1/refund/2"}}`,
			payments.Event{ID: "e2", Type: "FUNDS_STATE_CHANGED", ChargeRef: "charge_1", RefundRef: "refund_2",
				RefundReference: "mandate/md_1/charge/1/refund/2"}},
		{"capture funds received", `{"id":"e3","type":"FUNDS_STATE_CHANGED","data":{"paymentChargeId":"charge_1",` +
			`"paymentOperationId":"capture_1","paymentOperationType":"CAPTURE","fundsState":"CAPTURE_FUNDS_RECEIVED"}}`,
			payments.Event{ID: "e3", Type: "FUNDS_STATE_CHANGED", ChargeRef: "charge_1"}},
	} {
		got, err := p.ParseWebhook(httptest.NewRequest(http.MethodPost, "/webhooks/ppro", strings.NewReader(tc.body)))
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
}
