package handlers_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/storefront/clock"
	"example.com/storefront/compressed"
	"example.com/storefront/handlers"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/sandbox"
	"example.com/storefront/service"
	"example.com/storefront/sqlitedb"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

const (
	sandboxKey   = "sk_test_handlers_sandbox"
	pproToken    = "ppro_handlers_token"
	pproMerchant = "merch_handlers"
)

var testPlan = payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}

// env is the storefront wired as `go run .` wires it: the app and the
// sandbox behind one loopback server, with real SQLite files. The app's
// Stripe calls go through a proxy that a test can switch to failing, to see
// what the shopper and the mandate record get when Stripe is down.
type env struct {
	t      testing.TB
	URL    string
	Store  *store.Store
	DBFile string
	// SandboxDBFile is the sandbox's database.
	SandboxDBFile string
	Stripe        *client.API  // the sandbox's API, to check what Stripe would say
	PPRO          *ppro.Client // and what PPRO would
	Service       *service.Service
	Worker        *worker.Worker
	// Log is the app's logger (see testLogger).
	Log   *slog.Logger
	Clock *clock.Clock
	// Real is the real time leases and idempotency keys' lives are
	// measured on: time.Now unless a test moves it on (Real.Advance), to
	// let a lease or a backoff pass without waiting for it.
	Real   *clock.Clock
	proxy  *httputil.ReverseProxy
	outage atomic.Int32
	// intercept, when set, sees every API call the app makes to the
	// sandbox before it is forwarded, and answers it itself by returning
	// true (a targeted outage, a 409, a slow answer).
	intercept atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	server    *httptest.Server
	sandbox   *sandbox.Sandbox
	// AppCounts and SandboxCounts count the statements and transactions
	// each database runs (benchmarks: reportCounts).
	AppCounts, SandboxCounts sqlitedb.Counts
}

// Outage modes for the proxy in front of the sandbox's API: up, the
// connection dropped, or an HTTP status answered in the provider's own
// error format.
const (
	upstreamUp   = 0
	upstreamDown = -1
	upstream400  = http.StatusBadRequest
	upstream500  = http.StatusInternalServerError
	upstream504  = http.StatusGatewayTimeout
)

// webhookSecret signs the sandbox's deliveries when an env has webhooks.
const (
	adminPassword     = "correct horse battery staple"
	webhookSecret     = "whsec_handlers_test"
	pproWebhookSecret = "ppro_whsec_handlers_test"
)

type envOption func(*envConfig)

type envConfig struct {
	webhooks, direct bool
	pproMethod       string // the sandbox's REDIRECT requestMethod: "" (GET) or "POST"
	plan             *payments.Plan
	pproRetries      int           // the app's PPRO client's retries (default none)
	fetchLimit       time.Duration // service.Config.FetchLimit (default 1 ms)
}

// Intercept installs f in front of the app's API calls to the sandbox (see
// env.intercept); nil removes it.
func (e *env) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	if f == nil {
		e.intercept.Store(nil)
		return
	}
	e.intercept.Store(&f)
}

// Forward sends an intercepted call on to the sandbox as usual.
func (e *env) Forward(w http.ResponseWriter, r *http.Request) {
	e.proxy.ServeHTTP(w, r)
}

// withPPROPost makes PPRO ask for a POST redirect.
func withPPROPost(c *envConfig) { c.pproMethod = http.MethodPost }

// withPlan prices the plan differently.
func withPlan(p payments.Plan) envOption { return func(c *envConfig) { c.plan = &p } }

// withPPRORetries lets the app's PPRO client retry n times, at once.
func withPPRORetries(n int) envOption { return func(c *envConfig) { c.pproRetries = n } }

// withFetchLimit sets how often webhooks may make the app fetch one object.
func withFetchLimit(d time.Duration) envOption { return func(c *envConfig) { c.fetchLimit = d } }

// withWebhooks makes the sandbox deliver signed events to the app, racing
// the return page as the real Stripe does.
func withWebhooks(c *envConfig) { c.webhooks = true }

// direct points the app's Stripe calls straight at the sandbox, without the
// outage proxy, as `go run .` does (for benchmarks).
func direct(c *envConfig) { c.direct = true }

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	var cfg envConfig
	for _, o := range opts {
		o(&cfg)
	}
	ctx := context.Background()
	dir := t.TempDir()
	e := &env{t: t, DBFile: filepath.Join(dir, "storefront.db"), SandboxDBFile: filepath.Join(dir, "sandbox.db"),
		Clock: clock.New(nil), Real: clock.New(nil)}

	mux := http.NewServeMux()
	e.Log = testLogger(t)
	e.server = httptest.NewServer(handlers.RequestLog(e.Log, compressed.Handler(mux)))
	t.Cleanup(e.server.Close)
	e.URL = e.server.URL

	sbStripe := sandbox.StripeConfig{SecretKey: sandboxKey}
	sbPPRO := sandbox.PPROConfig{APIToken: pproToken, MerchantID: pproMerchant, RedirectMethod: cfg.pproMethod}
	if cfg.webhooks {
		sbStripe.WebhookURL, sbStripe.WebhookSecret = e.URL+"/webhooks/stripe", webhookSecret
		sbPPRO.WebhookURL, sbPPRO.WebhookSecret = e.URL+"/webhooks/ppro", pproWebhookSecret
	}
	sb, err := sandbox.New(ctx, sandbox.Config{
		DBPath:       e.SandboxDBFile,
		PublicURL:    e.URL + "/sandbox",
		MerchantName: "Northwind Coffee",
		Stripe:       sbStripe,
		PPRO:         sbPPRO,
		Now:          e.Clock.Now,
		DBCounts:     &e.SandboxCounts,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	e.sandbox = sb

	// The proxy the app's API calls go through.
	target, _ := url.Parse(e.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	e.proxy = proxy
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f := e.intercept.Load(); f != nil && (*f)(w, r) {
			return
		}
		switch code := int(e.outage.Load()); code {
		case upstreamUp:
			proxy.ServeHTTP(w, r)
		case upstreamDown:
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			if strings.HasPrefix(r.URL.Path, "/sandbox/ppro/") {
				fmt.Fprintf(w, `{"status":%d,"failureMessage":"Simulated outage","timestamp":"2026-11-23T00:00:00.000Z"}`, code)
			} else {
				typ := "api_error"
				if code < 500 {
					typ = "invalid_request_error"
				}
				fmt.Fprintf(w, `{"error":{"type":%q,"message":"Simulated outage"}}`, typ)
			}
		}
	}))
	t.Cleanup(api.Close)

	st, err := store.Open(ctx, e.DBFile, e.Clock.Now, store.LeaseClock(e.Real.Now), store.Counted(&e.AppCounts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.Store = st

	apiURL := api.URL
	if cfg.direct {
		apiURL = e.URL
	}
	p, err := stripeprovider.New(stripeprovider.Config{
		SecretKey: sandboxKey, APIURL: apiURL + "/sandbox/stripe", Sandbox: true, WebhookSecret: webhookSecret,
	})
	if err != nil {
		t.Fatal(err)
	}
	pproRetries := -1
	if cfg.pproRetries > 0 {
		pproRetries = cfg.pproRetries
	}
	pproClient, err := ppro.NewClient(ppro.Config{BaseURL: apiURL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant,
		MaxRetries: pproRetries, Backoff: func(int) time.Duration { return time.Millisecond }})
	if err != nil {
		t.Fatal(err)
	}
	plan := testPlan
	if cfg.plan != nil {
		plan = *cfg.plan
	}
	providers := []payments.Provider{p, ppro.NewProvider(pproClient, payments.ModeSandbox, pproWebhookSecret)}
	fetchLimit := time.Millisecond
	if cfg.fetchLimit > 0 {
		fetchLimit = cfg.fetchLimit
	}
	// As main: a mandate that becomes active, by any path, wakes the worker.
	var work *worker.Worker
	svc, err := service.New(service.Config{Store: st, Providers: providers, Logger: e.Log, FetchLimit: fetchLimit,
		OnActive: func(string) { work.Nudge() }})
	if err != nil {
		t.Fatal(err)
	}
	e.Service = svc
	work = worker.New(worker.Config{Store: st, Service: svc, Providers: providers, Now: e.Clock.Now, Logger: e.Log})
	e.Worker = work
	workCtx, stopWork := context.WithCancel(context.Background())
	workDone := make(chan struct{})
	go func() { defer close(workDone); e.Worker.Run(workCtx) }()
	t.Cleanup(func() { stopWork(); <-workDone })
	app, err := handlers.New(handlers.Config{
		Store:         st,
		Service:       svc,
		Providers:     providers,
		ProcessLater:  e.Worker.Nudge,
		RetryNow:      e.Worker.RetryNow,
		Admin:         handlers.Admin{Password: adminPassword},
		LinkKey:       []byte(strings.Repeat("l", 32)),
		MerchantEmail: "support@northwind.example",
		Now:           e.Clock.Now,
		Sessions:      handlers.NewSessionStore([][]byte{[]byte(strings.Repeat("k", 32))}, false),
		Merchant:      "Northwind Coffee",
		Plan:          plan,
		BaseURL:       e.URL,
		Logger:        e.Log,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/sandbox/", sb)
	mux.Handle("/", app)

	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(e.URL + "/sandbox/stripe"), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	e.Stripe = client.New(sandboxKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	if e.PPRO, err = ppro.NewClient(ppro.Config{BaseURL: e.URL + "/sandbox/ppro", Token: pproToken, MerchantID: pproMerchant}); err != nil {
		t.Fatal(err)
	}
	return e
}

// validForm is a complete, valid checkout form as the home page renders it.
func (e *env) validForm(b *pagetest.Browser) url.Values {
	e.t.Helper()
	home := b.Get(e.URL + "/").Expect(http.StatusOK)
	return url.Values{
		"name":          {"Ada Lovelace"},
		"email":         {"ada@example.com"},
		"country":       {"US"},
		"provider":      {"stripe"},
		"consent":       {"yes"},
		"terms_version": {home.InputValue("terms_version")},
		"terms_sha256":  {home.InputValue("terms_sha256")},
	}
}

// checkout submits the form and returns the hosted checkout page.
func (e *env) checkout(b *pagetest.Browser, form url.Values) *pagetest.Page {
	e.t.Helper()
	resp := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)
	loc := resp.Location()
	if !strings.HasPrefix(loc, e.URL+"/sandbox/stripe/checkout/cs_test_") {
		e.t.Fatalf("redirected to %s, want the sandbox's hosted checkout", loc)
	}
	return b.Follow(resp).Expect(http.StatusOK)
}

// amazonPay picks Amazon Pay on the checkout page and returns the approval page.
func (e *env) amazonPay(b *pagetest.Browser, checkout *pagetest.Page) *pagetest.Page {
	e.t.Helper()
	resp := b.Do(checkout.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)
	return b.Follow(resp).Expect(http.StatusOK)
}

// decide presses a decision button on the approval page.
func (e *env) decide(b *pagetest.Browser, approval *pagetest.Page, decision string) *pagetest.Page {
	e.t.Helper()
	return b.Do(approval.Submit("decision", decision, nil))
}

// sessionID is the Checkout Session id in a hosted checkout page's URL.
func sessionID(p *pagetest.Page) string {
	parts := strings.Split(p.URL.Path, "/")
	return parts[len(parts)-1]
}

// count runs a COUNT(*) query on the app's database file.
func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.DBFile+"?mode=ro")
	if err != nil {
		e.t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// logs is where an env's logs go: kept, and printed (the last lines)
// only if the test fails, so that a failure shows what the app said
// (a store error behind a 500, say); DEBUG_REQUESTS=1 prints them as they
// come.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() > 4<<20 { // keep the newest few MB
		l.buf.Next(l.buf.Len() - 2<<20)
	}
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// testLogger is the logger of t's env. A benchmark's logs are discarded,
// as they always were, so that its figures stay comparable.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("DEBUG_REQUESTS") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if _, bench := t.(*testing.B); bench {
		return slog.New(slog.DiscardHandler)
	}
	l := &logs{}
	t.Cleanup(func() {
		if t.Failed() {
			lines := strings.Split(strings.TrimSpace(l.String()), "\n")
			t.Logf("the app's last log lines:\n%s", strings.Join(lines[max(0, len(lines)-60):], "\n"))
		}
	})
	return slog.New(slog.NewTextHandler(l, nil))
}
