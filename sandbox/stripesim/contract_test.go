package stripesim_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"example.com/storefront/internal/stripeschema"
)

// Every answer the Stripe sandbox gives in the flows the app and its tests
// run, and every event it sends, conforms to Stripe's OpenAPI spec for
// 2023-10-16 (stripe-go v76's version), Amazon Pay's parts to Stripe's
// current spec (see stripeschema). The API goes through stripeschema's
// validating proxy; events are validated on arrival, after their
// signature. Skipped without the specs in the module cache unless CI=true.
func TestStripeContractOfTheSandboxsAnswers(t *testing.T) {
	t.Parallel()
	v := stripeschema.Load(t)

	var mu sync.Mutex
	var types []string
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ev, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), testWebhookSecret)
		if err != nil {
			t.Errorf("webhook: %v", err)
		}
		if err := v.Event(body); err != nil {
			t.Errorf("event does not match Stripe's spec: %v\n%s", err, body)
		}
		mu.Lock()
		types = append(types, string(ev.Type))
		mu.Unlock()
	}))
	t.Cleanup(hooks.Close)
	rcv := &receiver{srv: hooks}
	e := newEnv(t, rcv.config)
	proxy := stripeschema.NewProxy(t, v, e.BaseURL, "/sandbox/stripe")
	e.api = stripeClient(proxy.URL, testKey)

	// Setup through Checkout, with Amazon Pay and with a card; what the
	// app reads of it.
	s := e.saveAmazonPay()
	card := e.saveCard()
	if _, err := e.api.Customers.Get(s.customer.ID, nil); err != nil {
		t.Fatal(err)
	}
	mandateOf(t, e, s)
	if _, err := e.api.PaymentMethods.Get(s.pmID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Accounts.Get(); err != nil {
		t.Fatal(err)
	}
	_, cs := e.newFlow()
	if _, err := e.api.CheckoutSessions.Expire(cs.ID, nil); err != nil {
		t.Fatal(err)
	}
	// Declined setups leave a last_setup_error: the shopper declining on
	// Amazon Pay, a declined test card.
	_, cs = e.newFlow()
	wantStatus(t, e.Post(e.chooseAmazonPay(cs), url.Values{"decision": {"decline"}}), http.StatusSeeOther)
	wantStatus(t, e.Post(checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4000 0000 0000 0002"}}),
		http.StatusPaymentRequired)
	if got := e.getSession(cs.ID); got.SetupIntent.LastSetupError == nil {
		t.Error("a declined setup has no last_setup_error")
	}

	// Charges: Amazon Pay and card, succeeded and declined.
	pi := e.charge(s, 1200)
	e.getPaymentIntent(pi.ID)
	if _, err := e.api.Charges.Get(pi.LatestCharge.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, amount := range []int64{1201, 1202} {
		_, err := e.api.PaymentIntents.New(chargeParams(s, amount))
		se := stripeErr(t, err)
		e.getPaymentIntent(se.PaymentIntent.ID)
	}
	cardParams := func(amount int64) *stripe.PaymentIntentParams {
		p := chargeParams(card, amount)
		p.PaymentMethodTypes = stripe.StringSlice([]string{"card"})
		return p
	}
	cardPI, err := e.api.PaymentIntents.New(cardParams(1000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.PaymentIntents.New(cardParams(501)); err == nil {
		t.Error("a card charge of 501 succeeded, want a decline")
	}
	lp := &stripe.PaymentIntentListParams{Customer: stripe.String(s.customer.ID)}
	lp.AddExpand("data.latest_charge")
	it := e.api.PaymentIntents.List(lp)
	for it.Next() {
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}

	// Refunds: pending, then settled; the rest; a card's; refused.
	partial, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID), Amount: stripe.Int64(300)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(cardPI.ID)}); err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(5 * time.Second)
	if _, err := e.api.Refunds.Get(partial.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Refunds.New(&stripe.RefundParams{Charge: stripe.String(pi.LatestCharge.ID)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.Refunds.New(&stripe.RefundParams{PaymentIntent: stripe.String(pi.ID)}); err == nil {
		t.Error("a refund of a refunded charge succeeded")
	}
	e.getPaymentIntent(cardPI.ID)

	// Amazon revokes a mandate; its payment method is then refused.
	other := e.saveAmazonPay()
	wantStatus(t, e.Post("/sandbox/stripe/payment-methods/"+other.pmID+"/amazon-revoke", url.Values{}), http.StatusSeeOther)
	mandateOf(t, e, other)
	if _, err := e.api.PaymentIntents.New(chargeParams(other, 1000)); err == nil {
		t.Error("a payment method whose mandate Amazon revoked was charged")
	}

	// Detach: the mandate goes inactive. Unknown ids.
	if _, err := e.api.PaymentMethods.Detach(s.pmID, nil); err != nil {
		t.Fatal(err)
	}
	mandateOf(t, e, s)
	if _, err := e.api.Charges.Get("ch_nope", nil); err == nil {
		t.Error("an unknown charge was found")
	}
	e.Clock.Advance(5 * time.Second)
	if _, err := e.api.Refunds.Get(partial.ID, nil); err != nil {
		t.Fatal(err)
	}

	for _, want := range []string{
		"POST /v1/customers 200", "GET /v1/customers/{customer} 200",
		"POST /v1/checkout/sessions 200", "GET /v1/checkout/sessions/{session} 200",
		"POST /v1/checkout/sessions/{session}/expire 200",
		"GET /v1/setup_intents/{intent} 200", "GET /v1/payment_methods/{payment_method} 200",
		"POST /v1/payment_methods/{payment_method}/detach 200", "GET /v1/mandates/{mandate} 200",
		"GET /v1/account 200",
		"POST /v1/payment_intents 200", "POST /v1/payment_intents 400", "POST /v1/payment_intents 402",
		"GET /v1/payment_intents 200", "GET /v1/payment_intents/{intent} 200",
		"GET /v1/charges/{charge} 200", "GET /v1/charges/{charge} 404",
		"POST /v1/refunds 200", "POST /v1/refunds 400", "GET /v1/refunds/{refund} 200",
	} {
		if !slices.Contains(proxy.Seen(), want) {
			t.Errorf("no %q went through the validator; seen:\n%s", want, strings.Join(proxy.Seen(), "\n"))
		}
	}

	wantTypes := []string{
		"checkout.session.completed", "checkout.session.expired", "setup_intent.succeeded",
		"mandate.updated", "payment_method.detached",
		"payment_intent.succeeded", "payment_intent.payment_failed", "charge.succeeded", "charge.failed",
		"charge.refunded", "refund.created", "refund.updated", "charge.refund.updated",
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		got := slices.Clone(types)
		mu.Unlock()
		missing := slices.DeleteFunc(slices.Clone(wantTypes), func(typ string) bool { return slices.Contains(got, typ) })
		if len(missing) == 0 {
			t.Logf("%d answers and %d events validated", proxy.Answers(), len(got))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v never arrived; got %v", missing, got)
		}
	}
}
