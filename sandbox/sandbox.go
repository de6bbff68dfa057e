// Package sandbox is the storefront's offline stand-in for its payment
// providers: a real, stateful HTTP server (with its own SQLite file) that
// speaks the subset of each provider's API the app uses, with the same
// paths, field names, id prefixes, statuses, error format and
// authentication, so the providers' own client libraries run unchanged
// against it. It also serves the provider-side pages a shopper sees (a
// hosted checkout page and Amazon-Pay-style approval pages) and delivers
// webhooks to the app (signed where the provider signs).
//
// It is a faithful stand-in, not a shortcut: wherever the real API would
// reject a request, so does the sandbox.
//
// Files are split by provider (stripe_*.go, ppro_*.go); what is
// provider-neutral (the page layout, the database, ids, idempotency
// records, webhook delivery) lives in the other files.
package sandbox // import "example.com/storefront/sandbox"

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

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
}

// StripeConfig configures the Stripe part of the sandbox.
type StripeConfig struct {
	SecretKey     string // the only API key the sandbox accepts (e.g. "sk_test_sandbox_…")
	WebhookURL    string // optional: where to POST signed events (the app's /webhooks/stripe, over loopback)
	WebhookSecret string // "whsec_…", required when WebhookURL is set
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
}

// enabled reports whether the PPRO part is on.
func (c PPROConfig) enabled() bool { return c.APIToken != "" }

// Sandbox is an http.Handler serving every path under /sandbox/.
type Sandbox struct {
	cfg      Config
	basePath string // the path of PublicURL ("/sandbox"); page links start with it
	db       *sql.DB
	log      *slog.Logger
	now      func() time.Time
	handler  http.Handler
	webhooks *webhookSender

	// stripeScope scopes Stripe idempotency keys to the API key without
	// storing the key itself.
	stripeScope string

	// mu serialises every request that reads or changes provider state. It
	// is the simplest way to make an idempotency check and the write it
	// guards atomic, and to let reads expire sessions lazily; a sandbox
	// serves one developer, so throughput does not matter.
	mu sync.Mutex
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// New opens (or creates) the sandbox database at cfg.DBPath and returns a
// ready handler. Webhook deliveries left pending by a previous run resume.
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	if err := validateConfig(&cfg); err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	pub, _ := url.Parse(cfg.PublicURL) // validated above

	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sandbox: migrations: %w", err)
	}
	db, err := sqlitedb.Open(ctx, cfg.DBPath, migrations)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}

	s := &Sandbox{
		cfg:         cfg,
		basePath:    pub.Path,
		db:          db,
		log:         cfg.Logger,
		now:         cfg.Now,
		stripeScope: keyScope(cfg.Stripe.SecretKey),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	endpoints := map[string]webhookEndpoint{}
	if cfg.Stripe.WebhookURL != "" {
		endpoints[providerStripe] = webhookEndpoint{
			url:     cfg.Stripe.WebhookURL,
			headers: stripeSigner(cfg.Stripe.WebhookSecret),
		}
	}
	if cfg.PPRO.enabled() && cfg.PPRO.WebhookURL != "" {
		endpoints[providerPPRO] = webhookEndpoint{url: cfg.PPRO.WebhookURL, headers: pproWebhookHeaders}
	}
	s.webhooks = newWebhookSender(db, client, s.log, endpoints)
	s.handler = s.routes()

	if err := s.webhooks.resume(ctx); err != nil {
		s.webhooks.close()
		db.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	return s, nil
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
	if !cfg.Stripe.enabled() && (cfg.Stripe.WebhookURL != "" || cfg.Stripe.WebhookSecret != "") {
		return errors.New("Stripe.SecretKey is required when any other Stripe setting is given")
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
		if c.MerchantID != "" || c.WebhookURL != "" || c.RedirectMethod != "" {
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
	if c.WebhookURL != "" && !absoluteHTTPURL(c.WebhookURL) {
		return fmt.Errorf("PPRO.WebhookURL %q is not an absolute http(s) URL", c.WebhookURL)
	}
	return nil
}

func absoluteHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ServeHTTP serves every path under /sandbox/.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// Close stops webhook retries, waits for in-flight deliveries and closes
// the database. Deliveries still pending resume at the next New.
func (s *Sandbox) Close() error {
	s.webhooks.close()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("sandbox: close database: %w", err)
	}
	return nil
}

func (s *Sandbox) routes() http.Handler {
	mux := http.NewServeMux()

	// Pages get their own security headers and refuse cross-origin form
	// posts; the APIs are called server to server and authenticate by key.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.handleCrossOrigin))
	page := func(h http.HandlerFunc) http.Handler {
		return pageHeaders(cop.Handler(h))
	}

	mux.Handle("GET /sandbox/{$}", page(s.handleIndex))
	mux.Handle("GET /sandbox/static/", pageHeaders(staticHandler()))
	mux.Handle("/sandbox/", page(s.handlePageNotFound))

	if s.cfg.Stripe.enabled() {
		s.stripeAPIRoutes(mux)
		s.stripePageRoutes(mux, page)
	}
	if s.cfg.PPRO.enabled() {
		s.pproAPIRoutes(mux)
		s.pproPageRoutes(mux, page, cop)
	}
	return mux
}

// pageURL is the browser-facing absolute URL of a sandbox path such as
// "/stripe/checkout/cs_test_…".
func (s *Sandbox) pageURL(path string) string {
	return s.cfg.PublicURL + path
}

// keyScope names an API key in the database without storing it.
func keyScope(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}
