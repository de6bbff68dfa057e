// Package apptest wires the whole storefront for tests, as main wires it:
// one demo clock over a manual "real time", real SQLite files in a
// temporary directory, the built-in sandbox on loopback, the app's pages,
// service and worker, and a proxy in front of the app's provider calls
// that a test can make answer, fail or drop any call.
//
// Only tests import it: it takes a testing.TB and fails the test on any
// error of its own.
package apptest

import (
	"context"
	"example.com/storefront/internal/dbtest"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/storefront/clock"
	"example.com/storefront/handlers"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/sandbox"
	"example.com/storefront/service"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

// The sandbox's credentials, and the dashboard's password.
const (
	StripeKey           = "sk_test_apptest_sandbox"
	PPROToken           = "ppro_apptest_token"
	PPROMerchant        = "merch_apptest"
	AdminPassword       = "correct horse battery staple"
	StripeWebhookSecret = "whsec_apptest"
	PPROWebhookSecret   = "ppro_whsec_apptest"
)

// Monthly is the shop's plan unless a test sets another (WithPlan).
var Monthly = payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}

// ManualTime is the "real time" under the app's demo clock: it stands
// still until the test moves it, so that due dates and ages are exact.
// Moving the demo clock (App.Clock.Advance) leaves it alone.
type ManualTime struct{ ns atomic.Int64 }

func (m *ManualTime) Now() time.Time          { return time.Unix(0, m.ns.Load()).UTC() }
func (m *ManualTime) Set(t time.Time)         { m.ns.Store(t.UnixNano()) }
func (m *ManualTime) Advance(d time.Duration) { m.ns.Add(int64(d)) }

// App is the storefront under test. It runs no background loop: a test
// runs the worker's passes itself (Pass), after moving the clock.
type App struct {
	t     testing.TB
	URL   string // the app's pages (and, in process, the sandbox's under /sandbox/)
	Time  *ManualTime
	Clock *clock.Clock
	// DB is the app's database: a SQLite file (the default), or a
	// PostgreSQL URL (WithDatabase).
	DB     string
	SBFile string // the sandbox's database
	Plan   payments.Plan
	Store  *store.Store
	// Sandbox is the sandbox served in process; nil with RemoteSandbox.
	Sandbox *sandbox.Sandbox
	Service *service.Service
	Worker  *worker.Worker
	// Providers are the app's, as main builds them, calling through the
	// proxy.
	Providers []payments.Provider
	// Stripe and PPRO are clients straight to the sandbox: what the
	// provider itself holds, never through the proxy.
	Stripe *client.API
	PPRO   *ppro.Client

	cfg        config
	apiURL     string // where the app's API calls go: the proxy, or the sandbox
	sandboxURL string
	intercept  atomic.Pointer[func(w http.ResponseWriter, r *http.Request) bool]
	proxy      *httputil.ReverseProxy
}

type config struct {
	plan     payments.Plan
	start    time.Time
	logger   *slog.Logger
	webhooks bool
	worker   func(*worker.Config)
	remote   string // a sandbox served elsewhere (its base URL); "" serves one in process
	remoteDB string // with remote: its database file
	db       string // the app's database; "" → newDB's, or a SQLite file in a temporary folder
	newDB    func(testing.TB) string
}

// On keeps the app's data in a new database of kind k.
func On(k dbtest.Kind) Option { return func(c *config) { c.newDB = k.New } }

// WithDatabase keeps the app's data at where: a SQLite file's path or a
// PostgreSQL URL (see dbtest.Each), as store.Open takes it.
func WithDatabase(where string) Option { return func(c *config) { c.db = where } }

// Option adjusts the App that New wires.
type Option func(*config)

// WithPlan sets the shop's plan (the price every mandate agrees to).
func WithPlan(p payments.Plan) Option { return func(c *config) { c.plan = p } }

// StartingAt sets the clock's first reading.
func StartingAt(t time.Time) Option { return func(c *config) { c.start = t } }

// WithLogger is where the app, the sandbox and the worker log.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithWorker adjusts the worker's configuration.
func WithWorker(f func(*worker.Config)) Option { return func(c *config) { c.worker = f } }

// WithWebhooks makes the sandbox deliver signed events to the app, as in
// a deployment with webhook secrets.
func WithWebhooks(c *config) { c.webhooks = true }

// RemoteSandbox uses a sandbox served by another process, and no proxy.
func RemoteSandbox(url, dbFile string) Option {
	return func(c *config) { c.remote, c.remoteDB = url, dbFile }
}

// New wires the storefront for t; everything closes when t ends.
func New(t testing.TB, opts ...Option) *App {
	t.Helper()
	cfg := config{plan: Monthly, start: time.Date(2027, time.March, 10, 9, 0, 0, 0, time.UTC), logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&cfg)
	}
	log := cfg.logger
	ctx := context.Background()
	dir := t.TempDir()
	a := &App{t: t, Time: &ManualTime{}, DB: cfg.db, Plan: cfg.plan, cfg: cfg}
	switch {
	case a.DB != "":
	case cfg.newDB != nil:
		a.DB = cfg.newDB(t)
	default:
		a.DB = filepath.Join(dir, "storefront.db")
	}
	a.Time.Set(cfg.start)
	a.Clock = clock.New(a.Time.Now)

	mux := http.NewServeMux()
	srv := httptest.NewServer(handlers.RequestLog(log, mux))
	t.Cleanup(srv.Close)
	a.URL = srv.URL

	a.sandboxURL, a.SBFile, a.apiURL = cfg.remote, cfg.remoteDB, cfg.remote
	if cfg.remote == "" {
		a.sandboxURL, a.SBFile = srv.URL, filepath.Join(dir, "sandbox.db")
		sbStripe := sandbox.StripeConfig{SecretKey: StripeKey}
		sbPPRO := sandbox.PPROConfig{APIToken: PPROToken, MerchantID: PPROMerchant}
		if cfg.webhooks {
			sbStripe.WebhookURL, sbStripe.WebhookSecret = srv.URL+"/webhooks/stripe", StripeWebhookSecret
			sbPPRO.WebhookURL, sbPPRO.WebhookSecret = srv.URL+"/webhooks/ppro", PPROWebhookSecret
		}
		sb, err := sandbox.New(ctx, sandbox.Config{
			DBPath: a.SBFile, PublicURL: srv.URL + "/sandbox", MerchantName: "Northwind Coffee",
			Stripe: sbStripe, PPRO: sbPPRO, Now: a.Clock.Now, Logger: log,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sb.Close() })
		a.Sandbox = sb
		mux.Handle("/sandbox/", sb)

		target, _ := url.Parse(a.sandboxURL)
		a.proxy = httputil.NewSingleHostReverseProxy(target)
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if f := a.intercept.Load(); f != nil && (*f)(w, r) {
				return
			}
			a.proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(api.Close)
		a.apiURL = api.URL
	}

	st, err := store.Open(ctx, a.DB, a.Clock.Now, store.LeaseClock(a.Time.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a.Store = st
	a.Providers = a.NewProviders()
	svcCfg := service.Config{Store: st, Providers: a.Providers, Logger: log}
	// As main: a mandate that becomes active, by any path, wakes the worker
	// (which matters only to a test that runs Worker.Run).
	var work *worker.Worker
	svcCfg.OnActive = func(string) { work.Nudge() }
	if a.Service, err = service.New(svcCfg); err != nil {
		t.Fatal(err)
	}
	wcfg := worker.Config{Store: st, Service: a.Service, Providers: a.Providers, Now: a.Clock.Now, Logger: log}
	if cfg.worker != nil {
		cfg.worker(&wcfg)
	}
	a.Worker = worker.New(wcfg)
	work = a.Worker

	app, err := handlers.New(handlers.Config{
		Store:         st,
		Service:       a.Service,
		Providers:     a.Providers,
		Admin:         handlers.Admin{Password: AdminPassword, Clock: &worker.Demo{Clock: a.Clock, Store: st, Worker: a.Worker}},
		LinkKey:       []byte(strings.Repeat("l", 32)),
		MerchantEmail: "support@northwind.example",
		Now:           a.Clock.Now,
		Sessions:      handlers.NewSessionStore([][]byte{[]byte(strings.Repeat("k", 32))}, false),
		Merchant:      "Northwind Coffee",
		Plan:          cfg.plan,
		Retries:       wcfg.Retries,
		RetryNow:      a.Worker.RetryNow,
		SetupLifetime: time.Hour, // main's default (SETUP_LIFETIME): Stripe's sessions expire after it
		BaseURL:       srv.URL,
		Logger:        log,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", app)

	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL: stripe.String(a.sandboxURL + "/sandbox/stripe"), MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger: &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	a.Stripe = client.New(StripeKey, &stripe.Backends{API: b, Connect: b, Uploads: b})
	if a.PPRO, err = ppro.NewClient(ppro.Config{BaseURL: a.sandboxURL + "/sandbox/ppro", Token: PPROToken, MerchantID: PPROMerchant}); err != nil {
		t.Fatal(err)
	}
	return a
}

// NewProviders are another set of the app's Stripe and PPRO providers,
// calling through the proxy without retries of their own (the worker's
// retries are under test), as another process of the app has.
func (a *App) NewProviders() []payments.Provider {
	a.t.Helper()
	stripeSecret, pproSecret := "", ""
	if a.cfg.webhooks {
		stripeSecret, pproSecret = StripeWebhookSecret, PPROWebhookSecret
	}
	sp, err := stripeprovider.New(stripeprovider.Config{SecretKey: StripeKey, APIURL: a.apiURL + "/sandbox/stripe", Sandbox: true, WebhookSecret: stripeSecret})
	if err != nil {
		a.t.Fatal(err)
	}
	pc, err := ppro.NewClient(ppro.Config{BaseURL: a.apiURL + "/sandbox/ppro", Token: PPROToken, MerchantID: PPROMerchant, MaxRetries: -1})
	if err != nil {
		a.t.Fatal(err)
	}
	return []payments.Provider{sp, ppro.NewProvider(pc, payments.ModeSandbox, pproSecret)}
}

// Intercept installs f in front of the app's API calls; f answers a call
// itself by returning true. nil removes it.
func (a *App) Intercept(f func(w http.ResponseWriter, r *http.Request) bool) {
	if f == nil {
		a.intercept.Store(nil)
		return
	}
	a.intercept.Store(&f)
}

// Forward sends an intercepted call on to the sandbox.
func (a *App) Forward(w http.ResponseWriter, r *http.Request) { a.proxy.ServeHTTP(w, r) }

// Drop closes the connection without an answer: the provider cannot be
// reached.
func Drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

// IsCharge reports whether r is the app asking for a payment.
func IsCharge(r *http.Request) bool {
	return r.Method == http.MethodPost && (r.URL.Path == "/sandbox/stripe/v1/payment_intents" ||
		strings.HasPrefix(r.URL.Path, "/sandbox/ppro/v1/payment-agreements/") && strings.HasSuffix(r.URL.Path, "/payment-charges"))
}

// Pass runs one pass of the worker and fails the test on an error.
func (a *App) Pass() worker.Report {
	a.t.Helper()
	r, err := a.Worker.Pass(context.Background())
	if err != nil {
		a.t.Fatalf("worker pass: %v", err)
	}
	return r
}
