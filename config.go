package main

import (
	"bufio"
	"encoding/hex"
	"errors"
	"example.com/storefront/pgdb"
	"fmt"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/storefront/billing"
	"example.com/storefront/mailer"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
)

// config is the whole configuration, read from the environment. Every
// variable is in the README and in .env.example.
type config struct {
	Addr    string
	BaseURL string // "" until the listener is up: then derived from ADDR
	DataDir string
	// SessionKeys are the cookie secrets, newest first; nil means generate
	// one and keep it in DataDir.
	SessionKeys [][]byte
	// DatabaseURL, when set, keeps the storefront's data in PostgreSQL
	// (shared by several instances); "" keeps it in DATA_DIR's SQLite file.
	DatabaseURL string

	StripeSecretKey     string
	StripeWebhookSecret string
	StripeAPIURL        string

	PPROToken         string
	PPROMerchantID    string
	PPROAPIURL        string
	PPROWebhookSecret string

	// AdminPassword guards /admin; "" means one is generated at start-up
	// and printed once.
	AdminPassword string
	// RatePerMinute is the per-client limit of the limited routes; 0 is off.
	RatePerMinute int
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// WebhookRetention is how long processed webhook events are kept.
	WebhookRetention time.Duration
	// SetupLifetime is how long an unfinished Stripe Checkout Session
	// stays open (its explicit expires_at).
	SetupLifetime time.Duration
	// SandboxLatency holds the built-in sandbox's API answers back.
	SandboxLatency time.Duration
	// SandboxURL is a sandbox in its own process (`storefront sandbox`),
	// shared by several instances; "" → the built-in one, on /sandbox/.
	SandboxURL string

	// ShutdownDrain is how long, after SIGTERM, the process keeps serving
	// while /healthz answers 503, so that a load balancer stops sending it
	// requests before it closes its listener.
	ShutdownDrain time.Duration
	// WorkerInterval is the time between the background worker's passes;
	// WorkerBatch bounds each kind of its work per pass; WorkerInFlight
	// the scheduled payments of a batch sent at once.
	WorkerInterval time.Duration
	WorkerBatch    int
	WorkerInFlight int
	// WorkerLease is how long a worker's claim on a mandate's billing
	// lasts (another instance takes a dead one's work after it).
	WorkerLease time.Duration
	// Retries are the waits before the retries of a declined scheduled
	// payment, counted from its due time.
	Retries []time.Duration
	// ReconcileAfter is how long a setup may stay pending before the worker
	// asks its provider.
	ReconcileAfter time.Duration

	Merchant      string
	MerchantEmail string
	Plan          payments.Plan
	LogLevel      string

	// SMTP is the mail server messages to shoppers go through (SMTP_URL);
	// nil without one: in an all-sandbox demo they land in the sandbox's
	// mailbox only, and with real credentials they wait in the outbox.
	SMTP *mailer.Config
	// MailFrom is the sender of every message (MAIL_FROM; by default the
	// merchant's name and MERCHANT_EMAIL).
	MailFrom string
	// MailDisputes: tell the shopper when one of their payments is
	// disputed (off by default).
	MailDisputes bool
}

// Live reports whether a provider has real credentials: then the built-in
// sandbox is not offered beside it.
func (c config) Live() bool { return c.StripeSecretKey != "" || c.PPROToken != "" }

// configError names the variable that is wrong.
type configError struct {
	Var string
	Msg string
}

func (e *configError) Error() string { return e.Var + ": " + e.Msg }

// loadConfig reads and checks every variable; the first bad one stops it.
func loadConfig(getenv func(string) string) (config, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := config{
		Addr:                env("ADDR", "localhost:8080"),
		DataDir:             env("DATA_DIR", "./data"),
		StripeSecretKey:     env("STRIPE_SECRET_KEY", ""),
		StripeWebhookSecret: env("STRIPE_WEBHOOK_SECRET", ""),
		StripeAPIURL:        env("STRIPE_API_URL", ""),
		PPROToken:           env("PPRO_API_TOKEN", ""),
		PPROMerchantID:      env("PPRO_MERCHANT_ID", ""),
		PPROAPIURL:          env("PPRO_API_URL", ""),
		PPROWebhookSecret:   env("PPRO_WEBHOOK_SECRET", ""),
		AdminPassword:       env("ADMIN_PASSWORD", ""),
		Merchant:            env("MERCHANT_NAME", "Northwind Coffee Roasters"),
		MerchantEmail:       env("MERCHANT_EMAIL", ""),
		LogLevel:            env("LOG_LEVEL", "info"),
	}

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, &configError{"ADDR", fmt.Sprintf("%q is not host:port (for example localhost:8080 or :8080)", c.Addr)}
	}
	if v := env("BASE_URL", ""); v != "" {
		u, err := url.Parse(v)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			return c, &configError{"BASE_URL", fmt.Sprintf("%q is not an absolute http(s) URL", v)}
		case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
			return c, &configError{"BASE_URL", fmt.Sprintf("%q must be just scheme://host[:port], without a path or query", v)}
		}
		c.BaseURL = u.Scheme + "://" + u.Host
	}
	if c.DataDir == "" {
		return c, &configError{"DATA_DIR", "must not be empty"}
	}
	if v := env("SESSION_KEYS", ""); v != "" {
		for i, k := range strings.Split(v, ",") {
			b, err := hex.DecodeString(strings.TrimSpace(k))
			if err != nil || len(b) < 32 {
				return c, &configError{"SESSION_KEYS", fmt.Sprintf("key %d is not at least 64 hex characters (make one with: openssl rand -hex 32)", i+1)}
			}
			c.SessionKeys = append(c.SessionKeys, b)
		}
	}
	if v := env("DATABASE_URL", ""); v != "" {
		if !pgdb.IsURL(v) {
			return c, &configError{"DATABASE_URL", "must be a PostgreSQL URL, postgres://user:password@host:5432/dbname (leave it unset to keep the data in SQLite files in DATA_DIR)"}
		}
		c.DatabaseURL = v
		// Every instance on the database must read the others' cookies,
		// signed links and admin sessions: keys generated per instance
		// would break them.
		if c.SessionKeys == nil {
			return c, &configError{"SESSION_KEYS", "is required with DATABASE_URL: every instance on the database must share the same keys, or each one's cookies and signed links fail on the others (make one with: openssl rand -hex 32)"}
		}
		if c.AdminPassword == "" {
			return c, &configError{"ADMIN_PASSWORD", "is required with DATABASE_URL: a password generated per instance would let the merchant sign in on one instance only"}
		}
	}

	if k := c.StripeSecretKey; k != "" && !hasAnyPrefix(k, "sk_test_", "sk_live_", "rk_test_", "rk_live_") {
		return c, &configError{"STRIPE_SECRET_KEY", "must be a secret key starting sk_test_ or sk_live_ (or a restricted rk_ key), not a publishable key"}
	}
	if hasAnyPrefix(c.StripeSecretKey, "sk_live_", "rk_live_") && c.StripeWebhookSecret == "" {
		return c, &configError{"STRIPE_WEBHOOK_SECRET", "is required with a live key: without it a shopper who closes the tab leaves the mandate pending while Stripe holds their saved payment method (create the endpoint in the Dashboard and copy its signing secret)"}
	}
	if c.StripeWebhookSecret != "" && c.StripeSecretKey == "" {
		return c, &configError{"STRIPE_WEBHOOK_SECRET", "is set but STRIPE_SECRET_KEY is not; the built-in sandbox signs its own webhooks"}
	}
	if s := c.StripeWebhookSecret; s != "" && !strings.HasPrefix(s, "whsec_") {
		return c, &configError{"STRIPE_WEBHOOK_SECRET", "must start with whsec_ (the signing secret of the webhook endpoint, or from stripe listen)"}
	}
	if v := c.StripeAPIURL; v != "" {
		if c.StripeSecretKey == "" {
			return c, &configError{"STRIPE_API_URL", "is set but STRIPE_SECRET_KEY is not; without a key the built-in sandbox is used"}
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &configError{"STRIPE_API_URL", fmt.Sprintf("%q is not an absolute http(s) URL", v)}
		}
	}

	switch {
	case c.PPROToken != "" && c.PPROMerchantID == "":
		return c, &configError{"PPRO_MERCHANT_ID", "is required with PPRO_API_TOKEN (it is sent as Merchant-Id)"}
	case c.PPROToken == "" && c.PPROMerchantID != "":
		return c, &configError{"PPRO_API_TOKEN", "is required with PPRO_MERCHANT_ID"}
	case c.PPROToken == "" && c.PPROAPIURL != "":
		return c, &configError{"PPRO_API_URL", "is set but PPRO_API_TOKEN is not; without a token the built-in sandbox is used"}
	case c.PPROToken == "" && c.PPROWebhookSecret != "":
		return c, &configError{"PPRO_WEBHOOK_SECRET", "is set but PPRO_API_TOKEN is not; the built-in sandbox signs its own webhooks"}
	}
	if c.PPROToken != "" {
		if c.PPROAPIURL == "" {
			c.PPROAPIURL = ppro.SandboxURL
		}
		if u, err := url.Parse(c.PPROAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, &configError{"PPRO_API_URL", fmt.Sprintf("%q is not an absolute http(s) URL", c.PPROAPIURL)}
		}
	}

	if n := utf8.RuneCountInString(c.Merchant); n > 100 {
		return c, &configError{"MERCHANT_NAME", "must be at most 100 characters"}
	}
	if c.MerchantEmail == "" {
		// A sensible default that is plainly not real: the .example domain
		// is reserved for documentation.
		c.MerchantEmail = "support@" + slug(c.Merchant) + ".example"
	} else if a, err := mail.ParseAddress(c.MerchantEmail); err != nil || a.Address != c.MerchantEmail {
		return c, &configError{"MERCHANT_EMAIL", fmt.Sprintf("%q is not an email address such as support@example.com", c.MerchantEmail)}
	}
	c.Plan.Name = env("PLAN_NAME", "Coffee Club")
	if utf8.RuneCountInString(c.Plan.Name) > 100 {
		return c, &configError{"PLAN_NAME", "must be at most 100 characters"}
	}
	amount := env("PLAN_AMOUNT", "1200")
	a, err := strconv.ParseInt(amount, 10, 64)
	if err != nil || a <= 0 || a > 99_999_999 {
		return c, &configError{"PLAN_AMOUNT", fmt.Sprintf("%q is not a whole number of minor units between 1 and 99999999 (12.00 USD is 1200)", amount)}
	}
	c.Plan.Price.Amount = a
	c.Plan.Price.Currency = strings.ToUpper(env("PLAN_CURRENCY", "USD"))
	if !payments.KnownCurrency(c.Plan.Price.Currency) {
		return c, &configError{"PLAN_CURRENCY", fmt.Sprintf("%q is not a currency Amazon Pay accepts; use one of %s", c.Plan.Price.Currency, strings.Join(payments.Currencies(), ", "))}
	}
	c.Plan.Interval = payments.Interval(strings.ToLower(env("PLAN_INTERVAL", "month")))
	if !c.Plan.Interval.Valid() {
		return c, &configError{"PLAN_INTERVAL", fmt.Sprintf("%q is not one of day, week, month, year", c.Plan.Interval)}
	}
	if n := utf8.RuneCountInString(c.AdminPassword); n > 0 && n < 12 {
		return c, &configError{"ADMIN_PASSWORD", "must be at least 12 characters (or unset, to have one generated at start-up)"}
	}
	switch v := strings.ToLower(env("RATE_LIMIT", "120")); v {
	case "off", "0":
		c.RatePerMinute = 0
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1_000_000 {
			return c, &configError{"RATE_LIMIT", fmt.Sprintf("%q is not a number of requests per minute per client (or off)", v)}
		}
		c.RatePerMinute = n
	}
	if v := env("TRUSTED_PROXIES", ""); v != "" {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			p, err := netip.ParsePrefix(part)
			if err != nil {
				a, aerr := netip.ParseAddr(part)
				if aerr != nil {
					return c, &configError{"TRUSTED_PROXIES", fmt.Sprintf("%q is not an address or a network such as 10.0.0.0/8", part)}
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.TrustedProxies = append(c.TrustedProxies, p.Masked())
		}
	}
	var err2 error
	if c.WebhookRetention, err2 = durationVar(env, "WEBHOOK_RETENTION", "720h", time.Hour, 0); err2 != nil {
		return c, err2
	}
	if c.SetupLifetime, err2 = durationVar(env, "SETUP_LIFETIME", "1h", 30*time.Minute, 24*time.Hour); err2 != nil {
		return c, err2
	}
	if c.SandboxLatency, err2 = durationVar(env, "SANDBOX_LATENCY", "0s", 0, time.Minute); err2 != nil {
		return c, err2
	}
	if c.SandboxLatency > 0 && c.Live() {
		return c, &configError{"SANDBOX_LATENCY", "is set, but with provider credentials there is no sandbox"}
	}
	if c.ShutdownDrain, err2 = durationVar(env, "SHUTDOWN_DRAIN", "0s", 0, 5*time.Minute); err2 != nil {
		return c, err2
	}
	if v := env("SANDBOX_URL", ""); v != "" {
		if c.SandboxURL, err2 = originVar("SANDBOX_URL", v); err2 != nil {
			return c, err2
		}
		switch {
		case c.Live():
			return c, &configError{"SANDBOX_URL", "is set, but with provider credentials there is no sandbox"}
		case c.SandboxLatency > 0:
			return c, &configError{"SANDBOX_LATENCY", "is the sandbox process's setting when SANDBOX_URL is set"}
		}
	}
	if c.WorkerInterval, err2 = durationVar(env, "WORKER_INTERVAL", "30s", time.Second, 24*time.Hour); err2 != nil {
		return c, err2
	}
	if c.WorkerLease, err2 = durationVar(env, "WORKER_LEASE", "2m", 10*time.Second, time.Hour); err2 != nil {
		return c, err2
	}
	if c.ReconcileAfter, err2 = durationVar(env, "RECONCILE_AFTER", "10m", time.Minute, 0); err2 != nil {
		return c, err2
	}
	if v := env("WORKER_BATCH", "50"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10_000 {
			return c, &configError{"WORKER_BATCH", fmt.Sprintf("%q is not a number from 1 to 10000", v)}
		}
		c.WorkerBatch = n
	}
	if v := env("WORKER_IN_FLIGHT", "8"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return c, &configError{"WORKER_IN_FLIGHT", fmt.Sprintf("%q is not a number from 1 to 64", v)}
		}
		c.WorkerInFlight = n
	}
	if v := env("BILLING_RETRIES", "1d,3d,5d"); v != "" {
		r, err := billing.ParseRetries(v)
		if err != nil {
			return c, &configError{"BILLING_RETRIES", err.Error() + " (for example 1d,3d,5d: retries 1, 3 and 5 days after the due date)"}
		}
		c.Retries = r
	}
	if v := env("SMTP_URL", ""); v != "" {
		smtp, err := mailer.ParseURL(v, getenv("SMTP_USER"), getenv("SMTP_PASSWORD"))
		if err != nil {
			msg := err.Error() // mailer's words name the variable: say it once
			if rest, ok := strings.CutPrefix(msg, "SMTP_URL "); ok && !strings.HasPrefix(rest, "or ") {
				msg = rest
			}
			return c, &configError{"SMTP_URL", msg}
		}
		c.SMTP = &smtp
	} else if getenv("SMTP_USER") != "" || getenv("SMTP_PASSWORD") != "" {
		return c, &configError{"SMTP_URL", "is not set, but SMTP_USER or SMTP_PASSWORD is: they are the credentials for SMTP_URL's server"}
	}
	c.MailFrom = env("MAIL_FROM", (&mail.Address{Name: c.Merchant, Address: c.MerchantEmail}).String())
	if _, err := mailer.ParseFrom(c.MailFrom); err != nil {
		return c, &configError{"MAIL_FROM", strings.TrimPrefix(err.Error(), "MAIL_FROM ")}
	}
	switch v := strings.ToLower(env("MAIL_DISPUTES", "off")); v {
	case "on", "off":
		c.MailDisputes = v == "on"
	default:
		return c, &configError{"MAIL_DISPUTES", fmt.Sprintf("%q is not on or off", v)}
	}
	switch c.LogLevel = strings.ToLower(c.LogLevel); c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, &configError{"LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", c.LogLevel)}
	}
	return c, nil
}

// durationVar reads a Go duration (also whole days: "3d"), at least lo and,
// when hi is not 0, at most hi.
func durationVar(env func(name, def string) string, name, def string, lo, hi time.Duration) (time.Duration, error) {
	v := env(name, def)
	d, err := parseDuration(v)
	switch {
	case err != nil:
		return 0, &configError{name, fmt.Sprintf("%q is not a duration such as 90m, 12h or 3d", v)}
	case d < lo || (hi > 0 && d > hi):
		limits := "at least " + lo.String()
		if hi > 0 {
			limits = "between " + lo.String() + " and " + hi.String()
		}
		return 0, &configError{name, fmt.Sprintf("%q must be %s", v, limits)}
	}
	return d, nil
}

// parseDuration is time.ParseDuration, plus whole days ("3d").
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("%q is not a number of days", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// slug is a merchant name as a host label: "Northwind Coffee Roasters" →
// "northwind-coffee-roasters".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s == "" {
		return "shop"
	}
	return s
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// withDotEnv returns a getenv that falls back to the KEY=VALUE lines of the
// file at path, when it exists. Real environment variables win.
func withDotEnv(getenv func(string) string, path string) (func(string) string, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return getenv, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	vars, err := parseDotEnv(f, path)
	if err != nil {
		return nil, err
	}
	return func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return vars[name]
	}, nil
}

func parseDotEnv(f *os.File, path string) (map[string]string, error) {
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		name, value, ok := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("%s:%d: not NAME=value", path, n)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		} else if i := strings.Index(value, " #"); i >= 0 {
			value = strings.TrimSpace(value[:i]) // a trailing comment
		}
		vars[name] = value
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return vars, nil
}
