// Command storefront is a merchant storefront that collects a shopper's
// permission to charge their Amazon Pay account later, through Stripe (and,
// without credentials, through the built-in sandbox).
//
// main only wires: configuration, the store, the providers, the routes and a
// graceful shutdown.
package main

import (
	"context"
	"crypto/rand"
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
	"syscall"
	"time"

	"example.com/storefront/handlers"
	"example.com/storefront/payments"
	"example.com/storefront/payments/ppro"
	"example.com/storefront/payments/stripeprovider"
	"example.com/storefront/sandbox"
	"example.com/storefront/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	getenv, err := withDotEnv(os.Getenv, ".env")
	if err == nil {
		err = run(ctx, getenv, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "storefront:", err)
		os.Exit(1)
	}
}

// run serves the storefront until ctx is done.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: logLevel(cfg.LogLevel)}))

	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("DATA_DIR: %w", err)
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

	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "storefront.db"))
	if err != nil {
		return err
	}
	defer st.Close()

	// Listen before building the rest, so a busy port fails at once and the
	// real port (ADDR may end in :0) is known for the URLs.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("ADDR: %w", err)
	}
	defer ln.Close()
	baseURL := cfg.BaseURL
	if baseURL == "" {
		baseURL = defaultBaseURL(cfg.Addr, ln.Addr())
	}
	loopback := "http://" + loopbackAddr(ln.Addr())

	root := http.NewServeMux()
	providers, formActionOrigins, closeSandbox, err := buildProviders(ctx, cfg, baseURL, loopback, root, logger)
	if err != nil {
		return err
	}
	defer closeSandbox()

	app, err := handlers.New(handlers.Config{
		Store:             st,
		Providers:         providers,
		Sessions:          handlers.NewSessionStore(sessionKeys, strings.HasPrefix(baseURL, "https://")),
		Merchant:          cfg.Merchant,
		Plan:              cfg.Plan,
		BaseURL:           baseURL,
		FormActionOrigins: formActionOrigins,
		Logger:            logger,
	})
	if err != nil {
		return err
	}
	root.Handle("/", app)

	srv := &http.Server{
		Handler:           handlers.RequestLog(logger, root),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      90 * time.Second, // provider calls may take a while
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	attrs := []any{"url", baseURL, "addr", ln.Addr().String(), "data_dir", cfg.DataDir}
	for _, p := range providers {
		attrs = append(attrs, p.Name(), string(p.Mode()))
	}
	logger.Info("storefront listening", attrs...)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// buildProviders makes Stripe and PPRO from their credentials; a provider
// without credentials runs against the built-in sandbox, mounted on root at
// /sandbox/. It also returns the origins of plain-http provider pages, which
// the checkout form's CSP must allow.
func buildProviders(ctx context.Context, cfg config, baseURL, loopback string, root *http.ServeMux, logger *slog.Logger) (
	providers []payments.Provider, formActionOrigins []string, closeSandbox func(), err error,
) {
	closeSandbox = func() {}
	sbCfg := sandbox.Config{
		DBPath:       filepath.Join(cfg.DataDir, "sandbox.db"),
		PublicURL:    baseURL + "/sandbox",
		MerchantName: cfg.Merchant,
		Logger:       logger.With("component", "sandbox"),
	}
	// Server-to-server calls to the sandbox go to our own listener over
	// loopback, never out through BASE_URL and back in. The sandbox and the
	// app share fresh secrets on every start: they are the same process.
	httpClient := &http.Client{Timeout: 30 * time.Second}
	stripeCfg := stripeprovider.Config{
		SecretKey:         cfg.StripeSecretKey,
		WebhookSecret:     cfg.StripeWebhookSecret,
		APIURL:            cfg.StripeAPIURL,
		HTTPClient:        httpClient,
		MaxNetworkRetries: 2,
	}
	if cfg.StripeSecretKey == "" {
		stripeCfg.SecretKey = "sk_test_sandbox_" + randomHex(12)
		stripeCfg.WebhookSecret = "whsec_sandbox_" + randomHex(16)
		stripeCfg.APIURL = loopback + "/sandbox/stripe"
		stripeCfg.Sandbox = true
		sbCfg.Stripe = sandbox.StripeConfig{
			SecretKey:     stripeCfg.SecretKey,
			WebhookURL:    loopback + "/webhooks/stripe",
			WebhookSecret: stripeCfg.WebhookSecret,
		}
	} else if origin, ok := plainHTTPOrigin(cfg.StripeAPIURL); ok {
		formActionOrigins = append(formActionOrigins, origin) // e.g. a sandbox on another port
	}
	pproCfg := ppro.Config{BaseURL: cfg.PPROAPIURL, Token: cfg.PPROToken, MerchantID: cfg.PPROMerchantID, HTTPClient: httpClient}
	pproMode := ppro.ModeFor(cfg.PPROAPIURL)
	if cfg.PPROToken == "" {
		pproCfg.BaseURL = loopback + "/sandbox/ppro"
		pproCfg.Token = "ppro_sandbox_" + randomHex(12)
		pproCfg.MerchantID = "merch_sandbox"
		pproMode = payments.ModeSandbox
		sbCfg.PPRO = sandbox.PPROConfig{
			APIToken:   pproCfg.Token,
			MerchantID: pproCfg.MerchantID,
			WebhookURL: loopback + "/webhooks/ppro",
		}
	} else if origin, ok := plainHTTPOrigin(cfg.PPROAPIURL); ok {
		formActionOrigins = append(formActionOrigins, origin)
	}

	if cfg.StripeSecretKey == "" || cfg.PPROToken == "" {
		sb, err := sandbox.New(ctx, sbCfg)
		if err != nil {
			return nil, nil, nil, err
		}
		closeSandbox = func() { sb.Close() }
		root.Handle("/sandbox/", sb)
	}
	stripeProvider, err := stripeprovider.New(stripeCfg)
	if err != nil {
		closeSandbox()
		return nil, nil, nil, err
	}
	pproClient, err := ppro.NewClient(pproCfg)
	if err != nil {
		closeSandbox()
		return nil, nil, nil, err
	}
	providers = []payments.Provider{stripeProvider, ppro.NewProvider(pproClient, pproMode, "")}
	return providers, formActionOrigins, closeSandbox, nil
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

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func logLevel(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(s))
	return l
}
