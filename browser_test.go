package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"example.com/storefront/sandbox"
)

// chromium finds the system Chromium, or skips (fails in CI).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	msg := "Chromium not found: install Debian's chromium package to run the browser test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// No UserDataDir: chromedp then makes a fresh profile directory and
		// removes it itself once the browser has exited.
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	return ctx
}

// The whole Stripe flow by clicks in a real browser, with the provider on
// another site than the app (app on localhost, sandbox on 127.0.0.1): the
// success page only shows the outcome to the browser that started the
// setup, so reaching it proves the session cookie survived the cross-site
// return.
func TestBrowserStripeFlowAcrossSites(t *testing.T) {
	ctx := newBrowser(t)

	// The sandbox as another site.
	mux := http.NewServeMux()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	provider := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	provider.Start()
	t.Cleanup(provider.Close)
	const key = "sk_test_browser_sandbox"
	sb, err := sandbox.New(context.Background(), sandbox.Config{
		DBPath:       filepath.Join(t.TempDir(), "sandbox.db"),
		PublicURL:    provider.URL + "/sandbox",
		MerchantName: "Northwind Coffee Roasters",
		Stripe:       sandbox.StripeConfig{SecretKey: key},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	mux.Handle("/sandbox/", sb)

	app := start(t, map[string]string{
		"ADDR":              "localhost:0",
		"STRIPE_SECRET_KEY": key,
		"STRIPE_API_URL":    provider.URL + "/sandbox/stripe",
	})
	if !strings.HasPrefix(app.URL, "http://localhost:") || !strings.HasPrefix(provider.URL, "http://127.0.0.1:") {
		t.Fatalf("app %s and provider %s must be different sites", app.URL, provider.URL)
	}

	var checkoutURL, approvalURL, finalURL, status, message string
	err = chromedp.Run(ctx,
		chromedp.Navigate(app.URL+"/"),
		chromedp.WaitVisible(`#name`, chromedp.ByQuery),
		chromedp.SendKeys(`#name`, "Ada Lovelace", chromedp.ByQuery),
		chromedp.SendKeys(`#email`, "ada@example.com", chromedp.ByQuery),
		chromedp.SetValue(`#country`, "US", chromedp.ByQuery),
		chromedp.Click(`input[name=provider][value=stripe]`, chromedp.ByQuery),
		chromedp.Click(`#consent`, chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),

		// Stripe's hosted checkout, on the other site.
		chromedp.WaitVisible(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
		chromedp.Location(&checkoutURL),
		chromedp.Click(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),

		// Amazon Pay's approval page.
		chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
		chromedp.Location(&approvalURL),
		chromedp.Click(`button[name=decision][value=approve]`, chromedp.ByQuery),

		// Back at the shop.
		chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		chromedp.Location(&finalURL),
		chromedp.AttributeValue(`[data-testid=outcome]`, "data-status", &status, nil, chromedp.ByQuery),
		chromedp.Text(`[data-testid=outcome-message]`, &message, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("browser flow: %v (at checkout %q, approval %q, final %q)\napp logs:\n%s", err, checkoutURL, approvalURL, finalURL, app.Logs)
	}
	if !strings.HasPrefix(checkoutURL, provider.URL+"/sandbox/stripe/checkout/") || !strings.HasPrefix(approvalURL, provider.URL+"/sandbox/") {
		t.Errorf("provider pages at %s and %s, want them on %s", checkoutURL, approvalURL, provider.URL)
	}
	if !strings.HasPrefix(finalURL, app.URL+"/success?session_id=cs_test_") {
		t.Errorf("ended at %s", finalURL)
	}
	if status != "active" || !strings.Contains(message, "12.00 USD every month") {
		t.Errorf("outcome %q: %q", status, message)
	}
}
