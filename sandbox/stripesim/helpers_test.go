package stripesim_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox"
	"example.com/storefront/sandbox/sandboxtest"
)

const (
	testKey      = sandboxtest.StripeKey
	testMerchant = sandboxtest.Merchant
	testMandate  = "You authorise Acme Coffee Club to charge your Amazon Pay account 12.00 USD every month until you cancel."
)

// env is a served sandbox (sandboxtest) with a stripe-go client.
type env struct {
	*sandboxtest.Env
	t   *testing.T
	api *client.API
}

func newEnv(t *testing.T, configure ...func(*sandbox.Config)) *env {
	t.Helper()
	e := &env{Env: sandboxtest.New(t, configure...), t: t}
	e.api = stripeClient(e.BaseURL, testKey)
	return e
}

func stripeClient(baseURL, key string) *client.API {
	b := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL + "/sandbox/stripe"),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return client.New(key, &stripe.Backends{API: b, Connect: b, Uploads: b})
}

func (e *env) createCustomer(name, email string) *stripe.Customer {
	e.t.Helper()
	c, err := e.api.Customers.New(&stripe.CustomerParams{
		Email:   stripe.String(email),
		Name:    stripe.String(name),
		Address: &stripe.AddressParams{Country: stripe.String("US")},
	})
	if err != nil {
		e.t.Fatalf("create customer: %v", err)
	}
	return c
}

// sessionParams are the parameters the storefront sends.
func sessionParams(customerID string) *stripe.CheckoutSessionParams {
	p := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModeSetup)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card", "amazon_pay"}),
		Customer:           stripe.String(customerID),
		SuccessURL:         stripe.String("http://shop.test/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:          stripe.String("http://shop.test/cancel"),
		ClientReferenceID:  stripe.String("mandate-42"),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{
			Metadata: map[string]string{"mandate_id": "42"},
		},
		CustomText: &stripe.CheckoutSessionCustomTextParams{
			Submit: &stripe.CheckoutSessionCustomTextSubmitParams{Message: stripe.String(testMandate)},
		},
	}
	p.AddMetadata("mandate_id", "42")
	return p
}

func (e *env) createSession(p *stripe.CheckoutSessionParams) *stripe.CheckoutSession {
	e.t.Helper()
	cs, err := e.api.CheckoutSessions.New(p)
	if err != nil {
		e.t.Fatalf("create session: %v", err)
	}
	return cs
}

// newFlow creates a customer and a session as the storefront does.
func (e *env) newFlow() (*stripe.Customer, *stripe.CheckoutSession) {
	e.t.Helper()
	c := e.createCustomer("Ada Lovelace", "ada@example.com")
	return c, e.createSession(sessionParams(c.ID))
}

func (e *env) getSession(id string) *stripe.CheckoutSession {
	e.t.Helper()
	p := &stripe.CheckoutSessionParams{}
	p.AddExpand("setup_intent")
	p.AddExpand("setup_intent.payment_method")
	cs, err := e.api.CheckoutSessions.Get(id, p)
	if err != nil {
		e.t.Fatalf("get session %s: %v", id, err)
	}
	return cs
}

func checkoutPath(cs *stripe.CheckoutSession) string { return "/sandbox/stripe/checkout/" + cs.ID }

func approvalPath(setupIntentID string) string { return "/sandbox/stripe/amazon-pay/" + setupIntentID }

// chooseAmazonPay posts the Amazon Pay choice on the checkout page and
// returns the approval page's path.
func (e *env) chooseAmazonPay(cs *stripe.CheckoutSession) string {
	e.t.Helper()
	res := e.Post(checkoutPath(cs), url.Values{"method": {"amazon_pay"}})
	if got, want := res.Status, http.StatusSeeOther; got != want {
		e.t.Fatalf("choose Amazon Pay: status %d, want %d; body:\n%s", got, want, res.Body)
	}
	if got, want := res.Header.Get("Location"), e.Public+"/stripe/amazon-pay/"+cs.SetupIntent.ID; got != want {
		e.t.Fatalf("choose Amazon Pay: Location %q, want %q", got, want)
	}
	return approvalPath(cs.SetupIntent.ID)
}

// stripeErr asserts that err is a *stripe.Error and returns it.
func stripeErr(t *testing.T, err error) *stripe.Error {
	t.Helper()
	var se *stripe.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not a *stripe.Error", err, err)
	}
	return se
}

func wantStatus(t *testing.T, res *pagetest.Page, want int) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("status %d, want %d; body:\n%s", res.Status, want, res.Body)
	}
}

func wantBody(t *testing.T, res *pagetest.Page, substrings ...string) {
	t.Helper()
	for _, s := range substrings {
		if !strings.Contains(res.Body, s) {
			t.Errorf("body lacks %q; body:\n%s", s, res.Body)
		}
	}
}
