package service_test

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	_ "modernc.org/sqlite"

	"example.com/storefront/clock"
	"example.com/storefront/handlers"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/sandbox"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// The sandbox's credentials in these tests.
const (
	stripeKey         = "sk_test_service_sandbox"
	pproToken         = "ppro_service_token"
	pproMerchant      = "merch_service"
	adminPassword     = "correct horse battery staple"
	stripeWebhookKey  = "whsec_service_test"
	pproWebhookSecret = "ppro_whsec_service_test"
)

var monthly = payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}

// manualTime is the real time under the demo clock in these tests (the
// service's RealNow, and the clock's base): it stands still until the test
// moves it. Moving the demo clock (h.Clock.Advance) leaves it alone.
type manualTime struct{ ns atomic.Int64 }

func (m *manualTime) Now() time.Time          { return time.Unix(0, m.ns.Load()).UTC() }
func (m *manualTime) Set(t time.Time)         { m.ns.Store(t.UnixNano()) }
func (m *manualTime) Advance(d time.Duration) { m.ns.Add(int64(d)) }

// harness is the storefront wired as main wires it (one clock for the
// store, the sandbox, the service, the pages and the worker), with real
// SQLite files in a temporary directory and the sandbox served on
// loopback. The service under test is the one the pages use; mandates are
// made active through the real setup flow (the shopper's pages and the
// sandbox's approval page). The app's API calls go through a proxy that a
// test can make answer, fail or drop any call (Intercept); Stripe and PPRO
// are clients straight to the sandbox, to read what the provider itself
// holds.
type harness struct {
	t       testing.TB
	URL     string // the app's pages, and the sandbox's under /sandbox/
	Time    *manualTime
	Clock   *clock.Clock
	DBFile  string // the app's database
	SBFile  string // the sandbox's database
	Store   *store.Store
	Service *service.Service
	Worker  *worker.Worker
	Sandbox *sandbox.Sandbox
	// Providers are the app's, as main builds them, calling through the
	// proxy.
	Providers []payments.Provider
	Stripe    *client.API
	PPRO      *ppro.Client

	apiURL    string
	intercept atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	proxy     *httputil.ReverseProxy
}

type harnessConfig struct {
	plan     payments.Plan
	start    time.Time
	webhooks bool
	worker   func(*worker.Config)
}

type option func(*harnessConfig)

// withPlan sets the shop's plan (the price every mandate agrees to).
func withPlan(p payments.Plan) option { return func(c *harnessConfig) { c.plan = p } }

// startingAt sets the clock's first reading.
func startingAt(t time.Time) option { return func(c *harnessConfig) { c.start = t } }

// withWebhooks makes the sandbox deliver signed events to the app, as in
// a deployment with webhook secrets.
func withWebhooks(c *harnessConfig) { c.webhooks = true }

// withWorker adjusts the worker's configuration.
func withWorker(f func(*worker.Config)) option { return func(c *harnessConfig) { c.worker = f } }

func newHarness(t testing.TB, opts ...option) *harness {
	t.Helper()
	cfg := harnessConfig{plan: monthly, start: time.Date(2027, time.March, 10, 9, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	dir := t.TempDir()
	h := &harness{t: t, Time: &manualTime{}, DBFile: filepath.Join(dir, "storefront.db"), SBFile: filepath.Join(dir, "sandbox.db")}
	h.Time.Set(cfg.start)
	h.Clock = clock.New(h.Time.Now)

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h.URL = srv.URL

	sbStripe := sandbox.StripeConfig{SecretKey: stripeKey}
	sbPPRO := sandbox.PPROConfig{APIToken: pproToken, MerchantID: pproMerchant}
	stripeSecret, pproSecret := "", ""
	if cfg.webhooks {
		stripeSecret, pproSecret = stripeWebhookKey, pproWebhookSecret
		sbStripe.WebhookURL, sbStripe.WebhookSecret = srv.URL+"/webhooks/stripe", stripeSecret
		sbPPRO.WebhookURL, sbPPRO.WebhookSecret = srv.URL+"/webhooks/ppro", pproSecret
	}
	sb, err := sandbox.New(ctx, sandbox.Config{
		DBPath: h.SBFile, PublicURL: srv.URL + "/sandbox", MerchantName: "Northwind Coffee",
		Stripe: sbStripe, PPRO: sbPPRO, Now: h.Clock.Now, Logger: testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	h.Sandbox = sb
	mux.Handle("/sandbox/", sb)

	target, _ := url.Parse(srv.URL)
	h.proxy = httputil.NewSingleHostReverseProxy(target)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := h.intercept.Load(); f != nil && (*f)(w, r) {
			return
		}
		h.proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(api.Close)
	h.apiURL = api.URL

	st, err := store.Open(ctx, h.DBFile, h.Clock.Now, store.LeaseClock(h.Time.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.Store = st

	sp, err := stripeprovider.New(stripeprovider.Config{SecretKey: stripeKey, APIURL: h.apiURL + "/sandbox/stripe", Sandbox: true, WebhookSecret: stripeSecret})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := ppro.NewClient(ppro.Config{BaseURL: h.apiURL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant, MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	h.Providers = []payments.Provider{sp, ppro.NewProvider(pc, payments.ModeSandbox, pproSecret)}
	if h.Service, err = service.New(service.Config{Store: st, Providers: h.Providers, Logger: testLogger(), RealNow: h.Time.Now}); err != nil {
		t.Fatal(err)
	}
	wcfg := worker.Config{Store: st, Service: h.Service, Providers: h.Providers, Now: h.Clock.Now, Logger: testLogger()}
	if cfg.worker != nil {
		cfg.worker(&wcfg)
	}
	h.Worker = worker.New(wcfg)

	app, err := handlers.New(handlers.Config{
		Store:         st,
		Service:       h.Service,
		Providers:     h.Providers,
		Admin:         handlers.Admin{Password: adminPassword, Clock: &worker.Demo{Clock: h.Clock, Store: st, Worker: h.Worker}},
		LinkKey:       []byte(strings.Repeat("l", 32)),
		MerchantEmail: "support@northwind.example",
		Now:           h.Clock.Now,
		Sessions:      handlers.NewSessionStore([][]byte{[]byte(strings.Repeat("k", 32))}, false),
		Merchant:      "Northwind Coffee",
		Plan:          cfg.plan,
		Retries:       wcfg.Retries,
		SetupLifetime: time.Hour,
		BaseURL:       srv.URL,
		Logger:        testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", app)

	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(srv.URL + "/sandbox/stripe"), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	h.Stripe = client.New(stripeKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	if h.PPRO, err = ppro.NewClient(ppro.Config{BaseURL: srv.URL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant}); err != nil {
		t.Fatal(err)
	}
	return h
}

// Intercept installs f in front of the app's API calls; f answers a call
// itself by returning true. nil removes it.
func (h *harness) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	if f == nil {
		h.intercept.Store(nil)
		return
	}
	h.intercept.Store(&f)
}

// Forward sends an intercepted call on to the sandbox.
func (h *harness) Forward(w http.ResponseWriter, r *http.Request) { h.proxy.ServeHTTP(w, r) }

// drop closes the connection without an answer: the provider cannot be
// reached.
func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// isCharge reports whether r is the app asking for a payment.
func isCharge(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/sandbox/stripe/v1/payment_intents" ||
		strings.HasPrefix(r.URL.Path, "/sandbox/ppro/v1/payment-agreements/") && strings.HasSuffix(r.URL.Path, "/payment-charges"))
}

// checkoutForm is a valid checkout form for provider, as the home page
// renders it.
func (h *harness) checkoutForm(b *pagetest.Browser, provider, email string, payNow bool) url.Values {
	h.t.Helper()
	home := b.Get(h.URL + "/").Expect(http.StatusOK)
	f := url.Values{
		"name": {"Ada Lovelace"}, "email": {email}, "country": {"US"}, "provider": {provider}, "consent": {"yes"},
		"terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	if payNow {
		f.Set("pay_now", "yes")
	}
	return f
}

// approve presses "approve" on the provider's approval page and follows
// the shopper back to the shop.
func (h *harness) approve(b *pagetest.Browser, id string, approval *pagetest.Page) store.Mandate {
	h.t.Helper()
	back := b.Follow(b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := back.TestIDAttr("outcome", "data-status"); got != "active" {
		h.t.Fatalf("outcome %q after approving: %s", got, back.Text())
	}
	m := h.mandate(id)
	if m.Status != mandate.Active {
		h.t.Fatalf("mandate %s is %s after approving, want active", m.ID, m.Status)
	}
	return m
}

// activeStripe is a Stripe mandate made active through the pages, as a
// shopper makes it.
func (h *harness) activeStripe() store.Mandate {
	h.t.Helper()
	b := pagetest.NewBrowser(h.t)
	resp := b.Post(h.URL+"/create-checkout-session", h.checkoutForm(b, "stripe", "ada@example.com", false)).Expect(http.StatusSeeOther)
	checkout := b.Follow(resp).Expect(http.StatusOK)
	parts := strings.Split(checkout.URL.Path, "/")
	m, err := h.Store.MandateByProviderRef(context.Background(), "stripe", parts[len(parts)-1])
	if err != nil {
		h.t.Fatalf("no mandate for %s: %v", checkout.URL, err)
	}
	approval := b.Follow(b.Do(checkout.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	return h.approve(b, m.ID, approval)
}

// activePPRO is a PPRO mandate made active through the pages, with or
// without the first payment taken with the setup.
func (h *harness) activePPRO(payNow bool) store.Mandate {
	h.t.Helper()
	b := pagetest.NewBrowser(h.t)
	resp := b.Post(h.URL+"/create-checkout-session", h.checkoutForm(b, "ppro", "grace@example.com", payNow)).Expect(http.StatusSeeOther)
	approval := b.Follow(resp).Expect(http.StatusOK)
	parts := strings.Split(approval.URL.Path, "/")
	m, err := h.Store.MandateByProviderRef(context.Background(), "ppro", parts[len(parts)-1])
	if err != nil {
		h.t.Fatalf("no mandate for %s: %v", approval.URL, err)
	}
	return h.approve(b, m.ID, approval)
}

// active is an active mandate of the named provider ("stripe", "ppro"),
// made without a first payment.
func (h *harness) active(provider string) store.Mandate {
	h.t.Helper()
	if provider == "stripe" {
		return h.activeStripe()
	}
	return h.activePPRO(false)
}

func (h *harness) mandate(id string) store.Mandate {
	h.t.Helper()
	m, err := h.Store.Mandate(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) charge(id int64) store.Charge {
	h.t.Helper()
	c, err := h.Store.Charge(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// charges are a mandate's charges, oldest first.
func (h *harness) charges(id string) []store.Charge {
	h.t.Helper()
	cs, err := h.Store.Charges(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return cs
}

func (h *harness) billing(id string) store.Billing {
	h.t.Helper()
	b, err := h.Store.Billing(context.Background(), id)
	if err != nil {
		h.t.Fatalf("billing of %s: %v", id, err)
	}
	return b
}

// pass runs one pass of the worker and fails the test on an error.
func (h *harness) pass() worker.Report {
	h.t.Helper()
	r, err := h.Worker.Pass(context.Background())
	if err != nil {
		h.t.Fatalf("worker pass: %v", err)
	}
	return r
}

// adminBrowser is a browser logged in to the merchant's dashboard.
func (h *harness) adminBrowser() *pagetest.Browser {
	h.t.Helper()
	b := pagetest.NewBrowser(h.t)
	b.Post(h.URL+"/admin/login", url.Values{"password": {adminPassword}, "next": {"/admin"}}).Expect(http.StatusSeeOther)
	return b
}

// sandboxCount runs a COUNT(*) (or any one-integer) query on the sandbox's
// own database: what the provider holds, whatever the app thinks.
func (h *harness) sandboxCount(query string, args ...any) int {
	h.t.Helper()
	var n int
	h.sandboxRow(query, args...).scan(h.t, &n)
	return n
}

// sandboxRow runs a one-row query on the sandbox's own database.
func (h *harness) sandboxRow(query string, args ...any) row {
	h.t.Helper()
	return queryRow(h.t, h.SBFile, query, args...)
}

// appRow runs a one-row query on the app's database file.
func (h *harness) appRow(query string, args ...any) row {
	h.t.Helper()
	return queryRow(h.t, h.DBFile, query, args...)
}

// row is a query's one row, scanned by scan.
type row struct {
	query string
	db    *sql.DB
	args  []any
}

func queryRow(t testing.TB, file, query string, args ...any) row {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	return row{query: query, db: db, args: args}
}

func (r row) scan(t testing.TB, dest ...any) {
	t.Helper()
	defer r.db.Close()
	if err := r.db.QueryRow(r.query, r.args...).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", r.query, err)
	}
}

// stripePayments counts the sandbox's PaymentIntents that carry our
// reference (the charge's idempotency key, in metadata.charge_ref).
func (h *harness) stripePayments(reference string) int {
	h.t.Helper()
	return h.sandboxCount(`SELECT count(*) FROM stripe_payment_intents WHERE json_extract(metadata, '$.charge_ref') = ?`, reference)
}

// pproPayments counts the sandbox's PPRO charges that carry our reference.
func (h *harness) pproPayments(reference string) int {
	h.t.Helper()
	return h.sandboxCount(`SELECT count(*) FROM ppro_charges WHERE merchant_reference = ?`, reference)
}

// payments counts the provider's payments for our reference, whichever
// provider m is with.
func (h *harness) payments(m store.Mandate, reference string) int {
	h.t.Helper()
	if m.Provider == "stripe" {
		return h.stripePayments(reference)
	}
	return h.pproPayments(reference)
}

func testLogger() *slog.Logger {
	if os.Getenv("DEBUG_SERVICE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
