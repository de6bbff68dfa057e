package ppro

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// flaky is a test server that answers each request with the next of its
// scripted answers; it records what it received.
type flaky struct {
	mu       sync.Mutex
	answers  []func(w http.ResponseWriter)
	requests []*http.Request
	bodies   []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.bodies = append(f.bodies, string(body))
	n := len(f.requests) - 1
	f.mu.Unlock()
	if n < len(f.answers) {
		f.answers[n](w)
		return
	}
	w.WriteHeader(http.StatusTeapot)
}

func status(code int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

func hangUp(w http.ResponseWriter) {
	conn, _, _ := w.(http.Hijacker).Hijack()
	conn.Close()
}

const agreementJSON = `{"id":"agr_kldVsUfaTdcCIpT8bBIWo","status":"AUTHENTICATION_PENDING","paymentMethod":"AMAZON_PAY",
 "startDate":"2025-04-15T16:20:13.302Z","instrumentId":"instr_gQHo8F6xz3kOegCiaimw0",
 "consumer":{"name":"John Smith","country":"US"},"somethingNew":{"a":1},
 "authenticationMethods":[{"details":{"requestUrl":"https://redirection-target.ppro.com","requestMethod":"GET"},"type":"REDIRECT"}],
 "history":[{"id":"ahist_mEs8D2aCSaoSgtex0gzWx","status":"AUTHENTICATION_PENDING","createdAt":"2025-04-15T16:20:13.951Z"}],
 "initialPaymentChargeId":"charge_QQu5vY0HQYKIvsa7OO6Hx",
 "createdAt":"2025-04-15T16:20:13.951Z","updatedAt":"2025-04-15T16:20:13.951Z"}`

func newTestClient(t *testing.T, f *flaky) *Client {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := NewClient(Config{BaseURL: srv.URL + "/", Token: "key_sandbox_x", MerchantID: "merch_1",
		Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetriesWithTheSameKey(t *testing.T) {
	f := &flaky{answers: []func(http.ResponseWriter){
		hangUp,
		status(http.StatusTooManyRequests, `{"status":429,"failureMessage":"Too many requests"}`),
		status(http.StatusGatewayTimeout, `{"status":504,"failureMessage":"Call to the upstream dependency timed out."}`),
		status(http.StatusOK, agreementJSON),
	}}
	c := newTestClient(t, f)
	a, err := c.CreateAgreement(context.Background(), AgreementRequest{
		PaymentMethod: PaymentMethodAmazonPay, Consumer: Consumer{Name: "John Smith", Country: "US"},
		AuthenticationSettings: []AuthenticationSetting{Redirect("https://shop.example/return?mandate=md_1")},
		InitialPaymentCharge:   &PaymentCharge{Amount: Money{Value: 1000, Currency: "USD"}},
	}, "mandate/md_1/agreement")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "agr_kldVsUfaTdcCIpT8bBIWo" || a.Status != AgreementAuthenticationPending || a.InitialPaymentChargeID == "" ||
		a.CreatedAt.IsZero() || len(a.History) != 1 {
		t.Fatalf("agreement = %+v", a)
	}
	if m, ok := a.RedirectMethod(); !ok || m.Details.RequestURL != "https://redirection-target.ppro.com" || m.Details.RequestMethod != "GET" {
		t.Errorf("redirect method = %+v, %v", m, ok)
	}
	if len(f.requests) != 4 {
		t.Fatalf("%d attempts, want 4", len(f.requests))
	}
	key := IdempotencyKey("mandate/md_1/agreement")
	for i, r := range f.requests {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/payment-agreements" ||
			r.Header.Get("Authorization") != "Bearer key_sandbox_x" || r.Header.Get("Merchant-Id") != "merch_1" ||
			r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Request-Idempotency-Key") != key {
			t.Errorf("attempt %d: %s %s %v", i, r.Method, r.URL.Path, r.Header)
		}
		if f.bodies[i] != f.bodies[0] {
			t.Errorf("attempt %d sent another body", i)
		}
	}
	var sent map[string]any
	json.Unmarshal([]byte(f.bodies[0]), &sent)
	if sent["paymentMethod"] != "AMAZON_PAY" || sent["initialPaymentCharge"] == nil || sent["webhooksUrl"] != nil {
		t.Errorf("body = %s", f.bodies[0])
	}
}

func TestGivesUpAfterMaxRetries(t *testing.T) {
	f := &flaky{}
	for range 10 {
		f.answers = append(f.answers, status(http.StatusServiceUnavailable, `{"status":503,"failureMessage":"down"}`))
	}
	c := newTestClient(t, f)
	_, err := c.GetAgreement(context.Background(), "agr_1")
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 503 || e.Message != "down" || !e.Temporary() {
		t.Fatalf("err = %v", err)
	}
	if len(f.requests) != 4 {
		t.Errorf("%d attempts, want 1 + 3 retries", len(f.requests))
	}
	if got := f.requests[0].Header.Get("Request-Idempotency-Key"); got != "" {
		t.Errorf("a GET sent an idempotency key %q", got)
	}
}

// A 409 means the first request with the same key is still in flight at
// PPRO: the client backs off and tries again with the same key, and the
// answer is the one agreement.
func TestRetriesAConflictWithTheSameKey(t *testing.T) {
	f := &flaky{answers: []func(http.ResponseWriter){
		status(409, `{"status":409,"failureMessage":"A request with this idempotency key is in progress"}`),
		status(200, `{"id":"agr_aaaaaaaaaaaaaaaaaaaaa","status":"AUTHENTICATION_PENDING"}`),
	}}
	c := newTestClient(t, f)
	a, err := c.CreateAgreement(context.Background(), AgreementRequest{PaymentMethod: PaymentMethodAmazonPay}, "mandate/md_1/agreement")
	if err != nil || a.ID != "agr_aaaaaaaaaaaaaaaaaaaaa" {
		t.Fatalf("agreement %+v, %v", a, err)
	}
	if len(f.requests) != 2 {
		t.Fatalf("%d attempts, want 2", len(f.requests))
	}
	k1, k2 := f.requests[0].Header.Get("Request-Idempotency-Key"), f.requests[1].Header.Get("Request-Idempotency-Key")
	if k1 == "" || k1 != k2 {
		t.Errorf("keys %q and %q, want the same", k1, k2)
	}
}

func TestDoesNotRetryClientErrors(t *testing.T) {
	for _, tc := range []struct {
		code int
		body string
		msg  string
	}{
		{400, `{"status":400,"failureMessage":"consumer.country is required","timestamp":"2025-02-17T21:18:20.003Z"}`, "consumer.country is required"},
		{401, `{"message":"Unauthorized"}`, "Unauthorized"},
		{404, `{"status":404,"failureMessage":"Payment agreement not found"}`, "Payment agreement not found"},
		{400, `not json`, ""},
	} {
		f := &flaky{answers: []func(http.ResponseWriter){status(tc.code, tc.body)}}
		c := newTestClient(t, f)
		_, err := c.CreateAgreementCharge(context.Background(), "agr_1", ChargeRequest{Amount: Money{Value: 1200, Currency: "USD"}}, "charge/1")
		var e *Error
		if !errors.As(err, &e) || e.StatusCode != tc.code || e.Message != tc.msg || e.Temporary() {
			t.Errorf("%d: err = %#v", tc.code, err)
		}
		if len(f.requests) != 1 {
			t.Errorf("%d: %d attempts, want 1", tc.code, len(f.requests))
		}
		if !strings.Contains(err.Error(), "create agreement charge") {
			t.Errorf("error %q does not say what failed", err)
		}
	}
}

func TestContextEndsRetries(t *testing.T) {
	f := &flaky{answers: []func(http.ResponseWriter){status(500, `{}`), status(500, `{}`), status(500, `{}`), status(500, `{}`)}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	c, _ := NewClient(Config{BaseURL: srv.URL, Token: "t", MerchantID: "m", Backoff: func(int) time.Duration { return time.Hour }})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetCharge(ctx, "charge_1")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
}

func TestIdempotencyKeyIsAStableUUID(t *testing.T) {
	a, b := IdempotencyKey("mandate/md_1/agreement"), IdempotencyKey("mandate/md_1/agreement")
	if a != b || a == IdempotencyKey("mandate/md_2/agreement") {
		t.Fatalf("keys %s %s", a, b)
	}
	if len(a) != 36 || a[8] != '-' || a[14] != '8' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Errorf("%s is not a version-8 UUID", a)
	}
	f := &flaky{}
	c := newTestClient(t, f)
	if _, err := c.RevokeAgreement(context.Background(), "agr_1", ""); err == nil || len(f.requests) != 0 {
		t.Error("a POST without an idempotency key was sent")
	}
}

func TestNewClientChecksConfig(t *testing.T) {
	for _, cfg := range []Config{
		{BaseURL: "api.ppro.com", Token: "t", MerchantID: "m"},
		{BaseURL: SandboxURL, MerchantID: "m"},
		{BaseURL: SandboxURL, Token: "t"},
	} {
		if _, err := NewClient(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}
