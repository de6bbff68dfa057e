package stripesim_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// What the merchant's-side tests share: a saved payment method, and an
// off-session charge of it as the app makes one.

// testUserAgent is the shopper's browser as the hosted pages see it.
const testUserAgent = "SandboxTestBrowser/1.0"

// saved is a payment method saved by a completed Checkout setup.
type saved struct {
	customer *stripe.Customer
	session  *stripe.CheckoutSession
	pmID     string
}

// saveAmazonPay runs a Checkout setup to the end with Amazon Pay, the
// shopper answering from testUserAgent.
func (e *env) saveAmazonPay() saved {
	e.t.Helper()
	c, cs := e.newFlow()
	approval := e.chooseAmazonPay(cs)
	res := e.Do(http.MethodPost, approval, url.Values{"decision": {"approve"}}, http.Header{"User-Agent": {testUserAgent}})
	wantStatus(e.t, res, http.StatusSeeOther)
	return e.savedOf(c, cs)
}

// saveCard runs a Checkout setup to the end with the test card that is
// saved.
func (e *env) saveCard() saved {
	e.t.Helper()
	c, cs := e.newFlow()
	res := e.Do(http.MethodPost, checkoutPath(cs), url.Values{"method": {"card"}, "card_number": {"4242 4242 4242 4242"}},
		http.Header{"User-Agent": {testUserAgent}})
	wantStatus(e.t, res, http.StatusSeeOther)
	return e.savedOf(c, cs)
}

func (e *env) savedOf(c *stripe.Customer, cs *stripe.CheckoutSession) saved {
	e.t.Helper()
	got := e.getSession(cs.ID)
	if got.SetupIntent.PaymentMethod == nil {
		e.t.Fatalf("session %s saved no payment method", cs.ID)
	}
	return saved{customer: c, session: got, pmID: got.SetupIntent.PaymentMethod.ID}
}

// chargeParams are the parameters the app sends to charge a saved Amazon
// Pay payment method off-session.
func chargeParams(s saved, amount int64) *stripe.PaymentIntentParams {
	p := &stripe.PaymentIntentParams{
		Amount:             stripe.Int64(amount),
		Currency:           stripe.String("usd"),
		Customer:           stripe.String(s.customer.ID),
		PaymentMethod:      stripe.String(s.pmID),
		PaymentMethodTypes: stripe.StringSlice([]string{"amazon_pay"}),
		OffSession:         stripe.Bool(true),
		Confirm:            stripe.Bool(true),
		Description:        stripe.String("Acme Coffee Club, May"),
	}
	p.AddMetadata("charge_id", "17")
	return p
}

// charge charges s off-session and fails the test unless it succeeds.
func (e *env) charge(s saved, amount int64) *stripe.PaymentIntent {
	e.t.Helper()
	pi, err := e.api.PaymentIntents.New(chargeParams(s, amount))
	if err != nil {
		e.t.Fatalf("charge %d: %v", amount, err)
	}
	return pi
}

// getPaymentIntent retrieves a PaymentIntent with its latest charge.
func (e *env) getPaymentIntent(id string) *stripe.PaymentIntent {
	e.t.Helper()
	p := &stripe.PaymentIntentParams{}
	p.AddExpand("latest_charge")
	pi, err := e.api.PaymentIntents.Get(id, p)
	if err != nil {
		e.t.Fatalf("get payment intent %s: %v", id, err)
	}
	return pi
}

// wantStripeError asserts an API error's status, type, code and param.
func wantStripeError(t *testing.T, err error, status int, typ stripe.ErrorType, code stripe.ErrorCode, param string) *stripe.Error {
	t.Helper()
	se := stripeErr(t, err)
	if se.HTTPStatusCode != status || se.Type != typ || se.Code != code || se.Param != param {
		t.Errorf("got %d %s code=%q param=%q %q; want %d %s code=%q param=%q",
			se.HTTPStatusCode, se.Type, se.Code, se.Param, se.Msg, status, typ, code, param)
	}
	return se
}
