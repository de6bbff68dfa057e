package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"example.com/storefront/shopperlink"
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
	sessionKey := strings.Repeat("5e", 32) // known, so the tour can sign an expired link as the app does
	app := start(t, map[string]string{"ADMIN_PASSWORD": password, "PLAN_AMOUNT": "1200", "SESSION_KEYS": sessionKey})
	declining := start(t, map[string]string{"ADMIN_PASSWORD": password, "PLAN_AMOUNT": "1202"}) // every payment declines
	disputed := start(t, map[string]string{"ADMIN_PASSWORD": password, "PLAN_AMOUNT": "1204"})  // every payment is disputed
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
		// The presenter makes the sandbox's Stripe settle in 2 s (refunds,
		// disputes): the settings form answers on the same page.
		{name: "23-sandbox-settings-saved", want: `[data-testid=stripe-notice]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/sandbox/"),
			chromedp.SetValue(`#stripe-settle-after`, "2", chromedp.ByQuery),
			chromedp.Submit(`#stripe-settle-after`, chromedp.ByQuery),
		}},
		// A new Stripe mandate: period 1 (12.00) is paid, and the merchant
		// charges 12.04 now, which the sandbox has disputed after the settle
		// delay; a refund of 4.05 of period 1 is pending and then fails.
		{name: "23b-admin-charge-confirm", want: `[data-testid=off-terms]`, before: chromedp.Tasks{
			fillAndSubmit(app.URL, "Ida Rhodes", "ida@example.com", "stripe", false),
			chromedp.WaitVisible(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
			chromedp.Click(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
			chromedp.Click(`button[name=decision][value=approve]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=outcome][data-status=active]`, chromedp.ByQuery),
			chromedp.Navigate(app.URL + "/admin?email=ida%40example.com"),
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=charge-form]`, chromedp.ByQuery),
			chromedp.SetValue(`#amount`, "12.04", chromedp.ByQuery),
			chromedp.Click(`[data-testid=charge-now]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=charge-confirm]`, chromedp.ByQuery),
		}},
		// 12.04 is not the plan's price: the confirmation asks why, and the
		// reason is kept with the payment.
		{name: "24-admin-charge-disputed", want: `[data-testid=dispute-banner]`, before: chromedp.Tasks{
			chromedp.SetValue(`#reason`, "Sandbox demo: the magic amount that gets disputed", chromedp.ByQuery),
			chromedp.Click(`[data-testid=confirm-charge]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=flash]`, chromedp.ByQuery),
			reloadUntil(`[data-testid=dispute-banner]`, 30*time.Second),
		}},
		{name: "25-admin-refund-failed", want: `[data-testid=refund][data-status=failed]`, before: chromedp.Tasks{
			reloadUntil(`[data-testid=refund-form]`, 30*time.Second),
			chromedp.SetValue(`[data-testid=refund-form] input[name=amount]`, "4.05", chromedp.ByQuery),
			chromedp.Click(`[data-testid=refund-submit]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=refund]`, chromedp.ByQuery),
			reloadUntil(`[data-testid=refund][data-status=failed]`, 30*time.Second),
		}},
		{name: "26-admin-list-disputed", url: app.URL + "/admin?disputed=1", want: `[data-testid=row-disputed]`},
		// The search box takes an email's beginning ("ida@", which found
		// nothing while any "@" meant a whole address) and says beside it
		// what else it takes; the list's exports carry the search.
		{name: "26a-admin-list-search", url: app.URL + "/admin?q=ida%40", want: `[data-testid=mandate-row]`},
		{name: "27-sandbox-disputes", url: app.URL + "/sandbox/#stripe-disputes", want: `[data-testid=stripe-disputes] button`},
		// The presenter decides the dispute: lost, and the mandate page says
		// where the money went.
		{name: "28-admin-dispute-lost", want: `[data-testid=dispute][data-status=lost]`, before: chromedp.Tasks{
			chromedp.Click(`//table[@data-testid="stripe-disputes"]//button[normalize-space()="Merchant lost"]`, chromedp.BySearch),
			chromedp.WaitVisible(`[data-testid=stripe-notice]`, chromedp.ByQuery),
			chromedp.Navigate(app.URL + "/admin?email=ida%40example.com"),
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
			reloadUntil(`[data-testid=dispute][data-status=lost]`, 30*time.Second),
		}},
		// Revoke asks first: now, or at the end of the paid period.
		{name: "28-admin-revoke-confirm", want: `[data-testid=confirm-period-end]`, before: chromedp.Tasks{
			chromedp.Click(`[data-testid=revoke]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=revoke-confirm]`, chromedp.ByQuery),
		}},
		// The merchant schedules a new price: a day too soon is refused in
		// words; the earliest day the form offers is taken, every active
		// shopper is told, and a mandate's page keeps the price and notice.
		{name: "28a-admin-prices-refused", want: `[data-testid=price-error]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/admin/prices"),
			chromedp.WaitVisible(`[data-testid=price-form]`, chromedp.ByQuery),
			chromedp.SetValue(`#price-amount`, "15.00", chromedp.ByQuery),
			chromedp.ActionFunc(func(ctx context.Context) error {
				var earliest string
				if err := chromedp.AttributeValue(`#price-effective`, "min", &earliest, nil, chromedp.ByQuery).Do(ctx); err != nil {
					return err
				}
				day, err := time.Parse(time.DateOnly, earliest)
				if err != nil {
					return err
				}
				return chromedp.SetValue(`#price-effective`, day.AddDate(0, 0, -1).Format(time.DateOnly), chromedp.ByQuery).Do(ctx)
			}),
			chromedp.Click(`[data-testid=schedule-price]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=price-error]`, chromedp.ByQuery),
		}},
		{name: "28b-admin-prices-scheduled", want: `[data-testid=price-change]`, before: chromedp.Tasks{
			chromedp.ActionFunc(func(ctx context.Context) error {
				var earliest string
				if err := chromedp.AttributeValue(`#price-effective`, "min", &earliest, nil, chromedp.ByQuery).Do(ctx); err != nil {
					return err
				}
				return chromedp.SetValue(`#price-effective`, earliest, chromedp.ByQuery).Do(ctx)
			}),
			chromedp.Click(`[data-testid=schedule-price]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=flash]`, chromedp.ByQuery),
		}},
		{name: "28c-admin-mandate-prices", want: `[data-testid=mandate-price]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/admin?status=active&provider=ppro"),
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=mandate-prices]`, chromedp.ByQuery),
		}},
		// The shop's activity: the clock's move, the charges and their
		// outcomes, the refund, the dispute, the price change, the emails,
		// each with who did it; and Ida's, on her mandate's page.
		{name: "28e-admin-activity", url: app.URL + "/admin/activity", want: `[data-testid=shop-activity] [data-testid=activity-entry]`},
		{name: "28f-admin-mandate-activity", want: `[data-testid=activity] [data-testid=activity-entry][data-kind=dispute]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/admin?email=ida%40example.com"),
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
		}},
		// The money view: the range's totals, recurring revenue, and the
		// payments per day as a chart with its table.
		{name: "28g-admin-money", url: app.URL + "/admin/money", want: `[data-testid=money-chart]`},
		// Katherine's notice, as she receives it: her PPRO agreement states
		// 12.00 USD exactly, so it ends before the new price.
		{name: "28d-sandbox-mail-price-change", want: `[data-testid=mail-html]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/sandbox/mail?to=katherine%40example.com"),
			chromedp.ActionFunc(func(ctx context.Context) error {
				deadline := time.Now().Add(30 * time.Second)
				for {
					var found bool
					if err := chromedp.Evaluate(`[...document.querySelectorAll('[data-testid=mail-link]')].some(a => a.textContent.includes('changes from'))`,
						&found).Do(ctx); err != nil {
						return err
					}
					if found {
						return nil
					}
					if time.Now().After(deadline) {
						return fmt.Errorf("no price notice in Katherine's mailbox after 30s")
					}
					time.Sleep(200 * time.Millisecond)
					if err := chromedp.Reload().Do(ctx); err != nil {
						return err
					}
				}
			}),
			chromedp.Click(`//a[@data-testid="mail-link"][contains(., "changes from")]`, chromedp.BySearch),
			chromedp.WaitVisible(`[data-testid=mail-html]`, chromedp.ByQuery),
		}},
		// What the shoppers received, in the sandbox's mailbox: the list,
		// and Ada's confirmation as she sees it (with the terms agreed).
		{name: "29-sandbox-mailbox", url: app.URL + "/sandbox/mail", want: `[data-testid=mail-row]`, before: chromedp.Tasks{
			reloadUntil(`[data-testid=mail-row]`, 30*time.Second),
		}},
		{name: "30-sandbox-mail-confirmation", want: `[data-testid=mail-html]`, before: chromedp.Tasks{
			chromedp.Navigate(app.URL + "/sandbox/mail?to=ada%40example.com"),
			chromedp.Click(`//a[@data-testid="mail-link"][contains(., "is set up")]`, chromedp.BySearch),
			chromedp.WaitVisible(`[data-testid=mail-html]`, chromedp.ByQuery),
		}},
		// On PPRO the first payment of a 12.04 plan is charged back after the
		// settle delay. (Last: this app's login replaces the other's cookie,
		// both being on 127.0.0.1.)
		{name: "31-admin-ppro-chargeback", want: `[data-testid=dispute]`, before: chromedp.Tasks{
			fillAndSubmit(disputed.URL, "Annie Easley", "annie@example.com", "ppro", true), decidePPRO("approve"),
			chromedp.Navigate(disputed.URL + "/admin"),
			chromedp.WaitVisible(`#password`, chromedp.ByQuery),
			chromedp.SendKeys(`#password`, password, chromedp.ByQuery), chromedp.Submit(`#password`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid=mandates]`, chromedp.ByQuery),
			chromedp.Click(`[data-testid=mandate-row] a`, chromedp.ByQuery),
			reloadUntil(`[data-testid=dispute]`, 30*time.Second),
		}},
		{name: "32-sandbox-ppro-chargebacks", url: disputed.URL + "/sandbox/#ppro-chargebacks", want: `[data-testid=ppro-chargebacks] button`},
		// Ada opens the link in an old email, long expired, in a browser
		// without her session: the page offers to email her a fresh one,
		// and says it did.
		{name: "33-link-expired", want: `[data-testid=send-link]`, before: chromedp.Tasks{
			network.ClearBrowserCookies(),
			chromedp.ActionFunc(func(ctx context.Context) error {
				key, err := hex.DecodeString(sessionKey)
				if err != nil {
					return err
				}
				expired := shopperlink.New(derive(key, "shopper-link"), -time.Hour) // signed, and expired an hour ago
				return chromedp.Navigate(app.URL + expired.Path(strings.TrimPrefix(subscription, "/mandates/"), time.Now())).Do(ctx)
			}),
		}},
		{name: "34-link-sent", want: `[data-testid=link-sent]`, before: chromedp.Tasks{
			chromedp.Click(`[data-testid=send-link]`, chromedp.ByQuery), chromedp.WaitVisible(`[data-testid=link-sent]`, chromedp.ByQuery),
		}},
	}
	for _, s := range tour {
		if s.url != "" {
			s.before = append(chromedp.Tasks{chromedp.Navigate(s.url)}, s.before...)
		}
		if err := chromedp.Run(ctx, emulation.SetDeviceMetricsOverride(1280, 900, 1, false), s.before,
			chromedp.WaitVisible(s.want, chromedp.ByQuery)); err != nil {
			t.Fatalf("%s: %v\napp logs:\n%s\nlogs of the app whose payments are disputed:\n%s", s.name, err, app.Logs, disputed.Logs)
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

// reloadUntil loads the page again until selector is on it: what the
// sandbox does later (a dispute, a refund failing) reaches the app by a
// webhook a moment after the page was drawn.
func reloadUntil(selector string, limit time.Duration) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(limit)
		for {
			var found bool
			if err := chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q) !== null`, selector), &found).Do(ctx); err != nil {
				// A navigation the previous step started (a form sent, a
				// reload) may still be under way: the page is asked again
				// once it has settled. A loaded machine showed it once.
				if time.Now().After(deadline) || ctx.Err() != nil {
					return err
				}
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if found {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s not on the page after %s", selector, limit)
			}
			time.Sleep(200 * time.Millisecond)
			var loc string
			if err := chromedp.Location(&loc).Do(ctx); err != nil {
				return err
			}
			if err := chromedp.Navigate(loc).Do(ctx); err != nil {
				return err
			}
		}
	})
}
