package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/terms"
)

func TestHomeShowsPlanTermsAndOptIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	home := pagetest.NewBrowser(t).Get(e.URL + "/").Expect(http.StatusOK)
	for _, want := range []string{
		"Coffee Club", "12.00 USD", "per month",
		"Your permission", "How often and when", "How the amount is set", "Cancelling",
	} {
		if !strings.Contains(home.Text(), want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	if got, _ := home.TestID("authorization"); !strings.HasPrefix(got, "I authorise Northwind Coffee to charge 12.00 USD every month") {
		t.Errorf("opt-in sentence = %q", got)
	}
	if got, _ := home.TestID("mode-badge"); got != "Stripe: sandbox" {
		t.Errorf("mode badge = %q, want Stripe: sandbox", got)
	}
	if home.InputValue("terms_version") != terms.Current || len(home.InputValue("terms_sha256")) != 64 {
		t.Errorf("terms version/hash fields = %q, %q", home.InputValue("terms_version"), home.InputValue("terms_sha256"))
	}
	for header, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
	} {
		if got := home.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	csp := home.Header.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP allows inline code: %q", csp)
	}
	if home.Header.Get("X-Request-Id") == "" {
		t.Error("no X-Request-Id")
	}
}

func TestApproveSavesAmazonPayAndRecordsConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	b.Header.Set("User-Agent", "flow-test/1.0")
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)

	m, err := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != mandate.Pending {
		t.Fatalf("before approval the mandate is %s", m.Status)
	}
	// What Stripe was asked for.
	cs, err := e.Stripe.CheckoutSessions.Get(csID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Mode != stripe.CheckoutSessionModeSetup || cs.ClientReferenceID != m.ID || cs.Metadata["mandate_id"] != m.ID ||
		strings.Join(cs.PaymentMethodTypes, ",") != "card,amazon_pay" || cs.SuccessURL != e.URL+"/success?session_id={CHECKOUT_SESSION_ID}" ||
		cs.CancelURL != e.URL+"/cancel?mandate="+m.ID || cs.Customer == nil || cs.Customer.ID == "" {
		t.Fatalf("checkout session = %+v", cs)
	}

	// The shopper sees what they agree to on Stripe's page too (custom_text),
	// in a sentence written for that page.
	if !strings.Contains(checkout.Text(), "Northwind Coffee will charge 12.00 USD every month for Coffee Club to the payment method you approve here") {
		t.Errorf("the checkout page does not say what is approved: %s", checkout.Text())
	}
	approval := e.amazonPay(b, checkout)
	back := e.decide(b, approval, "approve").Expect(http.StatusSeeOther)
	if got, want := back.Location(), e.URL+"/success?session_id="+csID; got != want {
		t.Fatalf("back to %s, want %s", got, want)
	}
	success := b.Follow(back).Expect(http.StatusOK)
	if got := success.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("success page status %q; text: %s", got, success.Text())
	}
	if msg, _ := success.TestID("outcome-message"); !strings.Contains(msg, "12.00 USD every month") || !strings.Contains(success.Text(), "Your subscription is set up") {
		t.Errorf("success page says %q", success.Text())
	}
	noProviderWords(t, success)
	if got, _ := success.TestID("mandate-id"); got != m.ID {
		t.Errorf("mandate reference shown = %q, want %s", got, m.ID)
	}

	m, err = e.Store.Mandate(context.Background(), m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != mandate.Active || m.PaymentMethodType != "amazon_pay" || !strings.HasPrefix(m.PaymentMethodID, "pm_") || m.ConfirmedAt.IsZero() {
		t.Fatalf("mandate after approval = %+v", m)
	}
	si, err := e.Stripe.SetupIntents.Get(cs.SetupIntent.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if si.PaymentMethod == nil || si.PaymentMethod.ID != m.PaymentMethodID {
		t.Errorf("stored payment method %s, Stripe's SetupIntent has %+v", m.PaymentMethodID, si.PaymentMethod)
	}
	c := m.Consent
	if c.TermsVersion != terms.Current || len(c.TermsSHA256) != 64 || c.ClientIP != "127.0.0.1" || c.UserAgent != "flow-test/1.0" ||
		c.AcceptedAt.IsZero() || !strings.HasPrefix(c.Authorization, "I authorise Northwind Coffee") {
		t.Errorf("consent evidence = %+v", c)
	}

	// A refresh is harmless: same page, no new history, no change.
	again := b.Get(success.URL.String()).Expect(http.StatusOK)
	if got := again.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("refreshed page status %q", got)
	}
	h, _ := e.Store.History(context.Background(), m.ID)
	if len(h) != 2 || h[1].To != mandate.Active || h[1].Source != mandate.SourceReturnPage ||
		!strings.Contains(h[1].ProviderStatus, "complete") {
		t.Fatalf("history = %+v", h)
	}
	after, _ := e.Store.Mandate(context.Background(), m.ID)
	if after != m {
		t.Errorf("refresh changed the mandate:\n%+v\n%+v", m, after)
	}

	// The Customer belongs to the mandate: it is stored with it, and
	// someone else typing the same email in another browser never gets it.
	if m.ProviderCustomerRef != cs.Customer.ID {
		t.Errorf("mandate customer %q, want the session's %s", m.ProviderCustomerRef, cs.Customer.ID)
	}
	stranger := pagetest.NewBrowser(t)
	checkout2 := e.checkout(stranger, e.validForm(stranger))
	cs2, err := e.Stripe.CheckoutSessions.Get(sessionID(checkout2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cs2.Customer.ID == cs.Customer.ID {
		t.Errorf("another browser with the same email got customer %s", cs.Customer.ID)
	}
}

// A retry from the same browser after a failed attempt reuses the customer
// that attempt made; one Stripe no longer knows (deleted, or made in
// another account) is replaced by a new one, and the flow goes on.
func TestStaleStripeCustomerIsReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	first := e.checkout(b, e.validForm(b))
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(first))
	if err := e.Store.SetCustomerRef(context.Background(), m.ID, "cus_gone"); err != nil {
		t.Fatal(err)
	}
	second := e.checkout(b, e.validForm(b))
	cs, err := e.Stripe.CheckoutSessions.Get(sessionID(second), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Customer == nil || cs.Customer.ID == "cus_gone" || cs.Customer.ID == "" {
		t.Fatalf("session customer = %+v", cs.Customer)
	}
	m2, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", cs.ID)
	if m2.ProviderCustomerRef != cs.Customer.ID {
		t.Errorf("stored customer ref %q, want the new %s", m2.ProviderCustomerRef, cs.Customer.ID)
	}
	success := b.Follow(e.decide(b, e.amazonPay(b, second), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := success.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("status %q", got)
	}
}

func TestDeclineReturnsToCheckoutThenApproveWorks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)

	declined := e.decide(b, e.amazonPay(b, checkout), "decline").Expect(http.StatusSeeOther)
	if loc := declined.Location(); loc != checkout.URL.String() {
		t.Fatalf("after decline sent to %s, want the checkout page %s", loc, checkout.URL)
	}
	again := b.Follow(declined).Expect(http.StatusOK)
	if !strings.Contains(strings.ToLower(again.Text()), "declined") {
		t.Errorf("checkout page does not say the attempt was declined: %s", again.Text())
	}
	// Still pending here: the shopper can try again.
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	if m.Status != mandate.Pending {
		t.Fatalf("after a decline the mandate is %s, want pending", m.Status)
	}
	// A visit to /success now (a shopper guessing) verifies and keeps it pending, with the reason.
	pending := b.Get(e.URL + "/success?session_id=" + csID).Expect(http.StatusOK)
	if got := pending.TestIDAttr("outcome", "data-status"); got != "pending" {
		t.Fatalf("status shown %q, want pending", got)
	}
	if reason, _ := pending.TestID("outcome-reason"); !strings.Contains(strings.ToLower(reason), "declined") {
		t.Errorf("pending page reason = %q", reason)
	}
	m, _ = e.Store.Mandate(context.Background(), m.ID)
	if m.Status != mandate.Pending || !strings.Contains(strings.ToLower(m.LastError), "declined") {
		t.Errorf("mandate = %s, last error %q", m.Status, m.LastError)
	}

	back := e.decide(b, e.amazonPay(b, again), "approve").Expect(http.StatusSeeOther)
	success := b.Follow(back).Expect(http.StatusOK)
	if got := success.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("after approving the retry: %q", got)
	}
	m, _ = e.Store.Mandate(context.Background(), m.ID)
	if m.LastError != "" {
		t.Errorf("last error kept after success: %q", m.LastError)
	}
}

func TestCancelMarksCanceledAndExpiresSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	csID := sessionID(checkout)

	left := e.decide(b, e.amazonPay(b, checkout), "cancel").Expect(http.StatusSeeOther)
	if !strings.HasPrefix(left.Location(), e.URL+"/cancel?mandate=md_") {
		t.Fatalf("cancel sent the shopper to %s", left.Location())
	}
	page := b.Follow(left).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "canceled" {
		t.Fatalf("cancel page status %q", got)
	}
	if !strings.Contains(page.Text(), "Try again") {
		t.Error("cancel page does not offer to try again")
	}
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)
	if m.Status != mandate.Canceled || m.FailureReason == "" {
		t.Fatalf("mandate = %s (%q), want canceled with a reason", m.Status, m.FailureReason)
	}
	cs, err := e.Stripe.CheckoutSessions.Get(csID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Status != stripe.CheckoutSessionStatusExpired {
		t.Errorf("Stripe session is %s, want expired", cs.Status)
	}
	// The expired session cannot be completed any more, and /success cannot revive the mandate.
	b.Get(checkout.URL.String())
	if got := b.Get(e.URL+"/success?session_id="+csID).Expect(http.StatusOK).TestIDAttr("outcome", "data-status"); got != "canceled" {
		t.Errorf("success after cancel shows %q", got)
	}
	// Cancel again: harmless.
	b.Get(left.Location()).Expect(http.StatusOK)
	if h, _ := e.Store.History(context.Background(), m.ID); len(h) != 2 {
		t.Errorf("history has %d rows, want 2: %+v", len(h), h)
	}
}

// The cancel URL after the shopper approved in another tab must not cancel
// an approved mandate: Stripe says complete, so the page says saved.
func TestCancelAfterApprovalKeepsItActive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	approval := e.amazonPay(b, checkout)
	cancelURL := e.URL + "/cancel?mandate="
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	e.decide(b, approval, "approve").Expect(http.StatusSeeOther) // not following: the shopper closed the tab
	page := b.Get(cancelURL + m.ID).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("cancel after approval shows %q, want active", got)
	}
	h, _ := e.Store.History(context.Background(), m.ID)
	if len(h) != 2 || h[1].Source != mandate.SourceCancelPage || h[1].To != mandate.Active {
		t.Errorf("history = %+v", h)
	}
}

func TestValidationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	valid := e.validForm(b)
	for _, tc := range []struct {
		name   string
		change url.Values
		field  string
		msg    string
	}{
		{"empty name", url.Values{"name": {"  "}}, "name", "Enter your full name"},
		{"long name", url.Values{"name": {strings.Repeat("é", 101)}}, "name", "at most 100"},
		{"control character", url.Values{"name": {"Ada\x07"}}, "name", "control characters"},
		{"no email", url.Values{"email": {""}}, "email", "Enter your email"},
		{"bad email", url.Values{"email": {"ada@"}}, "email", "like name@example.com"},
		{"display-name email", url.Values{"email": {"Ada <ada@example.com>"}}, "email", "like name@example.com"},
		{"undotted domain", url.Values{"email": {"ada@localhost"}}, "email", "like name@example.com"},
		{"no country", url.Values{"country": {""}}, "country", "Choose your country"},
		{"unknown country", url.Values{"country": {"XX"}}, "country", "from the list"},
		{"no provider", url.Values{"provider": {""}}, "provider", "Choose a payment provider"},
		{"unknown provider", url.Values{"provider": {"paypal"}}, "provider", "one of the payment providers"},
		{"no consent", url.Values{"consent": {""}}, "consent", "Tick the box"},
		{"old terms version", url.Values{"terms_version": {"v0"}}, "consent", "terms changed"},
		{"other terms text", url.Values{"terms_sha256": {strings.Repeat("0", 64)}}, "consent", "terms changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range valid {
				form[k] = v
			}
			for k, v := range tc.change {
				form[k] = v
			}
			page := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusUnprocessableEntity)
			msg, ok := page.TestID("error-" + tc.field)
			if !ok || !strings.Contains(msg, tc.msg) {
				t.Errorf("message beside %s = %q, want it to contain %q", tc.field, msg, tc.msg)
			}
			if n := page.Count("error-name") + page.Count("error-email") + page.Count("error-country") +
				page.Count("error-provider") + page.Count("error-consent"); n != 1 {
				t.Errorf("%d field errors shown, want 1", n)
			}
			if tc.field != "name" && page.InputValue("name") != "Ada Lovelace" {
				t.Errorf("name not kept: %q", page.InputValue("name"))
			}
			if tc.field != "email" && page.InputValue("email") != "ada@example.com" {
				t.Errorf("email not kept: %q", page.InputValue("email"))
			}
		})
	}
	if n := e.count(`SELECT count(*) FROM mandates`); n != 0 {
		t.Errorf("%d mandates recorded from invalid forms", n)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	form := e.validForm(b)
	b.Header.Set("Sec-Fetch-Site", "cross-site")
	b.Header.Set("Origin", "https://evil.example")
	page := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusForbidden)
	if _, ok := page.TestID("error-page"); !ok {
		t.Error("403 is not the site's error page")
	}
	if n := e.count(`SELECT count(*) FROM mandates`); n != 0 {
		t.Errorf("a cross-origin POST recorded %d mandates", n)
	}
}

func TestAnotherBrowsersSessionIsNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	owner, other := pagetest.NewBrowser(t), pagetest.NewBrowser(t)
	checkout := e.checkout(owner, e.validForm(owner))
	csID := sessionID(checkout)
	// The owner approves but never comes back; someone else tries the success URL.
	e.decide(owner, e.amazonPay(owner, checkout), "approve").Expect(http.StatusSeeOther)
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", csID)

	for _, path := range []string{"/success?session_id=" + csID, "/cancel?mandate=" + m.ID, "/success?session_id=cs_test_unknown", "/success", "/cancel"} {
		page := other.Get(e.URL + path).Expect(http.StatusNotFound)
		if _, ok := page.TestID("error-page"); !ok {
			t.Errorf("%s: 404 is not the site's error page", path)
		}
	}
	after, _ := e.Store.Mandate(context.Background(), m.ID)
	if after != m {
		t.Errorf("another browser changed the mandate:\n%+v\n%+v", m, after)
	}
	if h, _ := e.Store.History(context.Background(), m.ID); len(h) != 1 {
		t.Errorf("history grew to %d rows", len(h))
	}
}

func TestUndecodableCookieStartsANewSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	u, _ := url.Parse(e.URL)
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "storefront", Value: "not-a-valid-cookie", Path: "/"}})
	b.Get(e.URL + "/").Expect(http.StatusOK)
	// and the flow still works, replacing the bad cookie
	checkout := e.checkout(b, e.validForm(b))
	success := b.Follow(e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if got := success.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("status %q", got)
	}
}

func TestSessionCookieOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	resp := b.Post(e.URL+"/create-checkout-session", e.validForm(b)).Expect(http.StatusSeeOther)
	cookies := (&http.Response{Header: resp.Header}).Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies set: %v", cookies)
	}
	c := cookies[0]
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.MaxAge != 86400 || c.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, not Secure on http, MaxAge 86400", c)
	}
	if strings.Contains(c.Value, "md_") {
		t.Error("the cookie shows the mandate id in clear")
	}
}

func TestNameIsEscapedEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	const evil = `<script>alert(1)</script>`
	form := e.validForm(b)
	form.Set("name", evil)

	// on the form when it comes back with an error
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("email", "nope")
	page := b.Post(e.URL+"/create-checkout-session", bad).Expect(http.StatusUnprocessableEntity)
	if strings.Contains(page.Body, evil) || page.InputValue("name") != evil {
		t.Errorf("name not escaped on the form (value %q)", page.InputValue("name"))
	}
	// on the provider's pages, and on ours after
	checkout := e.checkout(b, form)
	approval := e.amazonPay(b, checkout)
	for _, p := range []*pagetest.Page{checkout, approval} {
		if strings.Contains(p.Body, evil) {
			t.Errorf("%s shows the name unescaped", p.URL.Path)
		}
	}
	if !strings.Contains(approval.Text(), evil) {
		t.Errorf("the approval page does not show the buyer's name as text: %s", approval.Text())
	}
	success := b.Follow(e.decide(b, approval, "approve").Expect(http.StatusSeeOther)).Expect(http.StatusOK)
	if strings.Contains(success.Body, evil) {
		t.Error("success page shows the name unescaped")
	}
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	if m.Customer.Name != evil {
		t.Errorf("stored name %q, want it kept verbatim", m.Customer.Name)
	}
}

func TestStripeFailureWhenStarting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		outage int32
		status int
		says   string
	}{
		{"4xx", upstream400, http.StatusBadGateway, "Stripe refused to start the setup"},
		{"5xx", upstream500, http.StatusBadGateway, "could not reach Stripe"},
		{"network", upstreamDown, http.StatusBadGateway, "could not reach Stripe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := pagetest.NewBrowser(t)
			form := e.validForm(b)
			e.outage.Store(tc.outage)
			page := b.Post(e.URL+"/create-checkout-session", form).Expect(tc.status)
			if msg, _ := page.TestID("error-message"); !strings.Contains(msg, tc.says) || !strings.Contains(msg, "Nothing was charged") {
				t.Errorf("error page says %q", msg)
			}
			if strings.Contains(page.Body, "127.0.0.1") || strings.Contains(page.Body, "api_error") {
				t.Error("error page shows internals")
			}
			if id, _ := page.TestID("request-id"); id == "" || id != page.Header.Get("X-Request-Id") {
				t.Errorf("request id shown %q, header %q", id, page.Header.Get("X-Request-Id"))
			}
			if n := e.count(`SELECT count(*) FROM mandates WHERE status = 'failed' AND failure_reason LIKE 'stripe: create customer%'`); n != 1 {
				t.Errorf("%d failed mandates with the reason recorded, want 1", n)
			}
		})
	}
}

func TestStripeFailureWhenVerifying(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	checkout := e.checkout(b, e.validForm(b))
	back := e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)

	e.outage.Store(upstream500)
	page := b.Follow(back).Expect(http.StatusBadGateway)
	if msg, _ := page.TestID("error-message"); !strings.Contains(msg, "confirm your setup") {
		t.Errorf("error page says %q", msg)
	}
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	if m.Status != mandate.Pending || !strings.Contains(m.LastError, "could not verify") {
		t.Fatalf("mandate %s, last error %q: want pending with the reason", m.Status, m.LastError)
	}

	e.outage.Store(upstreamUp)
	if got := b.Follow(back).Expect(http.StatusOK).TestIDAttr("outcome", "data-status"); got != "active" {
		t.Fatalf("after Stripe recovered: %q", got)
	}
}

func TestErrorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	notFound := b.Get(e.URL + "/no/such/page").Expect(http.StatusNotFound)
	if _, ok := notFound.TestID("error-page"); !ok || notFound.Count("mode-badge") != 2 {
		t.Error("404 is not in the site's layout")
	}
	big := url.Values{"name": {strings.Repeat("x", 100<<10)}}
	b.Post(e.URL+"/create-checkout-session", big).Expect(http.StatusRequestEntityTooLarge)
	// a malformed body
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/create-checkout-session", strings.NewReader("%zz"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	b.Do(req).Expect(http.StatusBadRequest)
	if n := e.count(`SELECT count(*) FROM mandates`); n != 0 {
		t.Errorf("%d mandates recorded", n)
	}
	b.Get(e.URL + "/static/app.css").Expect(http.StatusOK)
	b.Get(e.URL + "/static/").Expect(http.StatusNotFound)
}

// A failure of our own (here the database gone) is the 500 page in the
// site's layout, with the request id and without the cause.
func TestInternalErrorPage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	form := e.validForm(b)
	e.Store.Close()
	for _, p := range []*pagetest.Page{
		b.Post(e.URL+"/create-checkout-session", form),
		b.Get(e.URL + "/success?session_id=cs_test_x"),
	} {
		p.Expect(http.StatusInternalServerError)
		if msg, _ := p.TestID("error-message"); !strings.Contains(msg, "Nothing was charged") {
			t.Errorf("500 page says %q", msg)
		}
		if id, _ := p.TestID("request-id"); id == "" || id != p.Header.Get("X-Request-Id") {
			t.Errorf("request id %q, header %q", id, p.Header.Get("X-Request-Id"))
		}
		if strings.Contains(p.Body, "database") || strings.Contains(p.Body, "sql") {
			t.Errorf("the 500 page shows the cause:\n%s", p.Body)
		}
	}
}
