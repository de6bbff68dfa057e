package stripeprovider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

// stripeMock starts Stripe's official API mock on free loopback ports and
// returns its HTTP base URL. stripe-mock validates every request against
// Stripe's OpenAPI spec, so these tests prove the calls we make are ones
// Stripe accepts. Without the binary the test skips, except in CI.
func stripeMock(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("stripe-mock")
	if err != nil {
		if out, gerr := exec.Command("go", "env", "GOPATH").Output(); gerr == nil {
			candidate := filepath.Join(strings.TrimSpace(string(out)), "bin", "stripe-mock")
			if _, serr := os.Stat(candidate); serr == nil {
				bin, err = candidate, nil
			}
		}
	}
	if err != nil {
		msg := "stripe-mock not found: install it with go install github.com/stripe/stripe-mock@v0.203.0"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	// Both addresses explicitly: -http-addr alone still opens HTTPS on
	// :12112 on every interface.
	cmd := exec.CommandContext(ctx, bin, "-http-addr", httpAddr, "-https-addr", httpsAddr)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start stripe-mock: %v", err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", httpAddr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return "http://" + httpAddr
		}
		if time.Now().After(deadline) {
			t.Fatalf("stripe-mock did not listen on %s: %v\n%s", httpAddr, err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Every Stripe call the app makes, sent to stripe-mock.
func TestContractWithStripeMock(t *testing.T) {
	// A recording proxy in front of the mock, to prove each call was made
	// and accepted.
	target, _ := url.Parse(stripeMock(t))
	proxy := httputil.NewSingleHostReverseProxy(target)
	// stripe-mock answers with fixtures. Its PaymentMethod is on no
	// Customer, which MandateStatus rightly reads as detached; the one the
	// contract test retrieves is given the Customer an attached one has, so
	// that MandateStatus goes on to retrieve the Mandate as it does for real.
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodGet || resp.Request.URL.Path != "/v1/payment_methods/pm_contract_attached" || resp.StatusCode != http.StatusOK {
			return nil
		}
		var pm map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&pm); err != nil {
			return err
		}
		resp.Body.Close()
		pm["id"], pm["customer"], pm["type"] = "pm_contract_attached", "cus_contract", "amazon_pay"
		body, err := json.Marshal(pm)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	var mu sync.Mutex
	var calls []string
	bodies := map[string]url.Values{} // the last form POSTed to each path
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			bodies[r.URL.Path] = form
			mu.Unlock()
		}
		sw := &statusWriter{ResponseWriter: w}
		proxy.ServeHTTP(sw, r)
		mu.Lock()
		calls = append(calls, fmt.Sprintf("%s %s?%s %d", r.Method, r.URL.Path, r.URL.RawQuery, sw.status))
		mu.Unlock()
	}))
	defer rec.Close()
	p, err := New(Config{SecretKey: "sk_test_123", APIURL: rec.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := payments.SetupRequest{
		MandateID:      "md_contract",
		Customer:       payments.Customer{Name: "Ada Lovelace", Email: "ada@example.com", Country: "US"},
		Terms:          "I authorise Northwind Coffee to charge 12.00 USD every month for Coffee Club …",
		ReturnURL:      "http://localhost:8080/success?session_id={CHECKOUT_SESSION_ID}",
		CancelURL:      "http://localhost:8080/cancel?mandate=md_contract",
		IdempotencyKey: "mandate/md_contract",
	}

	t.Run("new customer and checkout session", func(t *testing.T) {
		setup, err := p.BeginSetup(ctx, req)
		if err != nil {
			t.Fatalf("BeginSetup: %v", err)
		}
		if setup.Ref == "" || setup.CustomerRef == "" || setup.Redirect.URL == "" {
			t.Errorf("setup = %+v", setup)
		}
	})
	t.Run("known customer", func(t *testing.T) {
		known := req
		known.Customer.Ref = "cus_known"
		if _, err := p.BeginSetup(ctx, known); err != nil {
			t.Fatalf("BeginSetup with a known customer: %v", err)
		}
	})
	t.Run("status with expansions", func(t *testing.T) {
		res, err := p.SetupStatus(ctx, "cs_test_contract")
		if err != nil {
			t.Fatalf("SetupStatus: %v", err)
		}
		if res.ProviderStatus == "" {
			t.Errorf("result = %+v", res)
		}
	})
	t.Run("cancel expires an open session", func(t *testing.T) {
		if _, err := p.CancelSetup(ctx, "cs_test_contract", "mandate/md_contract/cancel"); err != nil {
			t.Fatalf("CancelSetup: %v", err)
		}
	})

	// The merchant's side: charge a mandate off-session, fetch the charge,
	// find it by our reference, refund it, fetch the refund, check and
	// revoke the mandate, and the account check at start-up.
	mandateRef := payments.MandateRef{MandateID: "md_contract", SetupRef: "cs_test_contract", Handle: "pm_contract_attached",
		HandleType: "amazon_pay", CustomerRef: "cus_contract", ProviderMandateRef: "mandate_contract"}
	t.Run("charge off-session", func(t *testing.T) {
		res, err := p.Charge(ctx, payments.ChargeRequest{Mandate: mandateRef, Amount: payments.Money{Amount: 1200, Currency: "USD"},
			Reference: "mandate/md_contract/charge/1", Description: "Coffee Club", IdempotencyKey: "mandate/md_contract/charge/1"})
		if err != nil {
			t.Fatalf("Charge: %v", err)
		}
		if res.Ref == "" || res.ProviderStatus == "" {
			t.Errorf("result = %+v", res)
		}
		mu.Lock()
		form := bodies["/v1/payment_intents"]
		mu.Unlock()
		for k, v := range map[string]string{"off_session": "true", "confirm": "true", "payment_method_types[0]": "amazon_pay",
			"customer": "cus_contract", "payment_method": "pm_contract_attached", "amount": "1200", "currency": "usd",
			"metadata[charge_ref]": "mandate/md_contract/charge/1"} {
			if got := form.Get(k); got != v {
				t.Errorf("PaymentIntent created with %s=%q, want %q", k, got, v)
			}
		}
	})
	t.Run("charge status", func(t *testing.T) {
		if res, err := p.ChargeStatus(ctx, "pi_contract"); err != nil || res.Ref == "" {
			t.Fatalf("ChargeStatus: %+v, %v", res, err)
		}
	})
	t.Run("find a charge by reference", func(t *testing.T) {
		if _, _, err := p.FindCharge(ctx, mandateRef, "mandate/md_contract/charge/1"); err != nil {
			t.Fatalf("FindCharge: %v", err)
		}
	})
	t.Run("refund", func(t *testing.T) {
		res, err := p.Refund(ctx, payments.RefundRequest{ChargeRef: "pi_contract", Amount: payments.Money{Amount: 500, Currency: "USD"},
			Reference: "mandate/md_contract/charge/1/refund/1", IdempotencyKey: "mandate/md_contract/charge/1/refund/1"})
		if err != nil || res.Ref == "" {
			t.Fatalf("Refund: %+v, %v", res, err)
		}
	})
	t.Run("find refund", func(t *testing.T) {
		// stripe-mock answers a list with a fixture whose metadata is not
		// ours: the request is what is checked, and "not found" is right.
		if _, found, err := p.FindRefund(ctx, "pi_contract", "mandate/md_contract/charge/1/refund/1"); err != nil || found {
			t.Fatalf("FindRefund: %v, %v", found, err)
		}
	})
	t.Run("refund status", func(t *testing.T) {
		if res, err := p.RefundStatus(ctx, "pi_contract", "re_contract"); err != nil || res.Ref == "" {
			t.Fatalf("RefundStatus: %+v, %v", res, err)
		}
	})
	t.Run("disputes of a payment", func(t *testing.T) {
		ds, err := p.Disputes(ctx, "pi_contract")
		if err != nil || len(ds) == 0 || ds[0].Ref == "" || ds[0].State.Rank() < 0 {
			t.Fatalf("Disputes: %+v, %v", ds, err)
		}
	})
	t.Run("mandate status", func(t *testing.T) {
		res, err := p.MandateStatus(ctx, mandateRef)
		if err != nil {
			t.Fatalf("MandateStatus: %v", err)
		}
		if !strings.Contains(res.ProviderStatus, "mandate") {
			t.Errorf("the mandate was not consulted: %+v", res)
		}
	})
	t.Run("revoke detaches", func(t *testing.T) {
		res, err := p.Revoke(ctx, mandateRef, "mandate/md_contract/revoke")
		if err != nil || res.State != payments.SetupRevoked {
			t.Fatalf("Revoke: %+v, %v", res, err)
		}
	})
	t.Run("account", func(t *testing.T) {
		if err := p.CheckAccount(payments.Money{Amount: 1200, Currency: "USD"}); err != nil {
			t.Fatalf("CheckAccount: %v", err)
		}
	})

	want := []string{
		"POST /v1/customers? 200",
		"POST /v1/checkout/sessions? 200",
		"GET /v1/checkout/sessions/cs_test_contract?expand[0]=setup_intent&expand[1]=setup_intent.payment_method 200",
		"POST /v1/checkout/sessions/cs_test_contract/expire? 200",
		"POST /v1/payment_intents? 200",
		"GET /v1/payment_intents/pi_contract?expand[0]=latest_charge 200",
		"GET /v1/payment_intents?limit=100&customer=cus_contract&expand[0]=data.latest_charge 200",
		"POST /v1/refunds? 200",
		"GET /v1/refunds/re_contract? 200",
		"GET /v1/disputes?limit=100&payment_intent=pi_contract 200",
		"GET /v1/payment_methods/pm_contract_attached? 200",
		"GET /v1/mandates/mandate_contract? 200",
		"POST /v1/payment_methods/pm_contract_attached/detach? 200",
		"GET /v1/account? 200",
	}
	mu.Lock()
	seen := strings.Join(calls, "\n")
	mu.Unlock()
	for _, w := range want {
		if !strings.Contains(seen, w) {
			t.Errorf("stripe-mock did not accept %q; calls:\n%s", w, seen)
		}
	}

	// The mock really validates: a parameter Stripe does not know is refused,
	// and our error mapping says so.
	t.Run("the mock rejects what Stripe would", func(t *testing.T) {
		params := &stripe.CustomerParams{}
		params.AddExtra("no_such_parameter", "x")
		_, err := p.api.Customers.New(params)
		var pe *payments.Error
		if !errors.As(wrap("create customer", err), &pe) || pe.Kind != payments.ErrRejected || pe.StatusCode != 400 {
			t.Fatalf("unknown parameter: %v", fmt.Sprint(err))
		}
	})
}
