package ppro_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/pproschema"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/sandbox"
)

const (
	token    = "ppro_contract_token"
	merchant = "merch_contract"
)

// contractEnv is the PPRO sandbox on its own loopback server, with the
// client reaching its API only through a proxy that validates every request
// and every answer against PPRO's OpenAPI documents; webhooks go to a
// receiver that validates each body the same way.
type contractEnv struct {
	t        *testing.T
	sandbox  *httptest.Server
	proxy    *pproschema.Proxy
	client   *ppro.Client
	provider *ppro.Provider
	mu       sync.Mutex
	webhooks []string // event types received
}

func newContractEnv(t *testing.T) *contractEnv {
	t.Helper()
	v := pproschema.Load(t)
	e := &contractEnv{t: t}
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Webhook(body); err != nil {
			t.Errorf("webhook does not match PPRO's document: %v\n%s", err, body)
		}
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		e.mu.Lock()
		e.webhooks = append(e.webhooks, ev.Type)
		e.mu.Unlock()
	}))
	t.Cleanup(hooks.Close)

	mux := http.NewServeMux()
	e.sandbox = httptest.NewServer(mux)
	t.Cleanup(e.sandbox.Close)
	sb, err := sandbox.New(context.Background(), sandbox.Config{
		DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL:    e.sandbox.URL + "/sandbox",
		MerchantName: "Northwind Coffee",
		PPRO:         sandbox.PPROConfig{APIToken: token, MerchantID: merchant, WebhookURL: hooks.URL, WebhookSecret: "ppro_whsec_contract"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	mux.Handle("/sandbox/", sb)

	e.proxy = pproschema.NewProxy(t, v, e.sandbox.URL, "/sandbox/ppro")
	if e.client, err = ppro.NewClient(ppro.Config{BaseURL: e.proxy.URL + "/sandbox/ppro", Token: token, MerchantID: merchant, MaxRetries: -1}); err != nil {
		t.Fatal(err)
	}
	e.provider = ppro.NewProvider(e.client, payments.ModeSandbox, "")
	return e
}

// decide presses a decision button on the sandbox's approval page (pages are
// not part of the API, so the browser goes there directly).
func (e *contractEnv) decide(requestURL, decision string) {
	e.t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(requestURL, url.Values{"decision": {decision}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("decision %s: %d", decision, resp.StatusCode)
	}
}

func setupRequest(id string, first *payments.Money) payments.SetupRequest {
	return payments.SetupRequest{
		MandateID:      id,
		Customer:       payments.Customer{Name: "Ada Lovelace", Email: "ada@example.com", Country: "US"},
		ReturnURL:      "http://localhost:8080/return?mandate=" + id,
		IdempotencyKey: "mandate/" + id,
		InitialCharge:  first,
	}
}

// Every call the app's PPRO client makes, and every answer the sandbox
// gives, conforms to PPRO's OpenAPI documents.
func TestContractWithPPROsOpenAPIDocuments(t *testing.T) {
	e := newContractEnv(t)
	ctx := context.Background()
	usd := func(v int64) *payments.Money { return &payments.Money{Amount: v, Currency: "USD"} }

	// The storefront's flow through the Provider: an agreement with a first
	// payment, approved, then checked.
	setup, err := e.provider.BeginSetup(ctx, setupRequest("md_contract1", usd(1200)))
	if err != nil {
		t.Fatal(err)
	}
	e.decide(setup.Redirect.URL, "approve")
	res, err := e.provider.SetupStatus(ctx, setup.Ref)
	if err != nil {
		t.Fatal(err)
	}
	if res.State != payments.SetupSucceeded || res.InitialCharge == nil || res.InitialCharge.State != payments.ChargeSucceeded {
		t.Fatalf("after approval: %+v, first payment %+v", res, res.InitialCharge)
	}

	// Declined, and without a first payment.
	declined, err := e.provider.BeginSetup(ctx, setupRequest("md_contract2", nil))
	if err != nil {
		t.Fatal(err)
	}
	e.decide(declined.Redirect.URL, "decline")
	if res, err := e.provider.SetupStatus(ctx, declined.Ref); err != nil || res.State != payments.SetupFailed || res.Reason == "" {
		t.Fatalf("after decline: %+v, %v", res, err)
	}

	// Later charges: captured, declined by a magic amount, and refused on a
	// failed agreement; then a revocation, twice.
	for _, tc := range []struct {
		agreement string
		amount    int64
		want      ppro.ChargeStatus
	}{
		{setup.Ref, 1200, ppro.ChargeCaptured},
		{setup.Ref, 1201, ppro.ChargeFailed},
		{declined.Ref, 1200, ppro.ChargeFailed},
	} {
		ch, err := e.client.CreateAgreementCharge(ctx, tc.agreement, ppro.ChargeRequest{
			Amount: ppro.Money{Value: tc.amount, Currency: "USD"}, Initiator: "MERCHANT", ScheduleType: "SCHEDULED",
		}, "contract/charge/"+tc.agreement+"/"+time.Now().String())
		if err != nil || ch.Status != tc.want {
			t.Fatalf("charge %d on %s: %+v, %v", tc.amount, tc.agreement, ch, err)
		}
		got, err := e.client.GetCharge(ctx, ch.ID)
		if err != nil || got.AgreementID != tc.agreement {
			t.Fatalf("get charge: %+v, %v", got, err)
		}
	}
	for _, want := range []ppro.RevocationStatus{ppro.RevocationRevoked, ppro.RevocationFailed} {
		r, err := e.client.RevokeAgreement(ctx, setup.Ref, "contract/revoke/"+string(want))
		if err != nil || r.Status != want {
			t.Fatalf("revoke: %+v, %v; want %s", r, err, want)
		}
	}

	// The merchant's side through the Provider, as the app calls it: a
	// charge (captured, and one declined by a magic amount), its status,
	// found again by our reference, a partial refund and its status, a
	// refund beyond what is left (refused), and the revocation.
	active, err := e.provider.BeginSetup(ctx, setupRequest("md_contract5", nil))
	if err != nil {
		t.Fatal(err)
	}
	e.decide(active.Redirect.URL, "approve")
	activeRes, err := e.provider.SetupStatus(ctx, active.Ref)
	if err != nil || activeRes.State != payments.SetupSucceeded {
		t.Fatalf("after approval: %+v, %v", activeRes, err)
	}
	mandateRef := payments.MandateRef{MandateID: "md_contract5", SetupRef: active.Ref, Handle: activeRes.Handle, HandleType: "amazon_pay"}
	charged, err := e.provider.Charge(ctx, payments.ChargeRequest{Mandate: mandateRef, Amount: payments.Money{Amount: 1500, Currency: "USD"},
		Reference: "mandate/md_contract5/charge/1", Description: "Coffee Club", IdempotencyKey: "mandate/md_contract5/charge/1"})
	if err != nil || charged.State != payments.ChargeSucceeded || charged.Ref == "" || len(charged.Operations) < 2 {
		t.Fatalf("Charge: %+v, %v", charged, err)
	}
	declinedCharge, err := e.provider.Charge(ctx, payments.ChargeRequest{Mandate: mandateRef, Amount: payments.Money{Amount: 1502, Currency: "USD"},
		Reference: "mandate/md_contract5/charge/2", IdempotencyKey: "mandate/md_contract5/charge/2", Scheduled: true, Retry: true})
	if err != nil || declinedCharge.State != payments.ChargeFailed || declinedCharge.Code == "" {
		t.Fatalf("declined Charge: %+v, %v", declinedCharge, err)
	}
	// PPRO need not echo our reference (authorizations[].
	// merchantPaymentChargeReference is optional): FindCharge finds it.
	if got, err := e.provider.ChargeStatus(ctx, charged.Ref); err != nil || got.State != payments.ChargeSucceeded || got.Handle != mandateRef.Handle {
		t.Fatalf("ChargeStatus: %+v, %v", got, err)
	}
	if got, found, err := e.provider.FindCharge(ctx, mandateRef, "mandate/md_contract5/charge/1"); err != nil || !found || got.Ref != charged.Ref {
		t.Fatalf("FindCharge: %+v, %v, %v", got, found, err)
	}
	if _, found, err := e.provider.FindCharge(ctx, mandateRef, "mandate/md_contract5/charge/never"); err != nil || found {
		t.Fatalf("FindCharge of a charge never made: %v, %v", found, err)
	}
	refund, err := e.provider.Refund(ctx, payments.RefundRequest{ChargeRef: charged.Ref, Amount: payments.Money{Amount: 500, Currency: "USD"},
		Reference: "mandate/md_contract5/charge/1/refund/1", IdempotencyKey: "mandate/md_contract5/charge/1/refund/1"})
	if err != nil || refund.Ref == "" || refund.State == payments.RefundFailed {
		t.Fatalf("Refund: %+v, %v", refund, err)
	}
	if got, err := e.provider.RefundStatus(ctx, charged.Ref, refund.Ref); err != nil || got.Ref != refund.Ref || got.Amount != 500 {
		t.Fatalf("RefundStatus: %+v, %v", got, err)
	}
	// A refund whose answer was lost is found by our reference (getRefunds).
	if got, found, err := e.provider.FindRefund(ctx, charged.Ref, "mandate/md_contract5/charge/1/refund/1"); err != nil || !found || got.Ref != refund.Ref {
		t.Fatalf("FindRefund: %+v, %v, %v", got, found, err)
	}
	if _, found, err := e.provider.FindRefund(ctx, charged.Ref, "mandate/md_contract5/charge/1/refund/never"); err != nil || found {
		t.Fatalf("FindRefund of a refund never made: %v, %v", found, err)
	}
	if _, err := e.provider.Refund(ctx, payments.RefundRequest{ChargeRef: charged.Ref, Amount: payments.Money{Amount: 1001, Currency: "USD"},
		Reference: "mandate/md_contract5/charge/1/refund/2", IdempotencyKey: "mandate/md_contract5/charge/1/refund/2"}); err == nil {
		t.Error("a refund beyond what is left was accepted")
	}
	revoked, err := e.provider.Revoke(ctx, mandateRef, "mandate/md_contract5/revoke")
	if err != nil || revoked.State != payments.SetupRevoked {
		t.Fatalf("Revoke: %+v, %v", revoked, err)
	}
	if got, err := e.provider.MandateStatus(ctx, mandateRef); err != nil || got.State != payments.SetupRevoked {
		t.Fatalf("MandateStatus after Revoke: %+v, %v", got, err)
	}

	// Error answers are PPRO's error body too.
	if _, err := e.client.GetAgreement(ctx, "agr_aaaaaaaaaaaaaaaaaaaaa"); !isStatus(err, 404) {
		t.Errorf("unknown agreement: %v", err)
	}
	bad := setupRequest("md_contract3", nil)
	bad.Customer.Country = "DE"
	if _, err := e.provider.BeginSetup(ctx, bad); err == nil {
		t.Error("a German consumer was accepted")
	}
	key := "mandate/md_contract4"
	if _, err := e.client.CreateAgreement(ctx, agreementRequest("Ada"), key); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.CreateAgreement(ctx, agreementRequest("Grace"), key); !isStatus(err, 409) {
		t.Errorf("same key, other body: %v", err)
	}

	// Every operation the app uses went through the validating proxy.
	seen := e.proxy.Seen()
	for _, want := range []string{
		"POST /v1/payment-agreements 200",
		"POST /v1/payment-agreements 400",
		"POST /v1/payment-agreements 409",
		"GET /v1/payment-agreements/{agreement-id} 200",
		"GET /v1/payment-agreements/{agreement-id} 404",
		"GET /v1/payment-charges/{paymentChargeId} 200",
		"POST /v1/payment-agreements/{agreement-id}/payment-charges 200",
		"POST /v1/payment-agreements/{agreement-id}/revocations 200",
		"GET /v1/payment-charges 200",
		"POST /v1/payment-charges/{paymentChargeId}/refunds 200",
		"POST /v1/payment-charges/{paymentChargeId}/refunds 400",
		"GET /v1/payment-charges/{paymentChargeId}/refunds/{refundId} 200",
	} {
		if !slices.Contains(seen, want) {
			t.Errorf("no %q went through the validator; seen:\n%s", want, strings.Join(seen, "\n"))
		}
	}

	// The sandbox's webhooks match PPRO's webhook document (checked on arrival).
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.mu.Lock()
		n := len(e.webhooks)
		e.mu.Unlock()
		if n >= 5 || time.Now().After(deadline) {
			if n < 5 {
				t.Errorf("%d webhooks received, want at least 5", n)
			}
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func agreementRequest(name string) ppro.AgreementRequest {
	return ppro.AgreementRequest{
		PaymentMethod:          ppro.PaymentMethodAmazonPay,
		Consumer:               ppro.Consumer{Name: name, Country: "US"},
		AuthenticationSettings: []ppro.AuthenticationSetting{ppro.Redirect("https://shop.example/return")},
	}
}

func isStatus(err error, code int) bool {
	var e *ppro.Error
	return errors.As(err, &e) && e.StatusCode == code
}
