package main

import (
	"context"
	"example.com/storefront/internal/pgtest"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
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

	"example.com/storefront/internal/pagetest"
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

// TestMain stops the shared browser and the PostgreSQL server (pgtest)
// once every test has run.
func TestMain(m *testing.M) {
	code := pgtest.Run(m)
	if browser.cancel != nil {
		browser.cancel()
	}
	os.Exit(code)
}

// newBrowser returns a context for a fresh browser context in the shared
// Chromium, started on first use, closed when the test ends (or after 30 s).
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	return newBrowserFor(t, 30*time.Second)
}

// newBrowserFor is newBrowser with a longer or shorter time limit.
func newBrowserFor(t *testing.T, limit time.Duration) context.Context {
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
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
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
	if status != "active" || firstPayment != "succeeded" || !strings.Contains(message, "through PPRO") {
		t.Errorf("outcome %q, first payment %q: %q", status, firstPayment, message)
	}
}

// A revocation that starts outside the app, in a real browser: the shopper
// sets up a PPRO agreement in the all-sandbox demo, then revokes it "in
// their Amazon account" from the sandbox's page. Nothing of ours is
// visited in between; the webhook alone brings the mandate to revoked,
// which the shopper's own mandate page then shows.
func TestBrowserRevocationFromTheSandboxPage(t *testing.T) {
	ctx := newBrowser(t)
	app := start(t, map[string]string{"ADDR": "localhost:0"})

	var finalURL, status, button string
	err := chromedp.Run(ctx,
		fillAndSubmit(app.URL, "Grace Hopper", "grace@example.com", "ppro", false),
		chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
		chromedp.Click(`button[name=decision][value=approve]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		chromedp.Location(&finalURL),
		chromedp.AttributeValue(`[data-testid=outcome]`, "data-status", &status, nil, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("setup: %v (at %q)\napp logs:\n%s", err, finalURL, app.Logs)
	}
	u, err := url.Parse(finalURL)
	if err != nil || status != "active" || !strings.HasPrefix(u.Query().Get("mandate"), "md_") {
		t.Fatalf("setup ended at %s with %q", finalURL, status)
	}
	mandatePage := app.URL + "/mandates/" + u.Query().Get("mandate")

	const revoke = `button[name=by][value=consumer]`
	err = chromedp.Run(ctx,
		chromedp.Navigate(app.URL+"/sandbox/"),
		chromedp.WaitVisible(revoke, chromedp.ByQuery),
		chromedp.Text(revoke, &button, chromedp.ByQuery),
		chromedp.Click(revoke, chromedp.ByQuery),
		chromedp.WaitNotPresent(revoke, chromedp.ByQuery), // back on the index, the agreement no longer active
	)
	if err != nil {
		t.Fatalf("sandbox page: %v\napp logs:\n%s", err, app.Logs)
	}
	if !strings.Contains(button, "Revoke as the shopper") {
		t.Errorf("the button says %q", button)
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := chromedp.Run(ctx,
			chromedp.Navigate(mandatePage),
			chromedp.WaitVisible(`[data-testid=shopper-mandate]`, chromedp.ByQuery),
			chromedp.AttributeValue(`[data-testid=shopper-mandate]`, "data-status", &status, nil, chromedp.ByQuery),
		); err != nil {
			t.Fatalf("mandate page: %v", err)
		}
		if status == "revoked" {
			break
		}
		if time.Now().After(deadline) {
			app.stop() // its logs are complete, and no longer written to
			t.Fatalf("the mandate page still shows %q 10 s after the revocation\napp logs:\n%s", status, app.Logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The demo clock in a real browser: in an all-sandbox app with a mandate a
// shopper has just made active, the merchant logs in, opens the mandate,
// presses "Advance one month", and sees period 2 paid on the mandate's
// page, with the clock's offset shown.
func TestBrowserDemoClockChargesNextPeriod(t *testing.T) {
	ctx := newBrowser(t)
	const password = "correct horse battery staple"
	app := start(t, map[string]string{"ADDR": "localhost:0", "ADMIN_PASSWORD": password})

	// The shopper's side, without JavaScript, to be quick.
	b := pagetest.NewBrowser(t)
	home := b.Get(app.URL + "/").Expect(http.StatusOK)
	form := map[string][]string{
		"name": {"Grace Hopper"}, "email": {"grace@example.com"}, "country": {"US"}, "provider": {"stripe"},
		"consent": {"yes"}, "terms_version": {home.InputValue("terms_version")}, "terms_sha256": {home.InputValue("terms_sha256")},
	}
	checkout := b.Follow(b.Post(app.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	approval := b.Follow(b.Do(checkout.Submit("method", "amazon_pay", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	success := b.Follow(b.Do(approval.Submit("decision", "approve", nil)).Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := success.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("outcome %q", got)
	}

	var id, label, before, after, offset string
	err := chromedp.Run(ctx,
		chromedp.Navigate(app.URL+"/admin/login"),
		chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Submit(`#password`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=mandate-row]`, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid=mandate-row]`, "data-id", &id, nil, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("log in: %v\napp logs:\n%s", err, app.Logs)
	}
	err = chromedp.Run(ctx,
		chromedp.Navigate(app.URL+"/admin/mandates/"+id),
		chromedp.WaitVisible(`[data-testid=advance-period]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=advance-period]`, &label, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid=period][data-n="2"]`, "data-status", &before, nil, chromedp.ByQuery),
		chromedp.Click(`[data-testid=advance-period]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=period][data-n="2"][data-status=paid]`, chromedp.ByQuery),
		chromedp.Location(&after),
		chromedp.Text(`[data-testid=clock-offset]`, &offset, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("advance the clock: %v (label %q, period 2 was %q, at %q)\napp logs:\n%s", err, label, before, after, app.Logs)
	}
	if label != "Advance one month" || before != "upcoming" {
		t.Errorf("button %q, period 2 %q before advancing; want \"Advance one month\" and upcoming", label, before)
	}
	// Back on the mandate's page, at its billing, saying what the move did.
	if after != app.URL+"/admin/mandates/"+id+"?moved=1&by=period#billing" || offset == "" {
		t.Errorf("after advancing: at %s, offset %q; want the mandate's billing with the offset shown", after, offset)
	}
}

// The merchant's side by clicks, in the app as `go run .` runs it: a
// shopper sets up a mandate through the storefront, the merchant logs in at
// /admin/login, opens it, charges it and sees the charge succeed, refunds
// it, and revokes the mandate.
func TestBrowserMerchantChargesRefundsRevokes(t *testing.T) {
	ctx := newBrowser(t)
	const password = "dashboard password for the browser test"
	app := start(t, map[string]string{"ADMIN_PASSWORD": password})

	var outcome string
	err := chromedp.Run(ctx,
		fillAndSubmit(app.URL, "Ada Lovelace", "ada@example.com", "stripe", false),
		chromedp.WaitVisible(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
		chromedp.Click(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
		chromedp.Click(`button[name=decision][value=approve]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid=outcome]`, "data-status", &outcome, nil, chromedp.ByQuery),
	)
	if err != nil || outcome != "active" {
		t.Fatalf("the shopper's flow: %v, outcome %q\napp logs:\n%s", err, outcome, app.Logs)
	}

	// Log in (the dashboard sends a stranger to the login), open the mandate.
	var loginURL, id string
	err = chromedp.Run(ctx,
		chromedp.Navigate(app.URL+"/admin"),
		chromedp.WaitVisible(`#password`, chromedp.ByQuery),
		chromedp.Location(&loginURL),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Click(`form[action="/admin/login"] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=mandate-row] a`, chromedp.ByQuery),
		chromedp.AttributeValue(`[data-testid=mandate-row]`, "data-id", &id, nil, chromedp.ByQuery),
		chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=charge-now]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("log in and open the mandate: %v\napp logs:\n%s", err, app.Logs)
	}
	if !strings.HasPrefix(loginURL, app.URL+"/admin/login") {
		t.Errorf("the dashboard sent a stranger to %s", loginURL)
	}

	// Charge the plan's amount (the form's default), confirmed on the
	// page that says it is what the terms say.
	var chargedAt, flash, status, terms string
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid=charge-now]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=charge-confirm]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=terms-price]`, &terms, chromedp.ByQuery),
		chromedp.Click(`[data-testid=confirm-charge]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=flash]`, chromedp.ByQuery),
		chromedp.Location(&chargedAt),
		chromedp.Text(`[data-testid=flash]`, &flash, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("charge: %v\napp logs:\n%s", err, app.Logs)
	}
	_, chargeID, _ := strings.Cut(chargedAt, "?charge=")
	charge := `[data-testid=charge][data-id="` + chargeID + `"]`
	if err := chromedp.Run(ctx, chromedp.Text(charge+` [data-testid=charge-status]`, &status, chromedp.ByQuery)); err != nil {
		t.Fatalf("the charge at %s: %v", chargedAt, err)
	}
	if flash != "Charged 12.00 USD." || status != "succeeded" || terms != "each payment is 12.00 USD" {
		t.Fatalf("after charging: flash %q, charge status %q; the confirmation said %q", flash, status, terms)
	}

	// Refund it in full (the refund form's default).
	var refund string
	err = chromedp.Run(ctx,
		chromedp.Click(charge+` [data-testid=refund-form] button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(charge+` li[data-testid=refund]`, chromedp.ByQuery),
		chromedp.AttributeValue(charge+` li[data-testid=refund]`, "data-status", &refund, nil, chromedp.ByQuery),
		chromedp.Text(`[data-testid=flash]`, &flash, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("refund: %v\napp logs:\n%s", err, app.Logs)
	}
	// Stripe's refunds are pending for a few (sandbox) seconds.
	if (refund != "pending" || flash != "The refund of 12.00 USD is pending.") && (refund != "succeeded" || flash != "Refunded 12.00 USD.") {
		t.Errorf("after refunding: refund %q, flash %q", refund, flash)
	}

	// Revoke the mandate.
	var mandateStatus, revokedBy string
	err = chromedp.Run(ctx,
		chromedp.Click(`[data-testid=revoke]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=revoke-confirm]`, chromedp.ByQuery),
		chromedp.Click(`[data-testid=confirm-revoke]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid=revoked-by]`, chromedp.ByQuery),
		chromedp.Text(`[data-testid=mandate-status]`, &mandateStatus, chromedp.ByQuery),
		chromedp.Text(`[data-testid=revoked-by]`, &revokedBy, chromedp.ByQuery),
		chromedp.Text(`[data-testid=flash]`, &flash, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("revoke: %v\napp logs:\n%s", err, app.Logs)
	}
	if mandateStatus != "revoked" || revokedBy != "merchant" || !strings.HasPrefix(flash, "Revoked:") {
		t.Errorf("after revoking: status %q, revoked by %q, flash %q", mandateStatus, revokedBy, flash)
	}
	var charges int
	if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll('[data-testid=charge-form]').length`, &charges)); err != nil || charges != 0 {
		t.Errorf("a revoked mandate still offers %d charge forms (%v)", charges, err)
	}
}
