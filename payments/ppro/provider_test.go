package ppro

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"example.com/storefront/payments"
)

// Every documented agreement status maps to the storefront's states, with
// the first payment reported on its own.
func TestSetupStatusMapsEveryAgreementStatus(t *testing.T) {
	for status, want := range map[AgreementStatus]payments.SetupState{
		AgreementInitializing:            payments.SetupPending,
		AgreementAuthenticationPending:   payments.SetupPending,
		AgreementAuthorizationProcessing: payments.SetupPending,
		AgreementActive:                  payments.SetupSucceeded,
		AgreementFailed:                  payments.SetupFailed,
		AgreementRevokedByConsumer:       payments.SetupRevoked,
		AgreementRevokedByMerchant:       payments.SetupRevoked,
		AgreementRevokedByProvider:       payments.SetupRevoked,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch {
			case strings.HasPrefix(r.URL.Path, "/v1/payment-agreements/"):
				failure := ""
				if status == AgreementFailed {
					failure = `,"failure":{"failureType":"PROVIDER_DECLINE","failureCode":"AUTHENTICATION_FAILED","failureMessage":"declined"}`
				}
				fmt.Fprintf(w, `{"id":"agr_1","status":%q,"initialPaymentChargeId":"charge_1"%s}`, status, failure)
			case r.URL.Path == "/v1/payment-charges/charge_1":
				fmt.Fprint(w, `{"id":"charge_1","status":"FAILED","failure":{"failureType":"PROVIDER_DECLINE","failureCode":"INSUFFICIENT_FUNDS","failureMessage":"Insufficient funds"}}`)
			default:
				http.NotFound(w, r)
			}
		}))
		c, _ := NewClient(Config{BaseURL: srv.URL, Token: "t", MerchantID: "m", MaxRetries: -1})
		res, err := NewProvider(c, payments.ModeTest, "").SetupStatus(context.Background(), "agr_1")
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", status, err)
		}
		if res.State != want || res.ProviderStatus != "agreement "+string(status) {
			t.Errorf("%s: %+v, want %s", status, res, want)
		}
		if (want == payments.SetupSucceeded || want == payments.SetupRevoked) && (res.Handle != "agr_1" || res.HandleType != "amazon_pay") {
			t.Errorf("%s: handle %q %q", status, res.Handle, res.HandleType)
		}
		if want == payments.SetupFailed && res.Reason != "AUTHENTICATION_FAILED: declined" {
			t.Errorf("%s: reason %q", status, res.Reason)
		}
		if fp := res.InitialCharge; fp == nil || fp.State != payments.ChargeFailed || fp.Reason != "INSUFFICIENT_FUNDS: Insufficient funds" {
			t.Errorf("%s: first payment %+v", status, fp)
		}
	}
}

func TestChargeResultMapsEveryChargeStatus(t *testing.T) {
	for status, want := range map[ChargeStatus]payments.ChargeState{
		ChargeAuthorizationProcessing: payments.ChargePending,
		ChargeAuthorizationAsync:      payments.ChargePending,
		ChargeAuthenticationPending:   payments.ChargePending,
		ChargeCapturePending:          payments.ChargePending,
		ChargeCaptureProcessing:       payments.ChargePending,
		ChargeCaptured:                payments.ChargeSucceeded,
		ChargeRefundProcessing:        payments.ChargeSucceeded,
		ChargeRefunded:                payments.ChargeRefunded,
		ChargeVoidProcessing:          payments.ChargePending,
		ChargeVoided:                  payments.ChargeFailed,
		ChargeDiscardProcessing:       payments.ChargePending,
		ChargeDiscarded:               payments.ChargeFailed,
		ChargeFailed:                  payments.ChargeFailed,
	} {
		if got := chargeResult(Charge{ID: "charge_1", Status: status}); got.State != want || got.Ref != "charge_1" {
			t.Errorf("%s: %+v, want %s", status, got, want)
		}
	}
}

func TestEligible(t *testing.T) {
	p := NewProvider(nil, payments.ModeSandbox, "")
	usd := func(v int64) payments.Money { return payments.Money{Amount: v, Currency: "USD"} }
	for _, tc := range []struct {
		country string
		price   payments.Money
		field   string // "" when eligible
	}{
		{"US", usd(1200), ""},
		{"", usd(1200), ""}, // country not known yet
		{"US", usd(50), ""},
		{"US", usd(2_000_000), ""},
		{"DE", usd(1200), "country"},
		{"US", usd(49), "price"},
		{"US", usd(2_000_001), "price"},
		{"US", payments.Money{Amount: 1200, Currency: "EUR"}, "price"},
	} {
		err := p.Eligible(tc.country, tc.price)
		var ie *payments.IneligibleError
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s %v: %v", tc.country, tc.price, err)
		case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field || ie.Reason == ""):
			t.Errorf("%s %v: %v, want a %s reason", tc.country, tc.price, err, tc.field)
		}
	}
}

func TestParseWebhook(t *testing.T) {
	p := NewProvider(nil, payments.ModeSandbox, "")
	for _, tc := range []struct {
		body      string
		ok        bool
		setupRef  string
		mandateID string
	}{
		{`{"specversion":"1.0.2","id":"evt1","type":"PAYMENT_AGREEMENT_ACTIVE","data":{"paymentAgreementId":"agr_1","merchantPaymentAgreementReference":"md_1"}}`, true, "agr_1", "md_1"},
		{`{"specversion":"1.0.2","id":"evt2","type":"PAYMENT_CHARGE_CAPTURE_SUCCEEDED","data":{"paymentChargeId":"charge_1","merchantPaymentChargeReference":"md_2-first"}}`, true, "", ""},
		{`{"specversion":"1.0.2","id":"evt3","type":"PAYMENT_CHARGE_CAPTURE_SUCCEEDED","data":{"paymentChargeId":"charge_1"}}`, true, "", ""},
		{`{"data":{}}`, false, "", ""},
		{`not json`, false, "", ""},
	} {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/ppro", strings.NewReader(tc.body))
		ev, err := p.ParseWebhook(r)
		if (err == nil) != tc.ok || ev.SetupRef != tc.setupRef || ev.MandateID != tc.mandateID {
			t.Errorf("%s: %+v, %v", tc.body, ev, err)
		}
	}
}
