package main

// `storefront sandbox`: the sandbox as its own process, which several
// storefront instances share (SANDBOX_URL), and the instances' side of it.

import (
	"context"
	"example.com/storefront/delivery"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"example.com/storefront/compressed"
	"example.com/storefront/handlers"
	"example.com/storefront/sandbox/standalone"
)

// sandboxKeysWait is how long an instance waits for the sandbox process's
// keys at start-up: the two may be started together.
const sandboxKeysWait = 15 * time.Second

// remoteSandboxProviders runs both providers against the sandbox process
// at SANDBOX_URL, with the test keys it hands out; the demo clock is
// pushed to it.
func remoteSandboxProviders(ctx context.Context, cfg config, httpClient *http.Client, logger *slog.Logger) (builtProviders, error) {
	keys, err := standalone.FetchKeys(ctx, httpClient, cfg.SandboxURL, sandboxKeysWait)
	if err != nil {
		return builtProviders{}, &configError{"SANDBOX_URL", fmt.Sprintf("no sandbox answers at %s (start one with: storefront sandbox): %v", cfg.SandboxURL, err)}
	}
	providers, err := sandboxClients(cfg, keys, cfg.SandboxURL, httpClient, logger)
	if err != nil {
		return builtProviders{}, err
	}
	return builtProviders{
		providers:         providers,
		formActionOrigins: []string{keys.PublicURL},
		sandboxURL:        keys.PublicURL + "/sandbox/",
		remoteClock:       &standalone.Clock{URL: cfg.SandboxURL, Key: keys.StripeSecretKey, Client: httpClient},
		mailbox:           delivery.Mailbox{Box: &standalone.Mailbox{URL: cfg.SandboxURL, Key: keys.StripeSecretKey, Client: httpClient}},
		close:             func() {},
	}, nil
}

// sandboxSettings are the sandbox process's settings, from the environment.
type sandboxSettings struct {
	Addr       string
	BaseURL    string // "" until the listener is up: then derived from ADDR
	DataDir    string
	WebhookURL string // the storefront: a load balancer, or any instance
	ShopURL    string
	Merchant   string
	Latency    time.Duration
	LogLevel   string
}

func loadSandboxSettings(getenv func(string) string) (sandboxSettings, error) {
	env := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	s := sandboxSettings{
		Addr:     env("ADDR", "localhost:8090"),
		DataDir:  env("DATA_DIR", "./sandbox-data"),
		Merchant: env("MERCHANT_NAME", "Northwind Coffee Roasters"),
		LogLevel: strings.ToLower(env("LOG_LEVEL", "info")),
	}
	var err error
	if _, _, err := net.SplitHostPort(s.Addr); err != nil {
		return s, &configError{"ADDR", fmt.Sprintf("%q is not host:port (for example localhost:8090)", s.Addr)}
	}
	if v := env("BASE_URL", ""); v != "" {
		if s.BaseURL, err = originVar("BASE_URL", v); err != nil {
			return s, err
		}
	}
	v := env("WEBHOOK_URL", "")
	if v == "" {
		return s, &configError{"WEBHOOK_URL", "is required: where the storefront is reached (its load balancer, or any instance), e.g. http://localhost:8080"}
	}
	if s.WebhookURL, err = baseVar("WEBHOOK_URL", v); err != nil {
		return s, err
	}
	if s.ShopURL, err = baseVar("SHOP_URL", env("SHOP_URL", s.WebhookURL)); err != nil {
		return s, err
	}
	if utf8.RuneCountInString(s.Merchant) > 100 {
		return s, &configError{"MERCHANT_NAME", "must be at most 100 characters"}
	}
	if s.Latency, err = durationVar(env, "SANDBOX_LATENCY", "0s", 0, time.Minute); err != nil {
		return s, err
	}
	switch s.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return s, &configError{"LOG_LEVEL", fmt.Sprintf("%q is not one of debug, info, warn, error", s.LogLevel)}
	}
	return s, nil
}

// originVar reads an absolute http(s) URL that is only scheme://host[:port].
func originVar(name, v string) (string, error) {
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", &configError{name, fmt.Sprintf("%q is not an absolute http(s) URL", v)}
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
		return "", &configError{name, fmt.Sprintf("%q must be just scheme://host[:port], without a path or query", v)}
	}
	return u.Scheme + "://" + u.Host, nil
}

// baseVar reads an absolute http(s) URL that paths are appended to (a path
// prefix is allowed, behind a proxy that routes by path); no trailing slash.
func baseVar(name, v string) (string, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", &configError{name, fmt.Sprintf("%q is not an absolute http(s) URL such as http://localhost:8080", v)}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// runSandbox serves the sandbox process until ctx is done.
func runSandbox(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := loadSandboxSettings(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger := newLogger(stdout, s.LogLevel)
	// sandbox.key and the database: private to their owner, as the app's.
	if err := privateDir(s.DataDir); err != nil {
		return err
	}
	ln, baseURL, loopback, err := listen(s.Addr, s.BaseURL)
	if err != nil {
		return err
	}
	defer ln.Close()
	https := strings.HasPrefix(baseURL, "https://")

	keys, err := sandboxKeys(s.DataDir, baseURL)
	if err != nil {
		return err
	}
	// The clock is the sandbox's own (standalone.Open sets it), moved by
	// the instances.
	srv, err := standalone.Open(ctx, sandboxConfig(keys, s.DataDir, s.Merchant, s.WebhookURL, s.ShopURL+"/", s.Latency, logger, nil))
	if err != nil {
		return err
	}
	defer srv.Close()

	// The Host header is checked as the app's is: BASE_URL's host (or the
	// loopback names without one) and the loopback address. Instances name
	// the sandbox in SANDBOX_URL as browsers do, by BASE_URL.
	hs := newServer(handlers.RequestLog(logger, handlers.Harden(compressed.Handler(srv), allowedHosts(s.BaseURL, baseURL, loopback), https)), logger)
	logger.Info("sandbox listening", "url", baseURL, "addr", ln.Addr().String(), "data_dir", s.DataDir,
		"webhook_url", s.WebhookURL, "clock_offset", time.Until(srv.Now()).Round(time.Second))

	return serveUntil(ctx, hs, ln, logger, nil)
}
