package worker_test

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
	stripeKey     = "sk_test_worker_sandbox"
	pproToken     = "ppro_worker_token"
	pproMerchant  = "merch_worker"
	adminPassword = "correct horse battery staple"
)

var monthly = payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}

// plan is monthly with another price or interval.
func plan(amount int64, interval payments.Interval) payments.Plan {
	p := monthly
	p.Price.Amount, p.Interval = amount, interval
	return p
}

// manualTime is the "real time" under the app's clock in these tests: it
// stands still until the test moves it, so that due dates are exact.
type manualTime struct{ ns atomic.Int64 }

func (m *manualTime) Now() time.Time          { return time.Unix(0, m.ns.Load()).UTC() }
func (m *manualTime) Set(t time.Time)         { m.ns.Store(t.UnixNano()) }
func (m *manualTime) Advance(d time.Duration) { m.ns.Add(int64(d)) }

// harness is the storefront wired as main wires it (one clock for the
// store, the sandbox, the handlers and the worker), with real SQLite files
// in a temporary directory and the sandbox on loopback, but with no
// background loop: a test runs the worker's passes itself, after moving
// the clock. The app's API calls go through a proxy that a test can make
// answer, fail or drop any call (Intercept).
type harness struct {
	t       testing.TB
	URL     string // the app's pages (and, in process, the sandbox's under /sandbox/)
	Time    *manualTime
	Clock   *clock.Clock
	DBFile  string // the app's database
	SBFile  string // the sandbox's database
	Store   *store.Store
	Service *service.Service
	Worker  *worker.Worker
	// Providers are the app's, as main builds them.
	Providers []payments.Provider
	// Stripe and PPRO are clients straight to the sandbox: what the
	// provider itself says, never through the proxy.
	Stripe *client.API
	PPRO   *ppro.Client
	plan   payments.Plan
	// apiURL is where the app's API calls go: the proxy, or the sandbox.
	apiURL     string
	sandboxURL string
	intercept  atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	proxy      *httputil.ReverseProxy
}

type harnessConfig struct {
	plan    payments.Plan
	worker  func(*worker.Config)
	remote  string // a sandbox served elsewhere (its base URL); "" serves one in process
	sbFile  string // with remote: its database file
	noProxy bool   // the app calls the sandbox directly (benchmarks)
	start   time.Time
}

type option func(*harnessConfig)

func withPlan(p payments.Plan) option { return func(c *harnessConfig) { c.plan = p } }

// withWorker adjusts the worker's configuration.
func withWorker(f func(*worker.Config)) option { return func(c *harnessConfig) { c.worker = f } }

// startingAt sets the clock's first reading.
func startingAt(t time.Time) option { return func(c *harnessConfig) { c.start = t } }

// remoteSandbox uses a sandbox served by another process.
func remoteSandbox(url, dbFile string) option {
	return func(c *harnessConfig) { c.remote, c.sbFile, c.noProxy = url, dbFile, true }
}

func newHarness(t testing.TB, opts ...option) *harness {
	t.Helper()
	cfg := harnessConfig{plan: monthly, start: time.Date(2027, time.March, 10, 9, 0, 0, 0, time.UTC)}
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	dir := t.TempDir()
	h := &harness{t: t, Time: &manualTime{}, DBFile: filepath.Join(dir, "storefront.db"), plan: cfg.plan}
	h.Time.Set(cfg.start)
	h.Clock = clock.New(h.Time.Now)

	mux := http.NewServeMux()
	srv := httptest.NewServer(handlers.RequestLog(testLogger(), mux))
	t.Cleanup(srv.Close)
	h.URL = srv.URL

	h.sandboxURL, h.SBFile = cfg.remote, cfg.sbFile
	if cfg.remote == "" {
		h.sandboxURL, h.SBFile = srv.URL, filepath.Join(dir, "sandbox.db")
		sb, err := sandbox.New(ctx, sandbox.Config{
			DBPath:       h.SBFile,
			PublicURL:    srv.URL + "/sandbox",
			MerchantName: "Northwind Coffee",
			Stripe:       sandbox.StripeConfig{SecretKey: stripeKey},
			PPRO:         sandbox.PPROConfig{APIToken: pproToken, MerchantID: pproMerchant},
			Now:          h.Clock.Now,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sb.Close() })
		mux.Handle("/sandbox/", sb)
	}

	h.apiURL = h.sandboxURL
	if !cfg.noProxy {
		target, _ := url.Parse(h.sandboxURL)
		h.proxy = httputil.NewSingleHostReverseProxy(target)
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f := h.intercept.Load(); f != nil && (*f)(w, r) {
				return
			}
			h.proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(api.Close)
		h.apiURL = api.URL
	}

	st, err := store.Open(ctx, h.DBFile, h.Clock.Now, store.LeaseClock(h.Time.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.Store = st
	h.Providers = h.providers(h.apiURL)
	// As main: a mandate that becomes active, by any path, wakes the worker
	// (which matters only to a test that runs Worker.Run).
	var work *worker.Worker
	if h.Service, err = service.New(service.Config{Store: st, Providers: h.Providers, Logger: testLogger(),
		OnActive: func(string) { work.Nudge() }}); err != nil {
		t.Fatal(err)
	}
	wcfg := worker.Config{Store: st, Service: h.Service, Providers: h.Providers, Now: h.Clock.Now, Logger: testLogger()}
	if cfg.worker != nil {
		cfg.worker(&wcfg)
	}
	h.Worker = worker.New(wcfg)
	work = h.Worker

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
		SetupLifetime: time.Hour, // main's default (SETUP_LIFETIME): Stripe's sessions expire after it
		BaseURL:       srv.URL,
		Logger:        testLogger(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", app)

	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(h.sandboxURL + "/sandbox/stripe"), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	h.Stripe = client.New(stripeKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	if h.PPRO, err = ppro.NewClient(ppro.Config{BaseURL: h.sandboxURL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant}); err != nil {
		t.Fatal(err)
	}
	return h
}

// providers are the app's Stripe and PPRO, calling the API at apiURL
// without retries of their own (the worker's retries are under test).
func (h *harness) providers(apiURL string) []payments.Provider {
	h.t.Helper()
	sp, err := stripeprovider.New(stripeprovider.Config{SecretKey: stripeKey, APIURL: apiURL + "/sandbox/stripe", Sandbox: true})
	if err != nil {
		h.t.Fatal(err)
	}
	pc, err := ppro.NewClient(ppro.Config{BaseURL: apiURL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant, MaxRetries: -1})
	if err != nil {
		h.t.Fatal(err)
	}
	return []payments.Provider{sp, ppro.NewProvider(pc, payments.ModeSandbox, "")}
}

// secondProcess is another app process on the same database file: its own
// connection pool, its own providers and service, its own worker (with its
// own name on the leases).
func (h *harness) secondProcess(cfg func(*worker.Config)) (*worker.Worker, *store.Store) {
	h.t.Helper()
	st, err := store.Open(context.Background(), h.DBFile, h.Clock.Now, store.LeaseClock(h.Time.Now))
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { st.Close() })
	providers := h.providers(h.apiURL)
	svc, err := service.New(service.Config{Store: st, Providers: providers, Logger: testLogger()})
	if err != nil {
		h.t.Fatal(err)
	}
	wcfg := worker.Config{Store: st, Service: svc, Providers: providers, Now: h.Clock.Now, Logger: testLogger()}
	if cfg != nil {
		cfg(&wcfg)
	}
	return worker.New(wcfg), st
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

// pass runs one pass of the worker and fails the test on an error.
func (h *harness) pass() worker.Report {
	h.t.Helper()
	r, err := h.Worker.Pass(context.Background())
	if err != nil {
		h.t.Fatalf("worker pass: %v", err)
	}
	return r
}

// form is a valid checkout form for provider, as the home page renders it.
func (h *harness) form(b *pagetest.Browser, provider, email string, payNow bool) url.Values {
	h.t.Helper()
	home := b.Get(h.URL + "/").Expect(http.StatusOK)
	f := url.Values{
		"name":          {"Ada Lovelace"},
		"email":         {email},
		"country":       {"US"},
		"provider":      {provider},
		"consent":       {"yes"},
		"terms_version": {home.InputValue("terms_version")},
		"terms_sha256":  {home.InputValue("terms_sha256")},
	}
	if payNow {
		f.Set("pay_now", "yes")
	}
	return f
}

// stripeApproval starts a Stripe setup through the pages and returns the
// mandate and Amazon Pay's approval page.
func (h *harness) stripeApproval(b *pagetest.Browser) (store.Mandate, *pagetest.Page) {
	h.t.Helper()
	resp := b.Post(h.URL+"/create-checkout-session", h.form(b, "stripe", "ada@example.com", false)).Expect(http.StatusSeeOther)
	checkout := b.Follow(resp).Expect(http.StatusOK)
	parts := strings.Split(checkout.URL.Path, "/")
	m, err := h.Store.MandateByProviderRef(context.Background(), "stripe", parts[len(parts)-1])
	if err != nil {
		h.t.Fatalf("no mandate for %s: %v", checkout.URL, err)
	}
	approval := b.Follow(b.Do(checkout.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	return m, approval
}

// pproApproval starts a PPRO setup through the pages and returns the
// mandate and Amazon Pay's approval page.
func (h *harness) pproApproval(b *pagetest.Browser, payNow bool) (store.Mandate, *pagetest.Page) {
	h.t.Helper()
	resp := b.Post(h.URL+"/create-checkout-session", h.form(b, "ppro", "grace@example.com", payNow)).Expect(http.StatusSeeOther)
	approval := b.Follow(resp).Expect(http.StatusOK)
	parts := strings.Split(approval.URL.Path, "/")
	m, err := h.Store.MandateByProviderRef(context.Background(), "ppro", parts[len(parts)-1])
	if err != nil {
		h.t.Fatalf("no mandate for %s: %v", approval.URL, err)
	}
	return m, approval
}

// approve presses "approve" and follows the shopper back to the shop.
func (h *harness) approve(b *pagetest.Browser, m store.Mandate, approval *pagetest.Page) store.Mandate {
	h.t.Helper()
	back := b.Follow(b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := back.TestIDAttr("outcome", "data-status"); got != "active" {
		h.t.Fatalf("outcome %q after approving: %s", got, back.Text())
	}
	return h.mandate(m.ID)
}

// activeStripe is a Stripe mandate made active through the pages, as a
// shopper makes it.
func (h *harness) activeStripe() store.Mandate {
	h.t.Helper()
	b := pagetest.NewBrowser(h.t)
	m, approval := h.stripeApproval(b)
	return h.approve(b, m, approval)
}

// activePPRO is a PPRO mandate made active through the pages, with or
// without the first payment taken with the setup.
func (h *harness) activePPRO(payNow bool) store.Mandate {
	h.t.Helper()
	b := pagetest.NewBrowser(h.t)
	m, approval := h.pproApproval(b, payNow)
	return h.approve(b, m, approval)
}

func (h *harness) mandate(id string) store.Mandate {
	h.t.Helper()
	m, err := h.Store.Mandate(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *harness) billing(id string) store.Billing {
	h.t.Helper()
	b, err := h.Store.Billing(context.Background(), id)
	if err != nil {
		h.t.Fatalf("billing of %s: %v", id, err)
	}
	return b
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

// adminBrowser is a browser logged in to the merchant's dashboard.
func (h *harness) adminBrowser() *pagetest.Browser {
	h.t.Helper()
	b := pagetest.NewBrowser(h.t)
	b.Post(h.URL+"/admin/login", url.Values{"password": {adminPassword}, "next": {"/admin"}}).Expect(http.StatusSeeOther)
	return b
}

// sandboxCount runs a COUNT(*) query on the sandbox's own database: what
// the provider holds, whatever the app thinks.
func (h *harness) sandboxCount(query string, args ...any) int {
	h.t.Helper()
	return countIn(h.t, h.SBFile, query, args...)
}

// appCount runs a COUNT(*) query on the app's database file.
func (h *harness) appCount(query string, args ...any) int {
	h.t.Helper()
	return countIn(h.t, h.DBFile, query, args...)
}

func countIn(t testing.TB, file, query string, args ...any) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+file+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
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

// scheduled is a mandate's scheduled charges for period n, by attempt.
func scheduled(cs []store.Charge, n int) []store.Charge {
	var out []store.Charge
	for _, c := range cs {
		if c.Period == n {
			out = append(out, c)
		}
	}
	return out
}

func mustActive(t testing.TB, m store.Mandate) {
	t.Helper()
	if m.Status != mandate.Active {
		t.Fatalf("mandate %s is %s, want active", m.ID, m.Status)
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("DEBUG_WORKER") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
