package handlers_test

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"testing"

	"example.com/storefront/internal/stripeschema"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// Every answer the Stripe sandbox gives to the app's own calls, in the
// shopper's and the merchant's flows, conforms to Stripe's OpenAPI spec
// (see stripeschema; sandbox/stripesim's contract test covers the
// sandbox's events). The app's Stripe calls go through stripeschema's
// validating proxy. Skipped without the specs unless CI=true.
func TestStripeContractOfTheAppsFlows(t *testing.T) {
	t.Parallel()
	v := stripeschema.Load(t)
	e := newEnv(t, withWebhooks)
	proxy := stripeschema.NewProxy(t, v, e.URL, "/sandbox/stripe")
	target, err := url.Parse(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	via := httputil.NewSingleHostReverseProxy(target)
	e.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/sandbox/stripe/") {
			return false
		}
		via.ServeHTTP(w, r)
		return true
	})
	t.Cleanup(func() { e.Intercept(nil) }) // the worker's last calls go direct, not to a closed proxy

	// Checkout with Amazon Pay, period 1 charged; the merchant's charges,
	// declined and paid, a partial refund settled, then the merchant revokes.
	m, _ := e.activeMandate("stripe")
	admin := e.adminBrowser()
	e.send(admin, chargeForm(e.adminPage(admin, m.ID), "12.01"))
	e.send(admin, chargeForm(e.adminPage(admin, m.ID), "12.00"))
	var paid *int64
	for _, c := range e.merchantCharges(m.ID) {
		if c.Status == payments.ChargeSucceeded {
			paid = &c.ID
		}
	}
	if paid == nil {
		t.Fatalf("no succeeded charge: %+v", e.merchantCharges(m.ID))
	}
	e.send(admin, refundForm(e.adminPage(admin, m.ID), *paid, "5.00"))
	e.settleRefunds()
	e.send(admin, revokeNow(e.adminPage(admin, m.ID)))
	e.mandate(m.ID, mandate.Revoked)

	seen := proxy.Seen()
	for _, want := range []string{
		"POST /v1/customers 200", "POST /v1/checkout/sessions 200", "GET /v1/checkout/sessions/{session} 200",
		"POST /v1/payment_intents 200", "POST /v1/payment_intents 402", "POST /v1/refunds 200",
	} {
		if !slices.Contains(seen, want) {
			t.Errorf("no %q went through the validator; seen:\n%s", want, strings.Join(seen, "\n"))
		}
	}
	t.Logf("%d answers validated: %s", proxy.Answers(), strings.Join(seen, ", "))
}
