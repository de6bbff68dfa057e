package handlers_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/mandate"
	"example.com/storefront/store"
)

// stripeSign is a Stripe-Signature header for payload signed at t.
func stripeSign(payload, secret string, t time.Time) string {
	return webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(payload), Secret: secret, Timestamp: t}).Header
}

func statFile(name string) (int64, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// openDB opens the app's database file beside the app, as a second
// process would.
func (e *env) openDB() *sql.DB {
	e.t.Helper()
	db, err := sql.Open("sqlite", "file:"+e.DBFile+"?_pragma=busy_timeout(5000)")
	if err != nil {
		e.t.Fatal(err)
	}
	return db
}

// exec runs a statement on the app's database file (to set up what the
// app's own paths cannot make, such as a mandate of another mode).
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	db := e.openDB()
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		e.t.Fatal(err)
	}
}

// A provider that sends the shopper back by a form POST from its own site
// gets a 303 to the GET page, with the security headers, and the POST
// itself changes nothing; the GET then shows the outcome to this browser.
func TestPOSTReturnFromAnotherSiteRedirects(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	m := e.approvedPPRO(b, false)

	b.Header.Set("Sec-Fetch-Site", "cross-site")
	b.Header.Set("Origin", "https://psp.example")
	resp := b.Post(e.URL+"/return?mandate="+m.ID, map[string][]string{"status": {"SUCCESS"}, "mandate": {"md_other"}}).
		Expect(http.StatusSeeOther)
	if got, want := resp.Location(), e.URL+"/return?mandate="+m.ID; got != want {
		t.Errorf("redirected to %s, want %s", got, want)
	}
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("the redirect has no %s", h)
		}
	}
	if got, _ := e.Store.Mandate(context.Background(), m.ID); got.Status != mandate.Pending {
		t.Fatalf("the POST moved the mandate to %s", got.Status)
	}
	// The browser follows with a top-level GET, as after any 303.
	b.Header.Del("Origin")
	page := b.Follow(resp).Expect(http.StatusOK)
	if got := page.TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("outcome %q", got)
	}
}

// Names whose text reads otherwise than it is stored (bidi overrides,
// zero-width characters) are refused with the form and its message.
func TestNamesWithInvisibleFormattingAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	for name, value := range map[string]string{
		"right-to-left override": "Ada \u202eecalevoL",
		"zero-width space":       "Ada\u200bLovelace",
		"isolate":                "\u2066Ada Lovelace\u2069",
		"byte order mark":        "Ada \ufeffLovelace",
	} {
		form := e.validForm(b)
		form.Set("name", value)
		page := b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusUnprocessableEntity)
		if msg, _ := page.TestID("error-name"); !strings.Contains(msg, "invisible formatting characters") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
	if n := e.count(`SELECT count(*) FROM mandates`); n != 0 {
		t.Errorf("%d mandates recorded", n)
	}
	// Letters and marks of other scripts are names, not formatting.
	form := e.validForm(b)
	form.Set("name", "Zoë Ørsted-Łukasiewicz 李")
	b.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusSeeOther)
}

// The all-sandbox storefront's forms go to itself and to the sandbox on
// the same origin: form-action allows 'self' and nothing as broad as
// https:, on pages and redirects alike.
func TestContentSecurityPolicyFormAction(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	home := b.Get(e.URL + "/").Expect(http.StatusOK)
	redirect := b.Post(e.URL+"/create-checkout-session", e.validForm(b)).Expect(http.StatusSeeOther)
	for name, p := range map[string]*pagetest.Page{"page": home, "redirect": redirect} {
		if got := formAction(p.Header.Get("Content-Security-Policy")); got != "'self'" {
			t.Errorf("%s: form-action %q, want 'self'", name, got)
		}
	}
}

// formAction is the form-action directive's sources.
func formAction(csp string) string {
	for _, d := range strings.Split(csp, ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(d), "form-action "); ok {
			return v
		}
	}
	return ""
}

// A mandate made in another mode than its provider runs in now (a sandbox
// mandate after switching to real keys, or the reverse) is never verified
// with the wrong credentials: the return page is a 404 without a provider
// call, and a webhook about it is recorded as ignored.
func TestMandateOfAnotherModeIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := pagetest.NewBrowser(t)
	pm := e.approvedPPRO(b, false)
	checkout := e.checkout(b, e.validForm(b))
	sm, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", sessionID(checkout))
	e.decide(b, e.amazonPay(b, checkout), "approve").Expect(http.StatusSeeOther)
	e.exec(`UPDATE mandates SET mode = 'live' WHERE id IN (?, ?)`, pm.ID, sm.ID)

	var calls atomic.Int32
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool { calls.Add(1); return false })
	b.Get(e.URL + "/return?mandate=" + pm.ID).Expect(http.StatusNotFound)
	b.Get(e.URL + "/success?session_id=" + sm.ProviderRef).Expect(http.StatusNotFound)
	b.Get(e.URL + "/mandates/" + pm.ID).Expect(http.StatusNotFound)

	body := pproEvent("evt_other_mode", "PAYMENT_AGREEMENT_ACTIVE", pm.ProviderRef, "")
	if code, _ := e.postPPRO(body, signedPPRO(body)); code != http.StatusAccepted {
		t.Fatalf("PPRO event: %d", code)
	}
	if status, outcome := e.waitEvent("ppro", "evt_other_mode"); status != store.EventIgnored || !strings.Contains(outcome, "another mode") {
		t.Errorf("PPRO event %s: %q", status, outcome)
	}
	payload := fmt.Sprintf(`{"id":"evt_other_mode","object":"event","type":"checkout.session.completed","request":null,`+
		`"data":{"object":{"id":%q,"object":"checkout.session"}}}`, sm.ProviderRef)
	if code, body := e.postStripeAt(payload, time.Now()); code != http.StatusOK {
		t.Fatalf("Stripe event: %d %q", code, body)
	}
	if status, outcome := e.waitEvent("stripe", "evt_other_mode"); status != store.EventIgnored || !strings.Contains(outcome, "another mode") {
		t.Errorf("Stripe event %s: %q", status, outcome)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("%d provider calls for mandates of another mode", n)
	}
	for _, id := range []string{pm.ID, sm.ID} {
		if got, _ := e.Store.Mandate(context.Background(), id); got.Status != mandate.Pending {
			t.Errorf("mandate %s moved to %s", id, got.Status)
		}
	}

	// In its own mode, the same return page verifies it.
	e.exec(`UPDATE mandates SET mode = 'sandbox' WHERE id = ?`, pm.ID)
	if got := b.Get(e.URL+"/return?mandate="+pm.ID).Expect(http.StatusOK).TestIDAttr("outcome", "data-status"); got != "active" {
		t.Errorf("in its own mode: %q", got)
	}
}

// A Customer made before a failed Checkout Session call belongs to that
// attempt: the retry from the same browser reuses it (no orphan), and
// another browser typing the same email never gets it.
func TestRetryReusesOnlyThisBrowsersCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var sessions atomic.Int32
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/sandbox/stripe/v1/checkout/sessions" || sessions.Add(1) > 1 {
			return false
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"type":"api_error","message":"Simulated outage"}}`)
		return true
	})
	shopper := pagetest.NewBrowser(t)
	form := e.validForm(shopper)
	shopper.Post(e.URL+"/create-checkout-session", form).Expect(http.StatusBadGateway)
	failed := e.rows(`SELECT id, status, coalesce(provider_customer_ref, '') FROM mandates`)
	if len(failed) != 1 || failed[0][1] != "failed" || !strings.HasPrefix(failed[0][2], "cus_") {
		t.Fatalf("after the failed session call: %v", failed)
	}
	kept := failed[0][2]

	// Someone else types the same email.
	stranger := pagetest.NewBrowser(t)
	theirs, err := e.Stripe.CheckoutSessions.Get(sessionID(e.checkout(stranger, e.validForm(stranger))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if theirs.Customer == nil || theirs.Customer.ID == "" || theirs.Customer.ID == kept {
		t.Errorf("another browser's session has customer %+v; the failed attempt's is %s", theirs.Customer, kept)
	}

	// The shopper tries again.
	mine, err := e.Stripe.CheckoutSessions.Get(sessionID(e.checkout(shopper, form)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if mine.Customer == nil || mine.Customer.ID != kept {
		t.Errorf("the retry's session has customer %+v, want the failed attempt's %s", mine.Customer, kept)
	}
	m, _ := e.Store.MandateByProviderRef(context.Background(), "stripe", mine.ID)
	if m.ProviderCustomerRef != kept {
		t.Errorf("the retry's mandate keeps customer %q, want %s", m.ProviderCustomerRef, kept)
	}
	if n := sessions.Load(); n != 3 {
		t.Errorf("%d session calls, want 3", n)
	}

}
