package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// screenshotsDir is where TestScreenshotTour writes its pictures (the README
// names it); SCREENSHOTS_DIR overrides it.
const screenshotsDir = "screenshots"

// shot is one page of the tour: where it is, and what must be on it.
type shot struct {
	name string
	url  string // "" for the page the browser is on
	want string // a CSS selector that must be there
	// before runs first (a click, a form); the page it ends on is shot.
	before chromedp.Tasks
}

// TestScreenshotTour walks every page a shopper, a merchant and a
// presenter see (the storefront, its outcome pages for each provider and
// outcome, the shopper's own page, the sandbox's pages, the dashboard, the
// error pages) in a real browser at 1280 and 390 px wide. Each is saved as
// a PNG, so anyone can look at all pages at once, and each must fit a
// phone: nothing may be wider than 390 px at that width.
func TestScreenshotTour(t *testing.T) {
	ctx := newBrowserFor(t, 3*time.Minute)
	const password = "tour password 123"
	app := start(t, map[string]string{"ADMIN_PASSWORD": password, "PLAN_AMOUNT": "1200"})
	declining := start(t, map[string]string{"ADMIN_PASSWORD": password, "PLAN_AMOUNT": "1202"}) // every payment declines
	dir := os.Getenv("SCREENSHOTS_DIR")
	if dir == "" {
		dir = screenshotsDir
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	decidePPRO := func(decision string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.WaitVisible(`button[name=decision][value=`+decision+`]`, chromedp.ByQuery),
			chromedp.Click(`button[name=decision][value=`+decision+`]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		}
	}
	var stripeSuccess, subscription, approvalPage string
	tour := []shot{
		{name: "01-home", url: app.URL + "/", want: `#consent`},
		{name: "02-home-errors", want: `[data-testid=form-error]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/"), chromedp.WaitVisible(`#name`, chromedp.ByQuery),
			chromedp.Click(`button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-testid=form-error]`, chromedp.ByQuery),
		}},
		{name: "03-stripe-checkout", want: `input[name=card_number]`, before: fillAndSubmit(app.URL, "Ada Lovelace", "ada@example.com", "stripe", false)},
		{name: "04-stripe-amazon-pay", want: `button[name=decision][value=approve]`, before: chromedp.Tasks{
			chromedp.Click(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
			chromedp.Location(&approvalPage),
		}},
		{name: "05-stripe-active", want: `[data-testid=outcome][data-status=active]`, before: chromedp.Tasks{
			chromedp.Click(`button[name=decision][value=approve]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
			chromedp.Location(&stripeSuccess),
			chromedp.AttributeValue(`[data-testid=subscription-link]`, "href", &subscription, nil, chromedp.ByQuery),
		}},
		// The shopper goes back to the approval page they already used.
		{name: "06-provider-page-used", want: `a[href*="/success?session_id=cs_"]`, before: chromedp.Tasks{
			chromedp.ActionFunc(func(ctx context.Context) error { return chromedp.Navigate(approvalPage).Do(ctx) }),
		}},
		{name: "07-subscription", want: `[data-testid=cancel-form]`, before: chromedp.Tasks{
			chromedp.ActionFunc(func(ctx context.Context) error { return chromedp.Navigate(app.URL + subscription).Do(ctx) }),
			chromedp.WaitVisible(`[data-testid=cancel-form]`, chromedp.ByQuery),
		}},
		{name: "08-subscription-cancelled", want: `[data-testid=shopper-message]`, before: chromedp.Tasks{
			chromedp.Click(`[data-testid=cancel-mandate]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-testid=shopper-message]`, chromedp.ByQuery),
		}},
		{name: "09-stripe-canceled", want: `[data-testid=outcome][data-status=canceled]`, before: chromedp.Tasks{
			fillAndSubmit(app.URL, "Grace Hopper", "grace@example.com", "stripe", false),
			chromedp.WaitVisible(`[data-testid=cancel-link]`, chromedp.ByQuery),
			chromedp.Click(`[data-testid=cancel-link]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		}},
		{name: "10-try-again-keeps-details", want: `#name`, before: chromedp.Tasks{
			chromedp.Click(`[data-testid=try-again]`, chromedp.ByQuery), chromedp.WaitVisible(`#name`, chromedp.ByQuery),
		}},
		{name: "11-stripe-pending-after-decline", want: `[data-testid=outcome][data-status=pending]`, before: chromedp.Tasks{
			fillAndSubmit(app.URL, "Alan Turing", "alan@example.com", "stripe", false),
			chromedp.WaitVisible(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
			chromedp.Click(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`button[name=decision][value=decline]`, chromedp.ByQuery),
			chromedp.Click(`button[name=decision][value=decline]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=setup-error]`, chromedp.ByQuery),
			chromedp.ActionFunc(func(ctx context.Context) error {
				var loc string
				if err := chromedp.Location(&loc).Do(ctx); err != nil {
					return err
				}
				id := regexp.MustCompile(`cs_test_[A-Za-z0-9]+`).FindString(loc)
				return chromedp.Navigate(app.URL + "/success?session_id=" + id).Do(ctx)
			}),
			chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
		}},
		{name: "12-ppro-approval", want: `button[name=decision][value=approve]`, before: chromedp.Tasks{
			fillAndSubmit(app.URL, "Katherine Johnson", "katherine@example.com", "ppro", true),
			chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
		}},
		{name: "13-ppro-active-first-payment", want: `[data-testid=outcome][data-status=active]`, before: decidePPRO("approve")},
		{name: "14-ppro-failed", want: `[data-testid=outcome][data-status=failed]`, before: chromedp.Tasks{
			fillAndSubmit(app.URL, "Mary Jackson", "mary@example.com", "ppro", false), decidePPRO("decline"),
		}},
		{name: "15-ppro-canceled", want: `[data-testid=outcome][data-status=canceled]`, before: chromedp.Tasks{
			fillAndSubmit(app.URL, "Dorothy Vaughan", "dorothy@example.com", "ppro", false), decidePPRO("cancel"),
		}},
		{name: "16-ppro-first-payment-declined", want: `[data-testid=first-payment][data-status=failed]`, before: chromedp.Tasks{
			fillAndSubmit(declining.URL, "Hedy Lamarr", "hedy@example.com", "ppro", true), decidePPRO("approve"),
		}},
		{name: "17-sandbox-index", url: app.URL + "/sandbox/", want: `[data-testid=shop-link]`},
		{name: "18-not-found", url: app.URL + "/no-such-page", want: `[data-testid=error-page]`},
		{name: "19-admin-login", url: app.URL + "/admin", want: `#password`},
		{name: "20-admin-list", want: `[data-testid=mandates]`, before: chromedp.Tasks{
			chromedp.SendKeys(`#password`, password, chromedp.ByQuery), chromedp.Submit(`#password`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=mandates]`, chromedp.ByQuery),
		}},
		{name: "21-admin-mandate", want: `[data-testid=consent]`, before: chromedp.Tasks{
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery), chromedp.WaitVisible(`[data-testid=consent]`, chromedp.ByQuery),
		}},
		// The presenter moves the demo clock a month: period 2 is paid.
		{name: "22-admin-next-month", want: `[data-testid=period][data-n="2"][data-status=paid]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/admin?status=active"),
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=advance-period]`, chromedp.ByQuery),
			chromedp.Click(`[data-testid=advance-period]`, chromedp.ByQuery),
		}},
	}
	for _, s := range tour {
		if s.url != "" {
			s.before = append(chromedp.Tasks{chromedp.Navigate(s.url)}, s.before...)
		}
		if err := chromedp.Run(ctx, emulation.SetDeviceMetricsOverride(1280, 900, 1, false), s.before,
			chromedp.WaitVisible(s.want, chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v\napp logs:\n%s", s.name, err, app.Logs)
		}
		for _, width := range []int64{1280, 390} {
			var png []byte
			var scrollWidth int64
			err := chromedp.Run(ctx,
				emulation.SetDeviceMetricsOverride(width, 900, 1, width < 500),
				chromedp.WaitVisible(s.want, chromedp.ByQuery),
				chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollWidth),
				chromedp.FullScreenshot(&png, 100))
			if err != nil {
				t.Fatalf("%s at %d px: %v", s.name, width, err)
			}
			if scrollWidth > width {
				t.Errorf("%s is %d px wide at %d px: something does not fit", s.name, scrollWidth, width)
			}
			file := filepath.Join(dir, fmt.Sprintf("%s-%d.png", s.name, width))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !strings.Contains(stripeSuccess, "/success?session_id=") {
		t.Errorf("the Stripe flow ended at %q", stripeSuccess)
	}
	t.Logf("%d pages at 1280 and 390 px in %s", len(tour), dir)
}
