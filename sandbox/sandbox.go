// Package sandbox is the storefront's offline stand-in for its payment
// providers: a real, stateful HTTP server (with its own SQLite file) that
// speaks the subset of each provider's API the app uses, with the same
// paths, field names, id prefixes, statuses, error format and
// authentication, so the providers' own client libraries run unchanged
// against it. It also serves the provider-side pages a shopper sees (a
// hosted checkout page and Amazon-Pay-style approval pages) and delivers
// webhooks to the app (signed where the provider signs). Its mailbox
// (package mailbox, /sandbox/mail) shows the emails the app sends.
//
// It is a faithful stand-in, not a shortcut: wherever the real API would
// reject a request, so does the sandbox.
//
// This package only composes: each provider's stand-in is a package of
// its own (stripesim, pprosim), and what they share (the database, ids,
// idempotency records, webhook delivery, the page layout) is simkit. The
// Sandbox mounts the parts that are configured on one handler and serves
// the pages that belong to no provider.
package sandbox // import "example.com/storefront/sandbox"

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"example.com/storefront/sandbox/mailbox"
	"example.com/storefront/sandbox/pprosim"
	"example.com/storefront/sandbox/simkit"
	"example.com/storefront/sandbox/stripesim"
	"example.com/storefront/sqlitedb"
)

// Config configures a Sandbox.
type Config struct {
	DBPath       string // SQLite file, e.g. DATA_DIR/sandbox.db
	PublicURL    string // browser-facing base of the sandbox, no trailing slash, e.g. "http://localhost:8080/sandbox"
	MerchantName string // shown on the hosted pages (Stripe shows the account's business name)
	Stripe       StripeConfig
	PPRO         PPROConfig
	HTTPClient   *http.Client     // for webhook deliveries; nil → a client with a 10 s timeout
	Logger       *slog.Logger     // nil → discard
	Now          func() time.Time // nil → time.Now
	// WebhookRetryAfter is the wait before a failed webhook delivery's first
	// retry, doubling after; 0 → half a second.
	WebhookRetryAfter time.Duration
	// APILatency delays every API answer by this much after its work is
	// done and recorded, as a slow network would: the window in which a
	// caller that crashes, or gives up, has caused a payment it never
	// heard of. For demos and tests of exactly-once payments; 0 → none.
	APILatency time.Duration
	// ShopURL is the storefront's own address ("http://localhost:8080/"),
	// linked from the sandbox's index page; "" for none.
	ShopURL string
	// DBCounts, when set, counts the statements and transactions the
	// sandbox's database runs (benchmarks).
	DBCounts *sqlitedb.Counts
}

// StripeConfig configures the Stripe part of the sandbox.
type StripeConfig struct {
	SecretKey     string // the only API key the sandbox accepts (e.g. "sk_test_sandbox_…")
	WebhookURL    string // optional: where to POST signed events (the app's /webhooks/stripe, over loopback)
	WebhookSecret string // "whsec_…", required when WebhookURL is set
	// WebhookEvents are the endpoint's enabled_events: only these types
	// are delivered (all are still recorded, as Stripe's are); none → every
	// type, as an endpoint subscribed to "*".
	WebhookEvents []string
	// AccountCountry is the sandbox account's country, where Stripe offers
	// Amazon Pay ("US", "DE", "GB", …); "" → "US". It sets the account's
	// default currency; a US account charges Amazon Pay in usd only.
	AccountCountry string
}

// stripesim is the configuration of the Stripe part.
func (c StripeConfig) stripesim() stripesim.Config {
	return stripesim.Config{SecretKey: c.SecretKey, AccountCountry: c.AccountCountry}
}

// enabled reports whether the Stripe part is on.
func (c StripeConfig) enabled() bool { return c.SecretKey != "" }

// PPROConfig configures the PPRO part of the sandbox.
type PPROConfig struct {
	APIToken   string // the only bearer token the PPRO API accepts; "" → the PPRO part is off (its routes answer 404)
	MerchantID string // the Merchant-Id the API requires on every call (e.g. "merch_…"); required when APIToken is set
	// RedirectMethod is the requestMethod the agreements' REDIRECT
	// authentication method names: "GET" (default) or "POST". With POST
	// the authentication page accepts the shopper's cross-site form POST
	// (which carries no state change).
	RedirectMethod string
	WebhookURL     string // optional: where to POST PPRO webhooks (CloudEvents), over loopback
	// WebhookSecret signs every delivery (PPRO-Signature: t=…,s=hex
	// HMAC-SHA256 of t + "." + body); required when WebhookURL is set.
	WebhookSecret string
}

// enabled reports whether the PPRO part is on.
func (c PPROConfig) enabled() bool { return c.APIToken != "" }

// Sandbox is an http.Handler serving every path under /sandbox/.
type Sandbox struct {
	host    *simkit.Host
	shopURL string
	stripe  *stripesim.Sim // nil when the Stripe part is off
	ppro    *pprosim.Sim   // nil when the PPRO part is off
	mailbox *mailbox.Box
	apiKey  string // what the sandbox's own endpoints (the mailbox's deliveries) take as a bearer token
	handler http.Handler
}

// New opens (or creates) the sandbox database at cfg.DBPath and returns a
// ready handler. Webhook deliveries left pending by a previous run resume.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if err := validateConfig(&cfg); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	endpoints := map[string]simkit.WebhookEndpoint{}
	if cfg.Stripe.WebhookURL != "" {
		endpoints[stripesim.Provider] = stripesim.WebhookEndpoint(cfg.Stripe.WebhookURL, cfg.Stripe.WebhookSecret, cfg.Stripe.WebhookEvents)
	}
	if cfg.PPRO.enabled() && cfg.PPRO.WebhookURL != "" {
		endpoints[pprosim.Provider] = pprosim.WebhookEndpoint(cfg.PPRO.WebhookURL, cfg.PPRO.WebhookSecret)
	}
	host, err := simkit.Open(ctx, simkit.Config{
		DBPath:       cfg.DBPath,
		PublicURL:    cfg.PublicURL,
		MerchantName: cfg.MerchantName,
		Webhooks:     endpoints,
		HTTPClient:   cfg.HTTPClient,
		Logger:       cfg.Logger,
		Now:          cfg.Now,

		WebhookRetryAfter: cfg.WebhookRetryAfter,
		DBCounts:          cfg.DBCounts,
	})
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	s := &Sandbox{host: host, shopURL: cfg.ShopURL, mailbox: mailbox.New(host), apiKey: cfg.apiKey()}
	if cfg.Stripe.enabled() {
		s.stripe = stripesim.New(host, cfg.Stripe.stripesim())
	}
	if c := cfg.PPRO; c.enabled() {
		s.ppro = pprosim.New(host, pprosim.Config{APIToken: c.APIToken, MerchantID: c.MerchantID, RedirectMethod: c.RedirectMethod})
	}
	s.handler = s.routes()
	if cfg.APILatency > 0 {
		s.handler = slowAPI(s.handler, cfg.APILatency)
	}

	if err := host.ResumeWebhooks(ctx); err != nil {
		host.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return s, nil
}

// apiKey is the bearer token of the sandbox's own endpoints: the Stripe
// secret key, as for a standalone sandbox's clock, or the PPRO API token
// when the Stripe part is off. The storefront holds either.
func (c Config) apiKey() string {
	if c.Stripe.enabled() {
		return c.Stripe.SecretKey
	}
	return c.PPRO.APIToken
}

func validateConfig(cfg *Config) error {
	if cfg.DBPath == "" {
		return errors.New("DBPath is required")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("PublicURL %q is not an absolute http(s) URL", cfg.PublicURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("PublicURL %q must not have a query or fragment", cfg.PublicURL)
	}
	if cfg.MerchantName == "" {
		return errors.New("MerchantName is required: the hosted pages show it")
	}
	if !cfg.Stripe.enabled() && !cfg.PPRO.enabled() {
		return errors.New("Stripe.SecretKey or PPRO.APIToken is required: nothing to simulate")
	}
	if !cfg.Stripe.enabled() && (cfg.Stripe.WebhookURL != "" || cfg.Stripe.WebhookSecret != "" || cfg.Stripe.AccountCountry != "") {
		return errors.New("Stripe.SecretKey is required when any other Stripe setting is given")
	}
	if cfg.Stripe.enabled() {
		if err := cfg.Stripe.stripesim().Validate(); err != nil {
			return fmt.Errorf("invalid Stripe settings: %w", err)
		}
	}
	if cfg.Stripe.WebhookURL != "" {
		if cfg.Stripe.WebhookSecret == "" {
			return errors.New("Stripe.WebhookSecret is required when Stripe.WebhookURL is set")
		}
		if !absoluteHTTPURL(cfg.Stripe.WebhookURL) {
			return fmt.Errorf("Stripe.WebhookURL %q is not an absolute http(s) URL", cfg.Stripe.WebhookURL)
		}
	}
	return validatePPROConfig(&cfg.PPRO)
}

func validatePPROConfig(c *PPROConfig) error {
	if !c.enabled() {
		if c.MerchantID != "" || c.WebhookURL != "" || c.WebhookSecret != "" || c.RedirectMethod != "" {
			return errors.New("PPRO.APIToken is required when any other PPRO setting is given")
		}
		return nil
	}
	if c.MerchantID == "" {
		return errors.New("PPRO.MerchantID is required when PPRO.APIToken is set")
	}
	switch c.RedirectMethod {
	case "":
		c.RedirectMethod = http.MethodGet
	case http.MethodGet, http.MethodPost:
	default:
		return fmt.Errorf("PPRO.RedirectMethod %q must be GET or POST", c.RedirectMethod)
	}
	if c.WebhookURL != "" {
		if c.WebhookSecret == "" {
			return errors.New("PPRO.WebhookSecret is required when PPRO.WebhookURL is set: every delivery is signed")
		}
		if !absoluteHTTPURL(c.WebhookURL) {
			return fmt.Errorf("PPRO.WebhookURL %q is not an absolute http(s) URL", c.WebhookURL)
		}
	}
	return nil
}

func absoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// slowAPI holds each API answer back for d after it was made.
func slowAPI(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/sandbox/stripe/v1/") && !strings.HasPrefix(r.URL.Path, "/sandbox/ppro/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		held := &heldAnswer{header: http.Header{}, code: http.StatusOK}
		next.ServeHTTP(held, r)
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return // the caller gave up: the answer is lost, the work is done
		}
		for k, v := range held.header {
			w.Header()[k] = v
		}
		w.WriteHeader(held.code)
		w.Write(held.body.Bytes())
	})
}

// heldAnswer keeps an answer in memory until it may be sent.
type heldAnswer struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (a *heldAnswer) Header() http.Header         { return a.header }
func (a *heldAnswer) WriteHeader(code int)        { a.code = code }
func (a *heldAnswer) Write(p []byte) (int, error) { return a.body.Write(p) }

// StripeSim is the Stripe part, for tests and demos that change its
// settings or decide its disputes; nil when the Stripe part is off.
func (s *Sandbox) StripeSim() *stripesim.Sim { return s.stripe }

// PPROSim is the PPRO stand-in, for tests and tools that change its
// settings or decide its chargebacks; nil when the PPRO part is off.
func (s *Sandbox) PPROSim() *pprosim.Sim { return s.ppro }

// ServeHTTP serves every path under /sandbox/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Close stops webhook retries, waits for in-flight deliveries and closes
// the database. Deliveries still pending resume at the next New.
func (s *Sandbox) Close() error {
	if err := s.host.Close(); err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	return nil
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()

	// Pages get their own security headers and refuse cross-origin form
	// posts; the APIs are called server to server and authenticate by key.
	pages := simkit.NewPages(http.HandlerFunc(s.handleCrossOrigin))

	mux.Handle("GET /sandbox/{$}", pages.Page(s.handleIndex))
	mux.Handle("GET /sandbox/static/", pages.Headers(simkit.StaticHandler()))
	mux.Handle("POST /sandbox/declines", pages.Page(s.handleDeclines))
	mux.Handle("/sandbox/", pages.Page(s.handlePageNotFound))

	s.mailbox.Routes(mux, pages, s.authorized)
	if s.stripe != nil {
		s.stripe.Routes(mux, pages)
	}
	if s.ppro != nil {
		s.ppro.Routes(mux, pages)
	}
	return mux
}

// authorized reports whether r carries the sandbox's API key (see
// Config.apiKey) as a bearer token.
func (s *Sandbox) authorized(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(token), []byte(s.apiKey)) == 1
}

// Mailbox is the sandbox's mailbox, where the storefront delivers the
// messages it sends in the all-sandbox demo (in process; a standalone
// sandbox takes them at POST /sandbox/mail/messages).
func (s *Sandbox) Mailbox() *mailbox.Box { return s.mailbox }

// ClockOffset is the demo clock's offset stored in the sandbox's database
// (see SetClockOffset).
func (s *Sandbox) ClockOffset(ctx context.Context) (time.Duration, error) {
	return s.host.ClockOffset(ctx)
}

// SetClockOffset stores the demo clock's offset in the sandbox's database,
// for a sandbox run as its own process: its clock (Config.Now) is the
// caller's, which restores it from here when it starts.
func (s *Sandbox) SetClockOffset(ctx context.Context, d time.Duration) error {
	return s.host.SetClockOffset(ctx, d)
}
