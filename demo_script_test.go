package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// demoStep is one step of the README's demo script ("Try it: the demo in
// under three minutes"): what the presenter does, and what the page then
// shows.
type demoStep struct {
	name  string
	tasks func(clicks *int) chromedp.Tasks
	check func(t *testing.T)
}

// click is a press of the presenter's, counted.
func click(clicks *int, sel string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		*clicks++
		return chromedp.Click(sel, chromedp.ByQuery).Do(ctx)
	})
}

// The README's demo script, walked in Chromium on the app as `go run .`
// runs it (both providers on the sandbox): subscribe, open the mandate,
// charge with the confirmation, refund with a reason, make the next payment
// decline from the mandate's page, a month later the decline, retry now,
// another month and the end for non-payment, and the shopper's mailbox.
// Each step's time and presses are logged (go test -v): the script is
// meant to take a presenter under three minutes, but no test fails on a
// timing; every step's outcome is asserted.
func TestBrowserDemoScript(t *testing.T) {
	ctx := newBrowserFor(t, 3*time.Minute)
	const password = "demo password"
	app := start(t, map[string]string{"ADMIN_PASSWORD": password})

	var (
		outcome, flash, terms, refund, past, ended, status, mail string
		mandateURL                                               string
	)
	steps := []demoStep{
		{name: "1 subscribe (shop, Stripe, Amazon Pay, approve)", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				chromedp.Navigate(app.URL + "/"),
				chromedp.WaitVisible(`#name`, chromedp.ByQuery),
				chromedp.SendKeys(`#name`, "Ada Lovelace", chromedp.ByQuery),
				chromedp.SendKeys(`#email`, "ada@example.com", chromedp.ByQuery),
				chromedp.SetValue(`#country`, "US", chromedp.ByQuery),
				click(c, `input[name=provider][value=stripe]`),
				click(c, `#consent`),
				click(c, `button[type=submit]`),
				chromedp.WaitVisible(`form:has(input[name=method][value=amazon_pay]) button[type=submit]`, chromedp.ByQuery),
				click(c, `form:has(input[name=method][value=amazon_pay]) button[type=submit]`),
				chromedp.WaitVisible(`button[name=decision][value=approve]`, chromedp.ByQuery),
				click(c, `button[name=decision][value=approve]`),
				chromedp.WaitVisible(`[data-testid=outcome]`, chromedp.ByQuery),
				chromedp.AttributeValue(`[data-testid=outcome]`, "data-status", &outcome, nil, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if outcome != "active" {
				t.Fatalf("the subscription is %q", outcome)
			}
		}},
		{name: "2 open it on the dashboard", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				chromedp.Navigate(app.URL + "/admin"),
				chromedp.WaitVisible(`#password`, chromedp.ByQuery),
				chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
				click(c, `form[action="/admin/login"] button[type=submit]`),
				chromedp.WaitVisible(`[data-testid=mandate-row] a`, chromedp.ByQuery),
				click(c, `[data-testid=mandate-row] a`),
				chromedp.WaitVisible(`[data-testid=period][data-n="1"][data-status=paid]`, chromedp.ByQuery),
				chromedp.Location(&mandateURL),
			}
		}},
		{name: "3 charge, with a second look", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				click(c, `[data-testid=charge-now]`),
				chromedp.WaitVisible(`[data-testid=charge-confirm]`, chromedp.ByQuery),
				chromedp.Text(`[data-testid=terms-price]`, &terms, chromedp.ByQuery),
				click(c, `[data-testid=confirm-charge]`),
				chromedp.WaitVisible(`[data-testid=flash]`, chromedp.ByQuery),
				chromedp.Text(`[data-testid=flash]`, &flash, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if terms != "each payment is 12.00 USD" || flash != "Charged 12.00 USD." {
				t.Fatalf("the confirmation said %q; then %q", terms, flash)
			}
		}},
		{name: "4 refund it, with a reason", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				chromedp.SetValue(`[data-testid=refund-form] select[name=reason]`, "requested", chromedp.ByQuery),
				click(c, `[data-testid=refund-submit]`),
				chromedp.WaitVisible(`[data-testid=refund-why]`, chromedp.ByQuery),
				chromedp.Text(`[data-testid=refund-why]`, &refund, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if refund != "Reason: You asked for it" {
				t.Errorf("the refund shows %q", refund)
			}
		}},
		{name: "5 make the next payment decline (sandbox)", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				click(c, `[data-testid=sandbox-decline]`),
				chromedp.WaitVisible(`[data-testid=declines-form]`, chromedp.ByQuery),
				click(c, `[data-testid=declines-submit]`),
				chromedp.WaitVisible(`[data-testid=charge-form]`, chromedp.ByQuery),
				chromedp.Text(`[data-testid=flash]`, &flash, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if !strings.Contains(flash, "The sandbox answers") {
				t.Errorf("back on the mandate: %q", flash)
			}
		}},
		{name: "6 a month later: declined, past due", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				click(c, `[data-testid=advance-period]`),
				chromedp.WaitVisible(`[data-testid=retry-now]`, chromedp.ByQuery),
				chromedp.AttributeValue(`[data-testid=period][data-n="2"]`, "data-status", &past, nil, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if past != "retrying" {
				t.Errorf("period 2 is %q after the decline", past)
			}
		}},
		{name: "7 retry now: declined again, the first retry", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				click(c, `[data-testid=retry-now]`),
				// The page after it: the form now counts two declines.
				chromedp.WaitReady(`[data-testid=retry-form] input[name=failures][value="2"]`, chromedp.ByQuery),
				chromedp.WaitVisible(`[data-testid=flash]`, chromedp.ByQuery),
				chromedp.Text(`[data-testid=flash]`, &flash, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if !strings.Contains(flash, "was declined") {
				t.Errorf("after retry now: %q", flash)
			}
		}},
		{name: "8 another month: ended for non-payment", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				click(c, `[data-testid=advance-period]`),
				chromedp.WaitVisible(`[data-testid=mandate-status].pill-revoked`, chromedp.ByQuery),
				chromedp.Text(`[data-testid=mandate-status]`, &status, chromedp.ByQuery),
				chromedp.AttributeValue(`[data-testid=period][data-n="2"]`, "data-status", &ended, nil, chromedp.ByQuery),
			}
		}, check: func(t *testing.T) {
			if status != "revoked" || ended != "failed" {
				t.Errorf("after the last retry: mandate %q, period 2 %q; want revoked, failed", status, ended)
			}
		}},
		{name: "9 what the shopper received", tasks: func(c *int) chromedp.Tasks {
			return chromedp.Tasks{
				chromedp.Navigate(app.URL + "/sandbox/"),
				click(c, `[data-testid=mailbox-link]`),
				chromedp.WaitVisible(`[data-testid=mail-row]`, chromedp.ByQuery),
				// The emails are delivered from the outbox in the background
				// (the refund's once the provider settles it): the presenter
				// reloads until the decline's, the refund's and the end's are in.
				chromedp.ActionFunc(func(ctx context.Context) error {
					for range 150 {
						if err := chromedp.Evaluate(`document.body.innerText`, &mail).Do(ctx); err != nil {
							return err
						}
						if strings.Contains(mail, "declined") && strings.Contains(mail, "efund") && strings.Contains(mail, "ended") {
							return nil
						}
						time.Sleep(200 * time.Millisecond)
						if err := chromedp.Reload().Do(ctx); err != nil {
							return err
						}
					}
					return nil
				}),
			}
		}, check: func(t *testing.T) {
			for _, want := range []string{"declined", "efund", "ended"} {
				if !strings.Contains(mail, want) {
					t.Errorf("the mailbox does not mention %q:\n%s", want, mail)
				}
			}
		}},
	}

	var total time.Duration
	var clicks int
	for _, s := range steps {
		n := 0
		began := time.Now()
		if err := chromedp.Run(ctx, s.tasks(&n)); err != nil {
			t.Fatalf("step %s: %v\napp logs:\n%s", s.name, err, app.Logs)
		}
		took := time.Since(began)
		total, clicks = total+took, clicks+n
		t.Logf("%-50s %6.2fs %2d clicks", s.name, took.Seconds(), n)
		if s.check != nil {
			s.check(t)
		}
	}
	t.Logf("the whole script: %.2fs of page time, %d clicks (at %s)", total.Seconds(), clicks, mandateURL)
}
