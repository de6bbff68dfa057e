// Command storefront is a merchant storefront that collects a shopper's
// permission to charge their Amazon Pay account later, through Stripe (and,
// without credentials, through the built-in sandbox).
//
// main only wires: configuration, the store, the providers, the routes and a
// graceful shutdown.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/compressed"
	"example.com/storefront/delivery"
	"example.com/storefront/handlers"
	"example.com/storefront/internal/gcpace"
	"example.com/storefront/internal/logbuffer"
	"example.com/storefront/notify"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/pgdb"
	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/standalone"
	"example.com/storefront/service"
	"example.com/storefront/shopperlink"
	"example.com/storefront/store"
	"example.com/storefront/worker"
)

func main() {
	gcpace.Apply() // a small live heap, collected less often (see the package)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	name, serve := "storefront", run
	if len(os.Args) > 1 && os.Args[1] == "sandbox" {
		name, serve = "storefront sandbox", runSandbox // the sandbox as its own process
	}
	getenv, err := withDotEnv(os.Getenv, ".env")
	if err == nil {
		// Log lines go out in batches (logbuffer): a write system call
		// per request was about a tenth of what GET / cost under load.
		out := logbuffer.New(os.Stdout, logEvery)
		err = serve(ctx, getenv, out)
		out.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// run serves the storefront until ctx is done.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger := newLogger(stdout, cfg.LogLevel)

	// The data directory holds secrets (the session key, customers'
	// consent evidence).
	if err := privateDir(cfg.DataDir); err != nil {
		return err
	}
	sessionKeys := cfg.SessionKeys
	if sessionKeys == nil {
		file := filepath.Join(cfg.DataDir, "session.key")
		key, err := loadOrCreateKey(file)
		if err != nil {
			return fmt.Errorf("session key: %w", err)
		}
		sessionKeys = [][]byte{key}
		logger.Warn("SESSION_KEYS is not set: using a key generated once and kept in " + file + "; set SESSION_KEYS in production")
	}

	// One clock for billing, records and, in an all-sandbox demo, the
	// sandbox: a demo's presenter moves it forward; elsewhere it is real time.
	clk := clock.New(nil)
	db := filepath.Join(cfg.DataDir, "storefront.db")
	if cfg.DatabaseURL != "" {
		db = cfg.DatabaseURL
	}
	opts := []store.Option{store.LeaseClock(clk.Real)}
	if cfg.MailDisputes {
		opts = append(opts, store.NotifyDisputes())
	}
	st, err := store.Open(ctx, db, clk.Now, opts...)
	if err != nil {
		if cfg.DatabaseURL != "" {
			return fmt.Errorf("DATABASE_URL: %w", err)
		}
		return err
	}
	defer st.Close()
	if !cfg.Live() {
		off, err := st.DemoClockOffset(ctx)
		if err != nil {
			return err
		}
		clk.Set(off)
	}
	adminPassword := cfg.AdminPassword
	if adminPassword == "" {
		adminPassword = strings.ToLower(rand.Text()[:20]) // 100 bits
	}

	// Listen before building the rest, so a busy port fails at once and the
	// real port (ADDR may end in :0) is known for the URLs.
	ln, baseURL, loopback, err := listen(cfg.Addr, cfg.BaseURL)
	if err != nil {
		return err
	}
	defer ln.Close()
	https := strings.HasPrefix(baseURL, "https://")

	root := http.NewServeMux()
	built, err := buildProviders(ctx, cfg, baseURL, "http://"+loopback, root, clk.Now, logger)
	if err != nil {
		return err
	}
	defer built.close()
	providers := built.providers
	if cfg.DatabaseURL != "" && !cfg.Live() && cfg.SandboxURL == "" {
		// Each built-in sandbox is its own provider, with its own
		// customers: a second instance could not charge the first's.
		logger.Warn("DATABASE_URL with the built-in sandbox: right for one instance only; several instances must share one sandbox process (storefront sandbox, and SANDBOX_URL on each)")
	}

	// A mandate that becomes active, however, wakes the worker: period 1 is
	// due at once. work is set before anything can activate a mandate.
	var work *worker.Worker
	svc, err := service.New(service.Config{Store: st, Providers: providers, Logger: logger.With("component", "service"),
		OnActive: func(string) { work.Nudge() }})
	if err != nil {
		return err
	}
	work = worker.New(worker.Config{
		Store: st, Service: svc, Providers: providers, Now: clk.Now,
		Interval: cfg.WorkerInterval, Batch: cfg.WorkerBatch, InFlight: cfg.WorkerInFlight, Lease: cfg.WorkerLease, Retries: cfg.Retries,
		ReconcileAfter: cfg.ReconcileAfter, SetupLifetime: cfg.SetupLifetime,
		WebhookRetention: cfg.WebhookRetention, Logger: logger.With("component", "worker"),
	})
	admin := handlers.Admin{Password: adminPassword}
	var demo *worker.Demo
	if !cfg.Live() {
		demo = &worker.Demo{Clock: clk, Store: st, Worker: work, Remote: built.remoteClock}
		admin.Clock = demo
		if demo.Remote != nil {
			// A sandbox process restarted, or started after an advance,
			// learns the date from the first instance that starts.
			if err := demo.Sync(ctx); err != nil {
				logger.Warn("could not set the sandbox's clock; trying again in the background", "error", err)
			}
		}
	}

	// Messages to shoppers: written by the events, delivered here (see
	// mail.go). Their links are signed as the shopper's pages check them.
	linkKey := derive(sessionKeys[0], "shopper-link")
	render := notify.New(notify.Config{Merchant: cfg.Merchant, Contact: cfg.MerchantEmail, BaseURL: baseURL,
		Links: shopperlink.New(linkKey, shopperlink.DefaultTTL), Now: clk.Real}).Render
	deliverer, err := newDeliverer(cfg, st, render, built.mailbox, logger)
	if err != nil {
		return err
	}

	var draining atomic.Bool // set at SIGTERM: /healthz answers 503
	app, err := handlers.New(handlers.Config{
		Store:             st,
		Service:           svc,
		Providers:         providers,
		Sessions:          handlers.NewSessionStore(sessionKeys, https),
		Merchant:          cfg.Merchant,
		Plan:              cfg.Plan,
		BaseURL:           baseURL,
		FormActionOrigins: built.formActionOrigins,
		SandboxURL:        built.sandboxURL,
		SetupLifetime:     cfg.SetupLifetime,
		Limits:            handlers.Limits{PerMinute: cfg.RatePerMinute},
		TrustedProxies:    cfg.TrustedProxies,
		ProcessLater:      work.Nudge,
		RetryNow:          work.RetryNow,
		Draining:          draining.Load,
		Admin:             admin,
		LinkKey:           linkKey,
		MerchantEmail:     cfg.MerchantEmail,
		MailDelivery:      deliverer != nil,
		Retries:           cfg.Retries,
		Now:               clk.Now,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	root.Handle("/", app)

	// Pages, styles and exports go out compressed to browsers that accept
	// it, the sandbox's pages too (compressed.Handler).
	srv := newServer(handlers.RequestLog(logger, handlers.Harden(compressed.Handler(root), allowedHosts(cfg.BaseURL, baseURL, loopback), https)), logger)
	attrs := []any{"url", baseURL, "addr", ln.Addr().String(), "data_dir", cfg.DataDir, "database", "sqlite"}
	if cfg.DatabaseURL != "" {
		attrs[len(attrs)-1] = pgdb.Redact(cfg.DatabaseURL)
	}
	for _, p := range providers {
		attrs = append(attrs, p.Name(), string(p.Mode()))
	}
	logger.Info("storefront listening", attrs...)
	if cfg.AdminPassword == "" {
		// Printed once, in the banner and nowhere else: never a known
		// default, and never a log field, which log collectors keep.
		logger.Warn("ADMIN_PASSWORD is not set: a password was generated for this run and printed on standard output")
		fmt.Fprintf(stdout, "\n  Merchant dashboard: %s/admin\n  Password, generated for this run (set ADMIN_PASSWORD to choose one): %s\n\n",
			baseURL, adminPassword)
	}

	workCtx, stopWork := context.WithCancel(context.Background())
	workDone := make(chan struct{})
	go func() {
		defer close(workDone)
		if demo != nil {
			// Another process on the database may move the demo clock.
			followDone := make(chan struct{})
			go func() { defer close(followDone); demo.Follow(workCtx, worker.DemoFollowEvery, logger) }()
			defer func() { <-followDone }()
		}
		if deliverer != nil {
			mailDone := make(chan struct{})
			go func() { defer close(mailDone); deliverer.Run(workCtx) }()
			defer func() { <-mailDone }()
		}
		work.Run(workCtx)
	}()
	defer func() { stopWork(); <-workDone }() // before the store closes

	return serveUntil(ctx, srv, ln, logger, func() {
		if cfg.ShutdownDrain > 0 {
			// Still serving, but unhealthy: the load balancer notices
			// within its check interval and sends the next requests
			// elsewhere.
			draining.Store(true)
			logger.Info("draining before shutdown", "for", cfg.ShutdownDrain)
			time.Sleep(cfg.ShutdownDrain)
		}
	})
}

// allowedHosts are the Host header values the listener answers: BASE_URL's
// host, or without one the loopback names, and always the listener's own
// loopback address (the sandbox's server-to-server webhooks use it).
func allowedHosts(configured, baseURL, loopback string) []string {
	_, port, _ := net.SplitHostPort(loopback)
	hosts := []string{loopback}
	if configured == "" {
		return append(hosts, net.JoinHostPort("localhost", port), net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port))
	}
	u, _ := url.Parse(baseURL) // validated by loadConfig
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"https": "443", "http": "80"}[u.Scheme])
	}
	return append(hosts, host)
}

// builtProviders are the providers, and what the rest of run needs to
// know of them.
type builtProviders struct {
	providers []payments.Provider
	// formActionOrigins are the origins of the providers' pages, which the
	// checkout form's CSP names.
	formActionOrigins []string
	// sandboxURL is the sandbox's index page, linked from the footer; ""
	// without a sandbox.
	sandboxURL string
	// remoteClock is the clock of a sandbox in its own process; nil
	// otherwise (a built-in sandbox runs on the app's clock).
	remoteClock worker.RemoteClock
	// mailbox is the sandbox's mailbox in an all-sandbox demo, where every
	// message to a shopper also lands; nil otherwise.
	mailbox delivery.Sink
	close   func()
}

// buildProviders makes Stripe and PPRO from their credentials. Without any
// credentials both run against the built-in sandbox, mounted on root at
// /sandbox/: the all-sandbox demo; with SANDBOX_URL, against a sandbox
// in its own process. With credentials for any provider, only
// the providers that have them are offered and no sandbox is mounted, so a
// live deployment never quietly offers a provider anyone can approve their
// own mandate on.
func buildProviders(ctx context.Context, cfg config, baseURL, loopback string, root *http.ServeMux, now func() time.Time, logger *slog.Logger) (builtProviders, error) {
	// Server-to-server calls to the sandbox go to our own listener over
	// loopback, never out through BASE_URL and back in.
	httpClient := &http.Client{Timeout: 30 * time.Second, Transport: providerTransport()}
	switch {
	case !cfg.Live() && cfg.SandboxURL != "":
		return remoteSandboxProviders(ctx, cfg, httpClient, logger)
	case !cfg.Live():
		return sandboxProviders(ctx, cfg, baseURL, loopback, root, httpClient, now, logger)
	}
	var providers []payments.Provider
	var formActionOrigins []string
	if cfg.StripeSecretKey != "" {
		p, err := stripeprovider.New(stripeprovider.Config{
			SecretKey: cfg.StripeSecretKey, WebhookSecret: cfg.StripeWebhookSecret, APIURL: cfg.StripeAPIURL,
			HTTPClient: httpClient, MaxNetworkRetries: 2,
		})
		if err != nil {
			return builtProviders{}, err
		}
		if cfg.StripeWebhookSecret == "" {
			logger.Warn("STRIPE_WEBHOOK_SECRET is not set: webhooks are refused, so a setup whose shopper never comes back is only settled by the worker's reconciliation")
		}
		origin := "https://checkout.stripe.com"
		if o, ok := plainHTTPOrigin(cfg.StripeAPIURL); ok {
			origin = o // stripe-mock, or a sandbox on another port
		}
		formActionOrigins = append(formActionOrigins, origin)
		// Whether the account can charge the plan's currency with Amazon
		// Pay; asked in the background, so a slow Stripe never blocks
		// start-up (until it answers, nothing is refused).
		go func() {
			if err := p.CheckAccount(cfg.Plan.Price); err != nil {
				logger.Warn("could not check the Stripe account's country; the plan's currency is not verified", "error", err)
			} else if err := p.Eligible("", cfg.Plan.Price); err != nil {
				logger.Warn("Stripe cannot charge this plan with Amazon Pay", "reason", err)
			}
		}()
		providers = append(providers, p)
	}
	if cfg.PPROToken != "" {
		c, err := ppro.NewClient(ppro.Config{BaseURL: cfg.PPROAPIURL, Token: cfg.PPROToken, MerchantID: cfg.PPROMerchantID, HTTPClient: httpClient})
		if err != nil {
			return builtProviders{}, err
		}
		if cfg.PPROWebhookSecret == "" {
			logger.Warn("PPRO_WEBHOOK_SECRET is not set: PPRO webhooks are accepted unsigned, as nudges to fetch only (60 a minute at most, the rest dropped); ask your PPRO account manager for a signing secret")
		}
		origin := "https://*.ppro.com" // PPRO's redirect pages (reference/ppro-api.md §4)
		if o, ok := plainHTTPOrigin(cfg.PPROAPIURL); ok {
			origin = o
		}
		formActionOrigins = append(formActionOrigins, origin)
		providers = append(providers, ppro.NewProvider(c, ppro.ModeFor(cfg.PPROAPIURL), cfg.PPROWebhookSecret))
	}
	return builtProviders{providers: providers, formActionOrigins: formActionOrigins, close: func() {}}, nil
}

// providerTransport is the default transport keeping more idle
// connections to each host: the default 2 closes (and later dials again,
// with a TLS handshake at a real provider) every connection beyond the
// second that webhooks, pages and the worker's calls had open at once.
func providerTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	return t
}

// sandboxProviders runs both providers against the built-in sandbox, with
// the secrets the sandbox and the app share (the API keys and both webhook
// signing secrets) derived from a key kept in DATA_DIR/sandbox.key. They
// stay the same across restarts, as a real account's do: the sandbox
// scopes idempotency keys to the API key, so a payment resent with its
// key after a crash must find the one made before it, not make another.
func sandboxProviders(ctx context.Context, cfg config, baseURL, loopback string, root *http.ServeMux, httpClient *http.Client, now func() time.Time, logger *slog.Logger) (
	builtProviders, error,
) {
	keys, err := sandboxKeys(cfg.DataDir, baseURL)
	if err != nil {
		return builtProviders{}, err
	}
	sb, err := sandbox.New(ctx, sandboxConfig(keys, cfg.DataDir, cfg.Merchant, loopback, baseURL+"/", cfg.SandboxLatency, logger, now))
	if err != nil {
		return builtProviders{}, err
	}
	root.Handle("/sandbox/", sb)
	providers, err := sandboxClients(cfg, keys, loopback, httpClient, logger)
	if err != nil {
		sb.Close()
		return builtProviders{}, err
	}
	return builtProviders{providers: providers, sandboxURL: "/sandbox/", mailbox: delivery.Mailbox{Box: sb.Mailbox()},
		close: func() { sb.Close() }}, nil
}

// sandboxKeys are the secrets a sandbox and the app share (the API keys
// and both webhook signing secrets), derived from DATA_DIR/sandbox.key.
func sandboxKeys(dataDir, publicURL string) (standalone.Keys, error) {
	key, err := loadOrCreateKey(filepath.Join(dataDir, "sandbox.key"))
	if err != nil {
		return standalone.Keys{}, fmt.Errorf("sandbox key: %w", err)
	}
	secret := func(purpose string, n int) string { return hex.EncodeToString(derive(key, "sandbox "+purpose))[:2*n] }
	return standalone.Keys{
		StripeSecretKey: "sk_test_sandbox_" + secret("stripe key", 12), StripeWebhookSecret: "whsec_sandbox_" + secret("stripe webhooks", 16),
		PPROToken: "ppro_sandbox_" + secret("ppro token", 12), PPROMerchantID: "merch_sandbox", PPROWebhookSecret: "ppro_whsec_sandbox_" + secret("ppro webhooks", 16),
		PublicURL: publicURL,
	}, nil
}

// sandboxConfig is a sandbox with both providers' parts on, its data in
// dataDir, delivering webhooks to webhookBase + /webhooks/{stripe,ppro}.
func sandboxConfig(keys standalone.Keys, dataDir, merchant, webhookBase, shopURL string, latency time.Duration, logger *slog.Logger, now func() time.Time) sandbox.Config {
	return sandbox.Config{
		DBPath:       filepath.Join(dataDir, "sandbox.db"),
		PublicURL:    keys.PublicURL + "/sandbox",
		MerchantName: merchant,
		Logger:       logger.With("component", "sandbox"),
		Now:          now, // the demo clock moves the sandbox's time too
		APILatency:   latency,
		ShopURL:      shopURL,
		Stripe: sandbox.StripeConfig{
			SecretKey: keys.StripeSecretKey, WebhookURL: webhookBase + "/webhooks/stripe", WebhookSecret: keys.StripeWebhookSecret,
			// Subscribed as the README asks a real endpoint to be.
			WebhookEvents: stripeprovider.WebhookEvents(),
		},
		PPRO: sandbox.PPROConfig{
			APIToken: keys.PPROToken, MerchantID: keys.PPROMerchantID,
			WebhookURL: webhookBase + "/webhooks/ppro", WebhookSecret: keys.PPROWebhookSecret,
		},
	}
}

// sandboxClients are both providers, calling a sandbox at apiBase.
func sandboxClients(cfg config, keys standalone.Keys, apiBase string, httpClient *http.Client, logger *slog.Logger) ([]payments.Provider, error) {
	sp, err := stripeprovider.New(stripeprovider.Config{
		SecretKey: keys.StripeSecretKey, WebhookSecret: keys.StripeWebhookSecret, APIURL: apiBase + "/sandbox/stripe",
		Sandbox: true, HTTPClient: httpClient, MaxNetworkRetries: 2,
	})
	if err != nil {
		return nil, err
	}
	go func() {
		if err := sp.CheckAccount(cfg.Plan.Price); err != nil {
			logger.Warn("could not check the sandbox's Stripe account", "error", err)
		}
	}()
	pc, err := ppro.NewClient(ppro.Config{BaseURL: apiBase + "/sandbox/ppro", Token: keys.PPROToken, MerchantID: keys.PPROMerchantID, HTTPClient: httpClient})
	if err != nil {
		return nil, err
	}
	return []payments.Provider{sp, ppro.NewProvider(pc, payments.ModeSandbox, keys.PPROWebhookSecret)}, nil
}

// plainHTTPOrigin is the origin of rawURL when it is plain http.
func plainHTTPOrigin(rawURL string) (string, bool) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "http" {
		return "", false
	}
	return "http://" + u.Host, true
}

// defaultBaseURL is http://host:port from ADDR and the port we really got.
func defaultBaseURL(addr string, actual net.Addr) string {
	host, _, _ := net.SplitHostPort(addr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	_, port, _ := net.SplitHostPort(actual.String())
	return "http://" + net.JoinHostPort(host, port)
}

// loopbackAddr is how this process reaches its own listener.
func loopbackAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	ip := tcp.IP
	if ip == nil || ip.IsUnspecified() {
		ip = net.IPv4(127, 0, 0, 1)
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(tcp.Port))
}

// loadOrCreateKey reads a hex key from file, or makes one and writes it.
func loadOrCreateKey(file string) ([]byte, error) {
	b, err := os.ReadFile(file)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("%s does not hold a 32-byte hex key; delete it to make a new one", file)
		}
		// Private even if it was made, or copied in, readable by others.
		if err := os.Chmod(file, 0o600); err != nil {
			return nil, err
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	if err := os.WriteFile(file, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

// derive makes a 32-byte key for one purpose from a secret.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// logEvery is how long a log line may wait to be written with others
// (logbuffer); warnings and errors are written at once.
const logEvery = 100 * time.Millisecond

// newLogger logs to out at level (LOG_LEVEL) and above. When out holds
// lines back (a *logbuffer.Writer), a warning or an error writes them out
// at once.
func newLogger(out io.Writer, level string) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(out, &slog.HandlerOptions{Level: logLevel(level)})
	if f, ok := out.(logbuffer.Flusher); ok {
		h = logbuffer.FlushOn(h, f, slog.LevelWarn)
	}
	return slog.New(h)
}

func logLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s))
	return l
}
