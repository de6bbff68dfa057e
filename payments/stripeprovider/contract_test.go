package stripeprovider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
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
	var mu sync.Mutex
	var calls []string
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	want := []string{
		"POST /v1/customers? 200",
		"POST /v1/checkout/sessions? 200",
		"GET /v1/checkout/sessions/cs_test_contract?expand[0]=setup_intent&expand[1]=setup_intent.payment_method 200",
		"POST /v1/checkout/sessions/cs_test_contract/expire? 200",
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
