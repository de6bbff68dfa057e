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
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
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

// browser is the one Chromium that every browser test of this package
// shares: starting it takes seconds, a fresh browser context per test (its
// own cookies and storage, like an incognito window) takes milliseconds.
var browser struct {
	once   sync.Once
	ctx    context.Context // the browser's first tab; cancelling it ends the browser
	cancel context.CancelFunc
	err    error
}

// TestMain stops the shared browser once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// newBrowser returns a context for a fresh browser context in the shared
// Chromium, started on first use, closed when the test ends.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	browser.once.Do(func() {
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
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
		browser.ctx = ctx
		browser.cancel = func() { cancelCtx(); cancelAlloc() }
		browser.err = chromedp.Run(ctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("start Chromium: %v", browser.err)
	}
	// A new browser context (cookies, storage) and a window in it. This is
	// what chromedp.WithNewBrowserContext does, except that headless
	// Chromium only opens a tab in a new context as a new window.
	var contextID cdp.BrowserContextID
	var targetID target.ID
	err := chromedp.Run(browser.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		exec := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser)
		var err error
		if contextID, err = target.CreateBrowserContext().WithDisposeOnDetach(true).Do(exec); err != nil {
			return err
		}
		targetID, err = target.CreateTarget("about:blank").WithBrowserContextID(contextID).WithNewWindow(true).Do(exec)
		return err
	}))
	if err != nil {
		t.Fatalf("new browser context: %v", err)
	}
	ctx, cancelCtx := chromedp.NewContext(browser.ctx, chromedp.WithTargetID(targetID))
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		chromedp.Run(browser.ctx, chromedp.ActionFunc(func(ctx context.Context) error {
			return target.DisposeBrowserContext(contextID).Do(cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser))
		}))
	})
	return ctx
}

// fillAndSubmit fills the storefront's form as a shopper in the US would,
// ticks the opt-in, and submits.
func fillAndSubmit(appURL, name, email, provider string, payNow bool) chromedp.Tasks {
	tasks := chromedp.Tasks{
		chromedp.Navigate(appURL + "/"),
		chromedp.WaitVisible(`#name`, chromedp.ByQuery),
		chromedp.SendKeys(`#name`, name, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SetValue(`#country`, "US", chromedp.ByQuery),
		chromedp.Click(`input[name=provider][value=`+provider+`]`, chromedp.ByQuery),
	}
	if payNow {
		tasks = append(tasks, chromedp.Click(`#pay_now`, chromedp.ByQuery))
	}
	return append(tasks,
		chromedp.Click(`#consent`, chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
	)
}

// otherSite serves a sandbox on 127.0.0.1, another site than the app's
// localhost, as a real provider would be.
func otherSite(t *testing.T, cfg sandbox.Config) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: mux}}
	srv.Start()
	t.Cleanup(srv.Close)
	cfg.DBPath = filepath.Join(t.TempDir(), "sandbox.db")
	cfg.PublicURL = srv.URL + "/sandbox"
	cfg.MerchantName = "Northwind Coffee Roasters"
	sb, err := sandbox.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	mux.Handle("/sandbox/", sb)
	return srv
}

// The whole Stripe flow by clicks in a real browser, with the provider on
// another site than the app (app on localhost, sandbox on 127.0.0.1): the
// success page only shows the outcome to the browser that started the
// setup, so reaching it proves the session cookie survived the cross-site
// return.
func TestBrowserStripeFlowAcrossSites(t *testing.T) {
	ctx := newBrowser(t)

	const key = "sk_test_browser_sandbox"
	provider := otherSite(t, sandbox.Config{Stripe: sandbox.StripeConfig{SecretKey: key}})
	app := start(t, map[string]string{
		"ADDR":              "localhost:0",
		"STRIPE_SECRET_KEY": key,
		"STRIPE_API_URL":    provider.URL + "/sandbox/stripe",
	})
	if !strings.HasPrefix(app.URL, "http://localhost:") || !strings.HasPrefix(provider.URL, "http://127.0.0.1:") {
		t.Fatalf("app %s and provider %s must be different sites", app.URL, provider.URL)
	}

	var checkoutURL, approvalURL, finalURL, status, message string
	err := chromedp.Run(ctx,
		fillAndSubmit(app.URL, "Ada Lovelace", "ada@example.com", "stripe", false),

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

// The whole PPRO flow by clicks, with the first payment, PPRO's pages on
// another site than the app.
func TestBrowserPPROFlowAcrossSites(t *testing.T) {
	ctx := newBrowser(t)
	const token, merchant = "ppro_browser_token", "merch_browser"
	provider := otherSite(t, sandbox.Config{PPRO: sandbox.PPROConfig{APIToken: token, MerchantID: merchant}})
	app := start(t, map[string]string{
		"ADDR":             "localhost:0",
		"PPRO_API_TOKEN":   token,
		"PPRO_MERCHANT_ID": merchant,
		"PPRO_API_URL":     provider.URL + "/sandbox/ppro",
	})

	var approvalURL, finalURL, status, firstPayment, message string
	err := chromedp.Run(ctx,
		fillAndSubmit(app.URL, "Grace Hopper", "grace@example.com", "ppro", true),

		// Amazon Pay's approval, through PPRO, on the other site.
		chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
		chromedp.Location(&approvalURL),
		chromedp.Click(`button[name=decision][value=approve]`, chromedp.ByQuery),

		// Back at the shop.
		chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		chromedp.Location(&finalURL),
		chromedp.AttributeValue(`[data-testid=outcome]`, "data-status", &status, nil, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid=first-payment]`, "data-status", &firstPayment, nil, chromedp.ByQuery),
		chromedp.Text(`[data-testid=outcome-message]`, &message, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("browser flow: %v (at approval %q, final %q)\napp logs:\n%s", err, approvalURL, finalURL, app.Logs)
	}
	if !strings.HasPrefix(approvalURL, provider.URL+"/sandbox/ppro/authenticate/agr_") {
		t.Errorf("approval page at %s, want it on %s", approvalURL, provider.URL)
	}
	if !strings.HasPrefix(finalURL, app.URL+"/return?mandate=md_") {
		t.Errorf("ended at %s", finalURL)
	}
	if status != "active" || firstPayment != "succeeded" || !strings.Contains(message, "PPRO confirmed") {
		t.Errorf("outcome %q, first payment %q: %q", status, firstPayment, message)
	}
}
