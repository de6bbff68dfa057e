package stripesim_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/sandbox"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

const (
	testKey      = "sk_test_sandbox_0123456789abcdefghij"
	testMerchant = "Acme Coffee Club"
	testMandate  = "You authorise Acme Coffee Club to charge your Amazon Pay account 12.00 USD every month until you cancel."
)

// swapHandler lets a test replace the sandbox behind a running server
// (to reopen it on the same database) without racing its goroutines.
type swapHandler struct {
	mu sync.RWMutex
	h  http.Handler
}

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.RLock()
	h := s.h
	s.mu.RUnlock()
	h.ServeHTTP(w, r)
}

func (s *swapHandler) set(h http.Handler) {
	s.mu.Lock()
	s.h = h
	s.mu.Unlock()
}

// env is a sandbox served by its own httptest server (another site than
// any app), with a stripe-go client and a browser-like HTTP client that
// does not follow redirects.
type env struct {
	t       *testing.T
	cfg     sandbox.Config
	sb      *sandbox.Sandbox
	srv     *httptest.Server
	handler *swapHandler
	baseURL string // http://127.0.0.1:port
	public  string // baseURL + "/sandbox"
	api     *client.API
	browser *http.Client
	clock   *clock.Clock
}

func newEnv(t *testing.T, configure ...func(*sandbox.Config)) *env {
	t.Helper()
	h := &swapHandler{}
	srv := httptest.NewUnstartedServer(h)
	e := &env{
		t:       t,
		srv:     srv,
		handler: h,
		baseURL: "http://" + srv.Listener.Addr().String(),
		clock:   clock.Stopped(time.Now().Truncate(time.Second)),
		browser: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	e.public = e.baseURL + "/sandbox"
	e.cfg = sandbox.Config{
		DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL:    e.public,
		MerchantName: testMerchant,
		Stripe:       sandbox.StripeConfig{SecretKey: testKey},
		Now:          e.clock.Now,
	}
	for _, f := range configure {
		f(&e.cfg)
	}
	e.open()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := e.sb.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	e.api = stripeClient(e.baseURL, testKey)
	return e
}

// open (re)creates the sandbox on e.cfg and serves it.
func (e *env) open() {
	e.t.Helper()
	sb, err := sandbox.New(context.Background(), e.cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	e.sb = sb
	e.handler.set(sb)
}

// reopen closes the sandbox and opens a new one on the same database.
// The server must be idle.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.sb.Close(); err != nil {
		e.t.Fatalf("Close: %v", err)
	}
	e.open()
}

func stripeClient(baseURL, key string) *client.API {
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL + "/sandbox/stripe"),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return client.New(key, &stripe.Backends{API: b, Connect: b, Uploads: b})
}

func (e *env) createCustomer(name, email string) *stripe.Customer {
	e.t.Helper()
	c, err := e.api.Customers.New(&stripe.CustomerParams{
		Email:   stripe.String(email),
		Name:    stripe.String(name),
		Address: &stripe.AddressParams{Country: stripe.String("US")},
	})
	if err != nil {
		e.t.Fatalf("create customer: %v", err)
	}
	return c
}

// sessionParams are the parameters the storefront sends.
func sessionParams(customerID string) *stripe.CheckoutSessionParams {
	p := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModeSetup)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card", "amazon_pay"}),
		Customer:           stripe.String(customerID),
		SuccessURL:         stripe.String("http://shop.test/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:          stripe.String("http://shop.test/cancel"),
		ClientReferenceID:  stripe.String("mandate-42"),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{
			Metadata: map[string]string{"mandate_id": "42"},
		},
		CustomText: &stripe.CheckoutSessionCustomTextParams{
			Submit: &stripe.CheckoutSessionCustomTextSubmitParams{Message: stripe.String(testMandate)},
		},
	}
	p.AddMetadata("mandate_id", "42")
	return p
}

func (e *env) createSession(p *stripe.CheckoutSessionParams) *stripe.CheckoutSession {
	e.t.Helper()
	cs, err := e.api.CheckoutSessions.New(p)
	if err != nil {
		e.t.Fatalf("create session: %v", err)
	}
	return cs
}

// newFlow creates a customer and a session as the storefront does.
func (e *env) newFlow() (*stripe.Customer, *stripe.CheckoutSession) {
	e.t.Helper()
	c := e.createCustomer("Ada Lovelace", "ada@example.com")
	return c, e.createSession(sessionParams(c.ID))
}

func (e *env) getSession(id string) *stripe.CheckoutSession {
	e.t.Helper()
	p := &stripe.CheckoutSessionParams{}
	p.AddExpand("setup_intent")
	p.AddExpand("setup_intent.payment_method")
	cs, err := e.api.CheckoutSessions.Get(id, p)
	if err != nil {
		e.t.Fatalf("get session %s: %v", id, err)
	}
	return cs
}

// page is a response from a sandbox page.
type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (e *env) get(path string) page {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, nil)
}

func (e *env) post(path string, form url.Values) page {
	e.t.Helper()
	return e.do(http.MethodPost, path, form, nil)
}

func (e *env) do(method, path string, form url.Values, header http.Header) page {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.baseURL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := e.browser.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(b), location: res.Header.Get("Location")}
}

func checkoutPath(cs *stripe.CheckoutSession) string { return "/sandbox/stripe/checkout/" + cs.ID }

func approvalPath(setupIntentID string) string { return "/sandbox/stripe/amazon-pay/" + setupIntentID }

// chooseAmazonPay posts the Amazon Pay choice on the checkout page and
// returns the approval page's path.
func (e *env) chooseAmazonPay(cs *stripe.CheckoutSession) string {
	e.t.Helper()
	res := e.post(checkoutPath(cs), url.Values{"method": {"amazon_pay"}})
	if got, want := res.status, http.StatusSeeOther; got != want {
		e.t.Fatalf("choose Amazon Pay: status %d, want %d; body:\n%s", got, want, res.body)
	}
	if got, want := res.location, e.public+"/stripe/amazon-pay/"+cs.SetupIntent.ID; got != want {
		e.t.Fatalf("choose Amazon Pay: Location %q, want %q", got, want)
	}
	return approvalPath(cs.SetupIntent.ID)
}

// stripeErr asserts that err is a *stripe.Error and returns it.
func stripeErr(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *stripe.Error", err, err)
	}
	return se
}

func wantStatus(t *testing.T, res page, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.status, want, res.body)
	}
}

func wantBody(t *testing.T, res page, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.body, s) {
			t.Errorf("body lacks %q; body:\n%s", s, res.body)
		}
	}
}
