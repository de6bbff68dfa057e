package sandbox_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/storefront/internal/cputime"
	"example.com/storefront/internal/pagetest"
	"example.com/storefront/sandbox/sandboxtest"
)

// The sandbox's own share of the storefront's flows, apart from the app:
// the calls one Stripe flow makes to the sandbox (the app's API calls with
// stripe-go, the shopper's pages without parsing them), and the
// off-session charge the worker makes for each due period. The client
// runs in the same process, so the CPU figure (cpu-µs/op) is an upper
// bound; a profile's -focus 'storefront/sandbox' gives the sandbox's part.

// BenchmarkStripeFlow is one whole Stripe flow as the sandbox sees it: a
// customer, a Checkout Session, the checkout page, choosing Amazon Pay,
// the approval page, approving, the session read back with its
// SetupIntent and PaymentMethod expanded, and the first period's charge.
func BenchmarkStripeFlow(b *testing.B) {
	e := sandboxtest.New(b)
	api := benchStripeClient(e.BaseURL)
	b.ReportAllocs()
	defer reportCPU(b)()
	for b.Loop() {
		benchStripeFlow(b, e, api, pagetest.NewBrowser(b).Client)
	}
}

// BenchmarkStripeCharge is the worker's off-session charge of a saved
// Amazon Pay payment method (a PaymentIntent created and confirmed with an
// idempotency key, its latest charge expanded), four at a time as the
// worker makes them, against 200 mandates.
func BenchmarkStripeCharge(b *testing.B) {
	e := sandboxtest.New(b)
	api := benchStripeClient(e.BaseURL)
	mandates := benchMandates(b, e, api, 200)
	var n atomic.Int64
	b.SetParallelism(2) // 4 goroutines on 2 cores
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			k := n.Add(1)
			m := mandates[int(k)%len(mandates)]
			benchCharge(b, api, m.customer, m.pm, fmt.Sprintf("charge-%d", k))
		}
	})
}

// benchMandate is a saved payment method to charge, and its customer.
type benchMandate struct{ customer, pm string }

// benchMandates makes n mandates through whole flows, each with a browser
// of its own.
func benchMandates(b *testing.B, e *sandboxtest.Env, api *client.API, n int) []benchMandate {
	mandates := make([]benchMandate, n)
	for i := range mandates {
		c, pm := benchStripeFlow(b, e, api, pagetest.NewBrowser(b).Client)
		mandates[i] = benchMandate{c, pm}
	}
	return mandates
}

func benchStripeClient(baseURL string) *client.API {
	backend := stripe.GetBackendWithConfig(stripe.APIBackend, &stripe.BackendConfig{
		URL:               stripe.String(baseURL + "/sandbox/stripe"),
		MaxNetworkRetries: stripe.Int64(0),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull},
	})
	return client.New(sandboxtest.StripeKey, &stripe.Backends{API: backend, Connect: backend, Uploads: backend})
}

// benchStripeFlow makes one mandate and returns its customer and payment
// method.
func benchStripeFlow(b *testing.B, e *sandboxtest.Env, api *client.API, browser *http.Client) (customer, pm string) {
	c, err := api.Customers.New(&stripe.CustomerParams{
		Email: stripe.String("ada@example.com"), Name: stripe.String("Ada Lovelace"),
		Address: &stripe.AddressParams{Country: stripe.String("US")},
	})
	if err != nil {
		b.Fatal(err)
	}
	p := &stripe.CheckoutSessionParams{
		Mode:               stripe.String(string(stripe.CheckoutSessionModeSetup)),
		PaymentMethodTypes: stripe.StringSlice([]string{"amazon_pay"}),
		Customer:           stripe.String(c.ID),
		SuccessURL:         stripe.String("http://shop.test/success?session_id={CHECKOUT_SESSION_ID}"),
		CancelURL:          stripe.String("http://shop.test/cancel"),
		ClientReferenceID:  stripe.String("mandate-42"),
		SetupIntentData:    &stripe.CheckoutSessionSetupIntentDataParams{Metadata: map[string]string{"mandate_id": "42"}},
		CustomText: &stripe.CheckoutSessionCustomTextParams{
			Submit: &stripe.CheckoutSessionCustomTextSubmitParams{Message: stripe.String("You authorise us to charge 12.00 USD every month.")},
		},
	}
	p.AddMetadata("mandate_id", "42")
	p.SetIdempotencyKey("session-" + c.ID)
	cs, err := api.CheckoutSessions.New(p)
	if err != nil {
		b.Fatal(err)
	}
	benchSend(b, browser, http.MethodGet, cs.URL, nil)
	approval := benchSend(b, browser, http.MethodPost, cs.URL, url.Values{"method": {"amazon_pay"}})
	benchSend(b, browser, http.MethodGet, approval, nil)
	benchSend(b, browser, http.MethodPost, approval, url.Values{"decision": {"approve"}})
	get := &stripe.CheckoutSessionParams{}
	get.AddExpand("setup_intent")
	get.AddExpand("setup_intent.payment_method")
	if cs, err = api.CheckoutSessions.Get(cs.ID, get); err != nil {
		b.Fatal(err)
	}
	if cs.Status != stripe.CheckoutSessionStatusComplete {
		b.Fatalf("session %s", cs.Status)
	}
	pm = cs.SetupIntent.PaymentMethod.ID
	benchCharge(b, api, c.ID, pm, "first-"+cs.ID)
	return c.ID, pm
}

// benchCharge charges a mandate off session, as the worker does.
func benchCharge(b *testing.B, api *client.API, customer, pm, key string) {
	params := &stripe.PaymentIntentParams{
		Amount:                stripe.Int64(1200),
		Currency:              stripe.String("usd"),
		Customer:              stripe.String(customer),
		PaymentMethod:         stripe.String(pm),
		PaymentMethodTypes:    stripe.StringSlice([]string{"amazon_pay"}),
		OffSession:            stripe.Bool(true),
		Confirm:               stripe.Bool(true),
		ErrorOnRequiresAction: stripe.Bool(true),
		Metadata:              map[string]string{"mandate_id": "42", "charge_id": key},
	}
	params.SetIdempotencyKey(key)
	pi, err := api.PaymentIntents.New(params)
	if err != nil {
		b.Error(err)
		return
	}
	if pi.Status != stripe.PaymentIntentStatusSucceeded {
		b.Errorf("payment intent %s", pi.Status)
	}
}

// benchSend makes one request (pagetest.Send) and returns its Location.
func benchSend(b *testing.B, c *http.Client, method, u string, form url.Values) string {
	b.Helper()
	return pagetest.Send(b, c, method, u, form).Header.Get("Location")
}

// reportCPU adds the process's CPU time per operation to the output.
func reportCPU(b *testing.B) func() {
	start := cputime.Process()
	return func() {
		if used := cputime.Process() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used)/float64(time.Microsecond)/float64(b.N), "cpu-µs/op")
		}
	}
}
