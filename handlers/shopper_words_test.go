package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/payments"
)

// stepStates are the step indicator's states, in order.
func stepStates(p *pagetest.Page) []string { return p.AllTestIDAttr("step", "data-state") }

// wantOutcome checks an outcome page in the shopper's words: its status,
// heading, the reason (or none), the step indicator, and no provider code.
func wantOutcome(t *testing.T, p *pagetest.Page, status, heading, reason string, steps string) {
	t.Helper()
	if got := p.TestIDAttr("outcome", "data-status"); got != status {
		t.Fatalf("status %q, want %s: %s", got, status, p.Text())
	}
	if got, _ := p.TestID("outcome-heading"); got != heading {
		t.Errorf("heading %q, want %q", got, heading)
	}
	got, _ := p.TestID("outcome-reason")
	if (reason == "" && got != "") || !strings.HasPrefix(got, reason) {
		t.Errorf("reason %q, want %q", got, reason)
	}
	if got := strings.Join(stepStates(p), " "); got != steps {
		t.Errorf("steps %q, want %q", got, steps)
	}
	noProviderWords(t, p)
}

func TestOutcomePagesSpeakToTheShopper(t *testing.T) {
	t.Parallel()
	t.Run("stripe approved", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		checkout := e.checkout(b, e.validForm(b))
		page := b.Follow(e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		wantOutcome(t, page, "active", "Your subscription is set up", "", "done done done done")
		note, _ := page.TestID("first-payment-note")
		next, _ := page.TestID("next-payment")
		if !strings.Contains(note, "first payment of 12.00 USD") || !strings.Contains(next, "12.00 USD is due on") {
			t.Errorf("dates: %q / %q", note, next)
		}
		want := e.Clock.Now().UTC().AddDate(0, 1, 0).Format("2 January 2006")
		if !strings.Contains(next, want) {
			t.Errorf("next payment %q, want the date %s", next, want)
		}
		if page.Count("subscription-link") != 1 || page.Count("back-to-shop") != 1 || page.Count("signed-link") != 1 {
			t.Errorf("no way on from the success page: %s", page.Text())
		}
		if got, _ := page.TestID("how-to-cancel"); !strings.Contains(got, "support@northwind.example") {
			t.Errorf("how to cancel: %q", got)
		}
	})
	t.Run("stripe declined attempt", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		checkout := e.checkout(b, e.validForm(b))
		e.decide(b, e.amazonPay(b, checkout), "decline").Expect(http.StatusSeeOther)
		page := b.Get(e.URL + "/success?session_id=" + sessionID(checkout)).Expect(http.StatusOK)
		wantOutcome(t, page, "pending", "Waiting for your approval to be confirmed", "Your last attempt was declined",
			"done done current todo")
		if page.Count("check-again") != 1 {
			t.Error("no Check again")
		}
	})
	t.Run("stripe left checkout", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		checkout := e.checkout(b, e.validForm(b))
		m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
		page := b.Get(e.URL + "/cancel?mandate=" + m.ID).Expect(http.StatusOK)
		wantOutcome(t, page, "canceled", "Setup cancelled", "You left the payment page without approving.", "done done stopped todo")
		if page.Count("try-again") != 1 {
			t.Error("no Try again")
		}
	})
	t.Run("stripe expired", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		checkout := e.checkout(b, e.validForm(b))
		e.Clock.Set(25 * time.Hour) // past the session's expiry
		page := b.Get(e.URL + "/success?session_id=" + sessionID(checkout)).Expect(http.StatusOK)
		wantOutcome(t, page, "canceled", "The setup timed out", "It was not approved in time", "done done stopped todo")
	})
	t.Run("ppro declined", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		page := b.Follow(e.decide(b, e.pproApproval(b, e.pproForm(b, false)), "decline").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		wantOutcome(t, page, "failed", "The setup did not go through", "Amazon Pay did not confirm the approval", "done done stopped todo")
	})
	t.Run("ppro canceled", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		page := b.Follow(e.decide(b, e.pproApproval(b, e.pproForm(b, false)), "cancel").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		// A cancel is a cancel on both providers: the calm page, not a failure.
		wantOutcome(t, page, "canceled", "Setup cancelled", "You left the payment page without approving.", "done done stopped todo")
	})
	t.Run("ppro timed out", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		approval := e.pproApproval(b, e.pproForm(b, false))
		m := e.pproMandate(approval)
		e.Clock.Set(61 * time.Minute) // Amazon Pay's one-hour authentication timeout
		page := b.Get(e.URL + "/return?mandate=" + m.ID).Expect(http.StatusOK)
		wantOutcome(t, page, "canceled", "The setup timed out", "It was not approved in time", "done done stopped todo")
	})
	t.Run("ppro first payment paid", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		page := b.Follow(e.decide(b, e.pproApproval(b, e.pproForm(b, true)), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		wantOutcome(t, page, "active", "Your subscription is set up", "", "done done done done")
		if got, _ := page.TestID("first-payment-text"); got != "Paid." {
			t.Errorf("first payment %q", got)
		}
		if got, _ := page.TestID("first-payment-note"); !strings.Contains(got, "was taken on "+e.Clock.Now().UTC().Format("2 January 2006")) {
			t.Errorf("first payment note %q", got)
		}
	})
	for amount, words := range map[int64]string{1202: "Declined: the account did not have enough funds.", 1201: "Declined by Amazon Pay."} {
		t.Run("ppro first payment declined "+words, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withPlan(payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: amount, Currency: "USD"}, Interval: payments.Month}))
			b := pagetest.NewBrowser(t)
			page := b.Follow(e.decide(b, e.pproApproval(b, e.pproForm(b, true)), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
			wantOutcome(t, page, "active", "Your subscription is set up", "", "done done done done")
			if got, _ := page.TestID("first-payment-text"); got != words {
				t.Errorf("first payment %q, want %q", got, words)
			}
			if got, _ := page.TestID("first-payment-note"); !strings.Contains(got, "nothing was charged for it. We will try again") {
				t.Errorf("first payment note %q", got)
			}
		})
	}
	t.Run("revoked by the shopper", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := pagetest.NewBrowser(t)
		approval := e.pproApproval(b, e.pproForm(b, false))
		m := e.pproMandate(approval)
		b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
		sub := b.Get(e.URL + "/mandates/" + m.ID).Expect(http.StatusOK)
		b.Do(sub.Submit("", "", nil)).Expect(http.StatusSeeOther)
		page := b.Get(e.URL + "/return?mandate=" + m.ID).Expect(http.StatusOK)
		if got := page.TestIDAttr("outcome", "data-status"); got != "revoked" {
			t.Fatalf("status %q", got)
		}
		if got, _ := page.TestID("outcome-reason"); got != "You cancelled it." {
			t.Errorf("reason %q", got)
		}
		noProviderWords(t, page)
	})
}

// The fine print says what the form will do: with a provider that can take
// the first payment with the approval it names the box; without one it
// does not. Neither says that nothing is charged today.
func TestFinePrintMatchesTheForm(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		plan    payments.Plan
		payNow  bool
		mention string
	}{
		"pay now offered": {testPlan, true, "together with your approval if you tick the box above"},
		"no pay now":      {payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "EUR"}, Interval: payments.Month}, false, "as soon as your approval is confirmed; then one payment every month"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withPlan(tc.plan))
			home := pagetest.NewBrowser(t).Get(e.URL + "/").Expect(http.StatusOK)
			fine, _ := home.TestID("fine-print")
			if !strings.Contains(fine, tc.mention) || strings.Contains(strings.ToLower(fine), "nothing is charged today") {
				t.Errorf("fine print %q, want it to say %q", fine, tc.mention)
			}
			if got := home.Count("pay-now-label") == 1; got != tc.payNow {
				t.Errorf("pay-now box shown: %v, want %v", got, tc.payNow)
			}
			if got := strings.Join(stepStates(home), " "); got != "current todo todo todo" {
				t.Errorf("steps %q", got)
			}
		})
	}
}

// "Try again" brings back what the shopper typed, for this browser's own
// mandate only; the opt-in is theirs to tick again.
func TestTryAgainKeepsTheDetails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	form := e.pproForm(b, true)
	form.Set("name", "Grace Hopper")
	form.Set("email", "grace@example.com")
	approval := e.pproApproval(b, form)
	m := e.pproMandate(approval)
	page := b.Follow(e.decide(b, approval, "cancel").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	again := page.TestIDAttr("try-again", "href")
	if again != "/?again="+url.QueryEscape(m.ID) {
		t.Fatalf("try again links to %q", again)
	}
	home := b.Get(e.URL + again).Expect(http.StatusOK)
	for field, want := range map[string]string{"name": "Grace Hopper", "email": "grace@example.com"} {
		if got := home.InputValue(field); got != want {
			t.Errorf("%s = %q, want %q", field, got, want)
		}
	}
	if home.Checked("consent") {
		t.Error("the opt-in is ticked for the shopper")
	}
	if !home.Checked("pay_now") || home.CheckedValue("provider") != "ppro" || home.SelectedValue("country") != "US" {
		t.Errorf("provider %q, country %q, pay now %v", home.CheckedValue("provider"), home.SelectedValue("country"), home.Checked("pay_now"))
	}
	// Another browser gets the empty form for the same link.
	stranger := pagetest.NewBrowser(t).Get(e.URL + again).Expect(http.StatusOK)
	if stranger.InputValue("name") != "" || stranger.InputValue("email") != "" {
		t.Errorf("another browser sees the shopper's details: %q %q", stranger.InputValue("name"), stranger.InputValue("email"))
	}
}

// Every storefront page says how to reach the merchant, and in the
// all-sandbox demo links to the sandbox, which links back.
func TestFooterContactAndSandboxLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	home := pagetest.NewBrowser(t).Get(e.URL + "/").Expect(http.StatusOK)
	if got, _ := home.TestID("footer-contact"); !strings.Contains(got, "support@northwind.example") {
		t.Errorf("footer: %q", got)
	}
	if home.TestIDAttr("sandbox-link", "href") != "/sandbox/" {
		t.Error("the storefront does not link to the sandbox")
	}
}
