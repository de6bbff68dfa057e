package stripeprovider

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

func TestResultNormalisesSessionAndSetupIntent(t *testing.T) {
	pm := &stripe.PaymentMethod{ID: "pm_1", Type: "amazon_pay"}
	for _, tc := range []struct {
		name   string
		s      stripe.CheckoutSession
		state  payments.SetupState
		handle string
	}{
		{"complete and succeeded", stripe.CheckoutSession{Status: "complete", SetupIntent: &stripe.SetupIntent{Status: "succeeded", PaymentMethod: pm}}, payments.SetupSucceeded, "pm_1"},
		{"complete but processing", stripe.CheckoutSession{Status: "complete", SetupIntent: &stripe.SetupIntent{Status: "processing", PaymentMethod: pm}}, payments.SetupPending, ""},
		{"succeeded but session open", stripe.CheckoutSession{Status: "open", SetupIntent: &stripe.SetupIntent{Status: "succeeded", PaymentMethod: pm}}, payments.SetupPending, ""},
		{"complete without payment method", stripe.CheckoutSession{Status: "complete", SetupIntent: &stripe.SetupIntent{Status: "succeeded"}}, payments.SetupPending, ""},
		{"open after a decline", stripe.CheckoutSession{Status: "open", SetupIntent: &stripe.SetupIntent{Status: "requires_payment_method", LastSetupError: &stripe.Error{Msg: "declined"}}}, payments.SetupPending, ""},
		{"expired", stripe.CheckoutSession{Status: "expired", SetupIntent: &stripe.SetupIntent{Status: "canceled"}}, payments.SetupCanceled, ""},
		{"setup intent canceled", stripe.CheckoutSession{Status: "open", SetupIntent: &stripe.SetupIntent{Status: "canceled"}}, payments.SetupCanceled, ""},
		{"no setup intent", stripe.CheckoutSession{Status: "open"}, payments.SetupPending, ""},
	} {
		r := result(&tc.s)
		if r.State != tc.state || r.Handle != tc.handle {
			t.Errorf("%s: %+v, want state %s handle %q", tc.name, r, tc.state, tc.handle)
		}
		if r.ProviderStatus == "" {
			t.Errorf("%s: no provider status", tc.name)
		}
	}
	r := result(&stripe.CheckoutSession{Status: "open", SetupIntent: &stripe.SetupIntent{Status: "requires_payment_method", LastSetupError: &stripe.Error{Msg: "declined"}}})
	if r.Reason != "declined" {
		t.Errorf("reason = %q, want the last setup error", r.Reason)
	}
	if r := result(&stripe.CheckoutSession{Status: "complete", SetupIntent: &stripe.SetupIntent{Status: "succeeded", PaymentMethod: pm}}); r.HandleType != "amazon_pay" {
		t.Errorf("handle type = %q", r.HandleType)
	}
}

func TestWrapClassifiesErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		kind payments.ErrorKind
	}{
		{&stripe.Error{HTTPStatusCode: http.StatusNotFound, Code: "resource_missing"}, payments.ErrNotFound},
		{&stripe.Error{HTTPStatusCode: http.StatusBadRequest, Msg: "bad"}, payments.ErrRejected},
		{&stripe.Error{HTTPStatusCode: http.StatusPaymentRequired}, payments.ErrRejected},
		{&stripe.Error{HTTPStatusCode: http.StatusTooManyRequests}, payments.ErrUnavailable},
		{&stripe.Error{HTTPStatusCode: http.StatusBadGateway}, payments.ErrUnavailable},
		{errors.New("dial tcp: connection refused"), payments.ErrUnavailable},
	} {
		var pe *payments.Error
		if !errors.As(wrap("op", tc.err), &pe) || pe.Kind != tc.kind || pe.Provider != "stripe" || pe.Op != "op" {
			t.Errorf("wrap(%v) = %+v, want kind %s", tc.err, pe, tc.kind)
		}
		if !errors.Is(wrap("op", tc.err), tc.err) {
			t.Errorf("wrap(%v) does not unwrap to the cause", tc.err)
		}
	}
}

func TestModeFromKey(t *testing.T) {
	for key, want := range map[string]payments.Mode{"sk_test_1": payments.ModeTest, "sk_live_1": payments.ModeLive, "rk_live_1": payments.ModeLive} {
		p, err := New(Config{SecretKey: key})
		if err != nil || p.Mode() != want {
			t.Errorf("key %s: mode %v (%v), want %s", key, p.Mode(), err, want)
		}
	}
	if p, _ := New(Config{SecretKey: "sk_test_1", Sandbox: true}); p.Mode() != payments.ModeSandbox {
		t.Error("sandbox not reported")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("no key accepted")
	}
}

// A PaymentIntent's latest charge, expanded or only its id (as Charge asks
// for it), gives the same capture operation, decoded as stripe-go decodes
// Stripe's answers.
func TestPIResultReadsTheLatestChargeExpandedOrNot(t *testing.T) {
	const charge = `{"id":"ch_1","object":"charge","amount":1200,"amount_refunded":0,"status":"succeeded"}`
	for _, tc := range []struct {
		name, status, latest string
		received             int64
		op                   *payments.Operation
	}{
		{"succeeded, expanded", "succeeded", charge, 1200, &payments.Operation{Kind: payments.OpCapture, Ref: "ch_1", Amount: 1200, Status: "succeeded"}},
		{"succeeded, id only", "succeeded", `"ch_1"`, 1200, &payments.Operation{Kind: payments.OpCapture, Ref: "ch_1", Amount: 1200, Status: "succeeded"}},
		{"processing, id only", "processing", `"ch_1"`, 0, &payments.Operation{Kind: payments.OpCapture, Ref: "ch_1", Amount: 1200, Status: "pending"}},
		{"declined, id only", "requires_payment_method", `"ch_1"`, 0, &payments.Operation{Kind: payments.OpCapture, Ref: "ch_1", Amount: 1200, Status: "failed"}},
		{"waiting for the shopper, id only", "requires_action", `"ch_1"`, 0, nil},
		{"not attempted", "requires_confirmation", `null`, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var pi stripe.PaymentIntent
			body := fmt.Sprintf(`{"id":"pi_1","object":"payment_intent","amount":1200,"amount_received":%d,"status":%q,"latest_charge":%s,"metadata":{"charge_ref":"c-1"}}`,
				tc.received, tc.status, tc.latest)
			if err := json.Unmarshal([]byte(body), &pi); err != nil {
				t.Fatal(err)
			}
			r := piResult(&pi)
			if r.Ref != "pi_1" || r.Reference != "c-1" {
				t.Errorf("ref %q, reference %q", r.Ref, r.Reference)
			}
			switch {
			case tc.op == nil && len(r.Operations) != 0:
				t.Errorf("operations %+v, want none", r.Operations)
			case tc.op != nil && (len(r.Operations) != 1 || r.Operations[0] != *tc.op):
				t.Errorf("operations %+v, want %+v", r.Operations, *tc.op)
			}
		})
	}
}
