package stripesim_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/pagetest"
)

const ribbon = "Sandbox: no real money moves"

func TestAmazonPayApprove(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, cs := e.newFlow()

	checkout := e.Get(checkoutPath(cs))
	wantStatus(t, checkout, http.StatusOK)
	wantBody(t, checkout, ribbon, testMerchant, "Set up future payments", testMandate,
		"Continue to Amazon Pay", `name="card_number"`, "4242 4242 4242 4242", `href="http://shop.test/cancel"`)

	approval := e.chooseAmazonPay(cs)
	si, err := e.api.SetupIntents.Get(cs.SetupIntent.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if si.Status != stripe.SetupIntentStatusRequiresAction || si.NextAction == nil ||
		si.NextAction.Type != "redirect_to_url" || si.NextAction.RedirectToURL.URL != e.BaseURL+approval {
		t.Fatalf("after choosing Amazon Pay: status %s next_action %+v", si.Status, si.NextAction)
	}

	page := e.Get(approval)
	wantStatus(t, page, http.StatusOK)
	wantBody(t, page, ribbon, testMerchant, testMandate, "Ada Lovelace", "ada@example.com",
		`name="decision" value="approve"`, `name="decision" value="decline"`, `name="decision" value="cancel"`)

	res := e.Post(approval, url.Values{"decision": {"approve"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got, want := res.Header.Get("Location"), "http://shop.test/success?session_id="+cs.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}

	got := e.getSession(cs.ID)
	if got.Status != stripe.CheckoutSessionStatusComplete || got.URL != "" {
		t.Errorf("session status %s url %q, want complete and null", got.Status, got.URL)
	}
	if got.CustomerDetails == nil || got.CustomerDetails.Email != "ada@example.com" {
		t.Errorf("customer_details = %+v", got.CustomerDetails)
	}
	si = got.SetupIntent
	if si.Status != stripe.SetupIntentStatusSucceeded || si.NextAction != nil || si.LastSetupError != nil {
		t.Errorf("setup intent status %s next_action %+v last_setup_error %+v", si.Status, si.NextAction, si.LastSetupError)
	}
	pm := si.PaymentMethod
	if pm == nil || !strings.HasPrefix(pm.ID, "pm_") || pm.Type != "amazon_pay" {
		t.Fatalf("payment method = %+v, want an amazon_pay pm_", pm)
	}
	if pm.Customer == nil || pm.Customer.ID != c.ID {
		t.Errorf("payment method customer = %+v, want %s", pm.Customer, c.ID)
	}
	if pm.BillingDetails == nil || pm.BillingDetails.Email != "ada@example.com" || pm.BillingDetails.Name != "Ada Lovelace" {
		t.Errorf("billing details = %+v", pm.BillingDetails)
	}
	direct, err := e.api.PaymentMethods.Get(pm.ID, nil)
	if err != nil || direct.Type != "amazon_pay" || direct.Customer.ID != c.ID {
		t.Fatalf("payment method get = %+v, %v", direct, err)
	}
	if !strings.Contains(string(direct.LastResponse.RawJSON), `"amazon_pay": {}`) {
		t.Errorf("payment method JSON lacks \"amazon_pay\": {}:\n%s", direct.LastResponse.RawJSON)
	}

	// The shopper cannot answer twice, and the pages say the session is over.
	again := e.Post(approval, url.Values{"decision": {"decline"}})
	wantStatus(t, again, http.StatusGone)
	wantBody(t, again, ribbon, "no longer available")
	wantStatus(t, e.Get(checkoutPath(cs)), http.StatusGone)
	if s := e.getSession(cs.ID); s.SetupIntent.Status != stripe.SetupIntentStatusSucceeded {
		t.Errorf("a late decline changed the setup intent to %s", s.SetupIntent.Status)
	}
}

func TestAmazonPayDecline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	approval := e.chooseAmazonPay(cs)

	res := e.Post(approval, url.Values{"decision": {"decline"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got, want := res.Header.Get("Location"), e.Public+"/stripe/checkout/"+cs.ID; got != want {
		t.Errorf("Location = %q, want the checkout page %q", got, want)
	}

	got := e.getSession(cs.ID)
	si := got.SetupIntent
	if got.Status != stripe.CheckoutSessionStatusOpen || si.Status != stripe.SetupIntentStatusRequiresPaymentMethod {
		t.Errorf("session %s setup intent %s, want open and requires_payment_method", got.Status, si.Status)
	}
	le := si.LastSetupError
	if le == nil || le.Type != stripe.ErrorTypeInvalidRequest || le.Code != stripe.ErrorCodeSetupIntentAuthenticationFailure ||
		!strings.Contains(le.Msg, "declined") {
		t.Fatalf("last_setup_error = %+v", le)
	}
	if si.PaymentMethod != nil || si.NextAction != nil {
		t.Errorf("payment_method %+v next_action %+v after decline", si.PaymentMethod, si.NextAction)
	}

	checkout := e.Get(checkoutPath(cs))
	wantStatus(t, checkout, http.StatusOK)
	wantBody(t, checkout, html.EscapeString(le.Msg), "Try again or choose another method")

	// The approval page has nothing left to approve.
	wantStatus(t, e.Get(approval), http.StatusConflict)
	late := e.Post(approval, url.Values{"decision": {"approve"}})
	wantStatus(t, late, http.StatusConflict)
	wantBody(t, late, ribbon, "Nothing is waiting for your approval")
	if s := e.getSession(cs.ID); s.Status != stripe.CheckoutSessionStatusOpen || s.SetupIntent.Status != stripe.SetupIntentStatusRequiresPaymentMethod {
		t.Errorf("a late approve changed state: session %s setup intent %s", s.Status, s.SetupIntent.Status)
	}

	// Trying again works.
	e.chooseAmazonPay(cs)
	if s := e.getSession(cs.ID); s.SetupIntent.LastSetupError != nil || s.SetupIntent.Status != stripe.SetupIntentStatusRequiresAction {
		t.Errorf("retry: setup intent %s last_setup_error %+v", s.SetupIntent.Status, s.SetupIntent.LastSetupError)
	}
}

func TestAmazonPayCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	t.Run("to cancel_url", func(t *testing.T) {
		_, cs := e.newFlow()
		res := e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"cancel"}})
		wantStatus(t, res, http.StatusSeeOther)
		if got, want := res.Header.Get("Location"), "http://shop.test/cancel"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		si := e.getSession(cs.ID).SetupIntent
		if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.LastSetupError != nil || si.NextAction != nil {
			t.Errorf("setup intent %s last_setup_error %+v next_action %+v", si.Status, si.LastSetupError, si.NextAction)
		}
	})
	t.Run("without cancel_url", func(t *testing.T) {
		p := sessionParams(e.createCustomer("Ada", "ada@example.com").ID)
		p.CancelURL = nil
		cs := e.createSession(p)
		checkout := e.Get(checkoutPath(cs))
		if strings.Contains(checkout.Body, `data-testid="cancel-link"`) {
			t.Errorf("checkout page shows a back link without cancel_url")
		}
		res := e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"cancel"}})
		wantStatus(t, res, http.StatusSeeOther)
		if got, want := res.Header.Get("Location"), e.Public+"/stripe/checkout/"+cs.ID; got != want {
			t.Errorf("Location = %q, want the checkout page %q", got, want)
		}
	})
}

func TestCardSuccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c, cs := e.newFlow()

	res := e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4242 4242 4242 4242"}})
	wantStatus(t, res, http.StatusSeeOther)
	if got, want := res.Header.Get("Location"), "http://shop.test/success?session_id="+cs.ID; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	got := e.getSession(cs.ID)
	pm := got.SetupIntent.PaymentMethod
	if got.Status != stripe.CheckoutSessionStatusComplete || got.SetupIntent.Status != stripe.SetupIntentStatusSucceeded {
		t.Errorf("session %s setup intent %s", got.Status, got.SetupIntent.Status)
	}
	if pm == nil || pm.Type != stripe.PaymentMethodTypeCard || pm.Card == nil || pm.Card.Last4 != "4242" ||
		pm.Card.Brand != stripe.PaymentMethodCardBrandVisa || pm.Customer.ID != c.ID {
		t.Errorf("payment method = %+v card %+v", pm, pm.Card)
	}
}

func TestCardDecline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()

	res := e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4000 0000 0000 0002"}})
	wantStatus(t, res, http.StatusPaymentRequired)
	wantBody(t, res, ribbon, "Your card was declined.", "Try again or choose another method")

	got := e.getSession(cs.ID)
	le := got.SetupIntent.LastSetupError
	if got.Status != stripe.CheckoutSessionStatusOpen || got.SetupIntent.Status != stripe.SetupIntentStatusRequiresPaymentMethod {
		t.Errorf("session %s setup intent %s", got.Status, got.SetupIntent.Status)
	}
	if le == nil || le.Type != stripe.ErrorTypeCard || le.Code != stripe.ErrorCodeCardDeclined || le.DeclineCode != "generic_decline" {
		t.Errorf("last_setup_error = %+v", le)
	}
}

func TestCardNotATestCard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()

	res := e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"5555 5555 5555 4444"}})
	wantStatus(t, res, http.StatusUnprocessableEntity)
	wantBody(t, res, ribbon, "accepts only its test cards", `value="5555 5555 5555 4444"`, `aria-invalid="true"`)
	si := e.getSession(cs.ID).SetupIntent
	if si.Status != stripe.SetupIntentStatusRequiresPaymentMethod || si.LastSetupError != nil {
		t.Errorf("setup intent %s last_setup_error %+v, want untouched", si.Status, si.LastSetupError)
	}

	// An unknown method is refused too.
	wantStatus(t, e.Post(checkoutPath(cs), url.Values{"method": {"paypal"}}), http.StatusBadRequest)
}

func TestPagesForSessionsThatAreOver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	approval := e.chooseAmazonPay(cs)
	if _, err := e.api.CheckoutSessions.Expire(cs.ID, nil); err != nil {
		t.Fatal(err)
	}

	for _, res := range []*pagetest.Page{
		e.Get(checkoutPath(cs)),
		e.Get(approval),
		e.Post(approval, url.Values{"decision": {"approve"}}),
		e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4242424242424242"}}),
	} {
		wantStatus(t, res, http.StatusGone)
		wantBody(t, res, ribbon, "no longer available", "expired")
	}
	if got := e.getSession(cs.ID); got.Status != stripe.CheckoutSessionStatusExpired || got.SetupIntent.PaymentMethod != nil {
		t.Errorf("expired session changed: %s, payment method %+v", got.Status, got.SetupIntent.PaymentMethod)
	}

	wantStatus(t, e.Get("/sandbox/stripe/checkout/cs_test_nope"), http.StatusNotFound)
	wantStatus(t, e.Get("/sandbox/stripe/amazon-pay/seti_nope"), http.StatusNotFound)
}

func TestPagesEscapeUserData(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const evil = `<script>alert(1)</script>`
	c := e.createCustomer(evil, "eve@example.com")
	p := sessionParams(c.ID)
	p.CustomText.Submit.Message = stripe.String("I agree " + evil)
	cs := e.createSession(p)

	for _, res := range []*pagetest.Page{e.Get(checkoutPath(cs)), e.Get(e.chooseAmazonPay(cs))} {
		wantStatus(t, res, http.StatusOK)
		if strings.Contains(res.Body, evil) {
			t.Errorf("page contains the raw customer name:\n%s", res.Body)
		}
		wantBody(t, res, "&lt;script&gt;alert(1)&lt;/script&gt;", "I agree &lt;script&gt;")
	}
}

func TestEveryPageHasRibbonAndHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cs := e.newFlow()
	approval := e.chooseAmazonPay(cs)

	pages := map[string]*pagetest.Page{
		"index":        e.Get("/sandbox/"),
		"checkout":     e.Get(checkoutPath(cs)),
		"approval":     e.Get(approval),
		"not found":    e.Get("/sandbox/nowhere"),
		"unknown card": e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"1"}}),
		"cross-origin": e.Do(http.MethodPost, approval, url.Values{"decision": {"approve"}},
			http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"http://evil.test"}}),
	}
	for name, res := range pages {
		t.Run(name, func(t *testing.T) {
			wantBody(t, res, ribbon, "<!doctype html>", `<html lang="en">`, "/sandbox/static/sandbox.css")
			if got, want := res.Header.Get("Content-Security-Policy"),
				"default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' http: https:; frame-ancestors 'none'; base-uri 'none'"; got != want {
				t.Errorf("CSP = %q, want %q", got, want)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") != "same-origin" {
				t.Errorf("headers = %v", res.Header)
			}
		})
	}
	wantBody(t, pages["index"], "Stripe", "Amazon Pay")
	wantStatus(t, pages["not found"], http.StatusNotFound)
	wantStatus(t, pages["cross-origin"], http.StatusForbidden)
	if si := e.getSession(cs.ID).SetupIntent; si.Status != stripe.SetupIntentStatusRequiresAction {
		t.Errorf("a cross-origin approve changed the setup intent to %s", si.Status)
	}

	css := e.Get("/sandbox/static/sandbox.css")
	wantStatus(t, css, http.StatusOK)
	if ct := css.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("stylesheet Content-Type = %q", ct)
	}
}
