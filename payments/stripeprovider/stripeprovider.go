// Package stripeprovider sets up Amazon Pay mandates with Stripe Checkout in
// setup mode (reference: Stripe's "Set up future Amazon Pay payments").
//
// It talks to whatever API base it is given: Stripe itself, the built-in
// sandbox, or stripe-mock. It uses a per-instance stripe-go client and never
// the package-level stripe.Key or backends.
package stripeprovider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"example.com/storefront/payments"
)

// Name is the provider name stored with each mandate.
const Name = "stripe"

// Config configures a Provider.
type Config struct {
	SecretKey string
	// APIURL is the API base ("" means Stripe's own). stripe-go trims a
	// trailing "/v1".
	APIURL string
	// WebhookSecret verifies webhook deliveries ("whsec_…"); without it
	// ParseWebhook refuses every delivery.
	WebhookSecret string
	// Sandbox says APIURL is the built-in sandbox, for the mode badge.
	Sandbox    bool
	HTTPClient *http.Client
	// MaxNetworkRetries is stripe-go's retry count for network errors and
	// retryable answers. Retries are safe because every create carries an
	// idempotency key. Negative means none.
	MaxNetworkRetries int64
}

// Provider is Stripe.
type Provider struct {
	api           *client.API
	mode          payments.Mode
	webhookSecret string
}

// New builds a Provider.
func New(cfg Config) (*Provider, error) {
	if cfg.SecretKey == "" {
		return nil, errors.New("stripe: no secret key")
	}
	bc := &stripe.BackendConfig{
		HTTPClient:        cfg.HTTPClient,
		MaxNetworkRetries: stripe.Int64(max(cfg.MaxNetworkRetries, 0)),
		LeveledLogger:     &stripe.LeveledLogger{Level: stripe.LevelNull}, // we log outcomes ourselves
		EnableTelemetry:   stripe.Bool(false),
	}
	if cfg.APIURL != "" {
		bc.URL = stripe.String(cfg.APIURL)
	}
	b := stripe.GetBackendWithConfig(stripe.APIBackend, bc)
	mode := payments.ModeTest
	switch {
	case cfg.Sandbox:
		mode = payments.ModeSandbox
	case strings.HasPrefix(cfg.SecretKey, "sk_live_"), strings.HasPrefix(cfg.SecretKey, "rk_live_"):
		mode = payments.ModeLive
	}
	return &Provider{
		api:           client.New(cfg.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b}),
		mode:          mode,
		webhookSecret: cfg.WebhookSecret,
	}, nil
}

func (p *Provider) Name() string        { return Name }
func (p *Provider) Mode() payments.Mode { return p.mode }

// Features: Checkout in setup mode takes no payment.
func (p *Provider) Features() payments.Features { return payments.Features{} }

// Eligible accepts every shopper: Amazon Pay through Stripe takes customers
// worldwide, and the plan's currency was checked at start-up.
func (p *Provider) Eligible(string, payments.Money) error { return nil }

// BeginSetup creates a Checkout Session in setup mode for card and Amazon
// Pay, for the shopper's known Stripe Customer or a new one.
//
// A known customer is used as it is, without asking Stripe first: if Stripe
// no longer has it (deleted, or from another account), the session is
// refused as resource_missing, and only then is a new customer created.
// That saves an API call on every returning shopper.
func (p *Provider) BeginSetup(ctx context.Context, req payments.SetupRequest) (payments.Setup, error) {
	customerID := req.Customer.Ref
	if customerID == "" {
		id, err := p.createCustomer(ctx, req, "/customer")
		if err != nil {
			return payments.Setup{}, err
		}
		customerID = id
	}
	s, err := p.createSession(ctx, req, customerID, "/checkout-session")
	if req.Customer.Ref != "" && isMissing(err, "customer") {
		// A different idempotency key: this is a different request.
		if customerID, err = p.createCustomer(ctx, req, "/customer-replacing-"+req.Customer.Ref); err != nil {
			return payments.Setup{}, err
		}
		s, err = p.createSession(ctx, req, customerID, "/checkout-session-for-"+customerID)
	}
	if err != nil {
		return payments.Setup{}, err
	}
	return payments.Setup{
		Ref:         s.ID,
		CustomerRef: customerID,
		Redirect:    payments.Redirect{URL: s.URL, Method: http.MethodGet},
	}, nil
}

func (p *Provider) createSession(ctx context.Context, req payments.SetupRequest, customerID, keySuffix string) (*stripe.CheckoutSession, error) {
	params := &stripe.CheckoutSessionParams{
		Params:             stripe.Params{Context: ctx},
		Metadata:           map[string]string{"mandate_id": req.MandateID},
		Mode:               stripe.String(string(stripe.CheckoutSessionModeSetup)),
		PaymentMethodTypes: stripe.StringSlice([]string{"card", "amazon_pay"}),
		Customer:           stripe.String(customerID),
		SuccessURL:         stripe.String(req.ReturnURL),
		CancelURL:          stripe.String(req.CancelURL),
		ClientReferenceID:  stripe.String(req.MandateID),
		SetupIntentData: &stripe.CheckoutSessionSetupIntentDataParams{
			Metadata: map[string]string{"mandate_id": req.MandateID},
		},
	}
	if req.Terms != "" {
		// Shown next to Checkout's button: the shopper sees what they agree to.
		params.CustomText = &stripe.CheckoutSessionCustomTextParams{
			Submit: &stripe.CheckoutSessionCustomTextSubmitParams{Message: stripe.String(req.Terms)},
		}
	}
	params.SetIdempotencyKey(req.IdempotencyKey + keySuffix)
	s, err := p.api.CheckoutSessions.New(params)
	if err != nil {
		return nil, wrap("create checkout session", err)
	}
	if s.URL == "" {
		return nil, &payments.Error{Provider: Name, Op: "create checkout session", Kind: payments.ErrUnavailable,
			Message: "the session " + s.ID + " has no URL"}
	}
	return s, nil
}

func (p *Provider) createCustomer(ctx context.Context, req payments.SetupRequest, keySuffix string) (string, error) {
	params := &stripe.CustomerParams{
		Params: stripe.Params{Context: ctx},
		Email:  stripe.String(req.Customer.Email),
		Name:   stripe.String(req.Customer.Name),
	}
	if req.Customer.Country != "" {
		params.Address = &stripe.AddressParams{Country: stripe.String(req.Customer.Country)}
	}
	params.SetIdempotencyKey(req.IdempotencyKey + keySuffix)
	c, err := p.api.Customers.New(params)
	if err != nil {
		return "", wrap("create customer", err)
	}
	return c.ID, nil
}

// isMissing reports whether err is Stripe saying the object named by param
// does not exist.
func isMissing(err error, param string) bool {
	pe, ok := payments.AsError(err)
	var se *stripe.Error
	return ok && errors.As(pe.Err, &se) && se.Code == stripe.ErrorCodeResourceMissing && se.Param == param
}

// SetupStatus retrieves the Checkout Session with its SetupIntent and
// PaymentMethod expanded. Only a complete session whose SetupIntent
// succeeded counts as success.
func (p *Provider) SetupStatus(ctx context.Context, ref string) (payments.SetupResult, error) {
	params := &stripe.CheckoutSessionParams{Params: stripe.Params{Context: ctx}}
	params.AddExpand("setup_intent")
	params.AddExpand("setup_intent.payment_method")
	s, err := p.api.CheckoutSessions.Get(ref, params)
	if err != nil {
		return payments.SetupResult{}, wrap("retrieve checkout session", err)
	}
	return result(s), nil
}

func result(s *stripe.CheckoutSession) payments.SetupResult {
	r := payments.SetupResult{State: payments.SetupPending, ProviderStatus: "session " + string(s.Status)}
	si := s.SetupIntent
	if si != nil {
		r.ProviderStatus += ", setup_intent " + string(si.Status)
		if si.LastSetupError != nil && si.LastSetupError.Msg != "" {
			r.Reason = si.LastSetupError.Msg
		}
	}
	switch {
	case s.Status == stripe.CheckoutSessionStatusComplete && si != nil &&
		si.Status == stripe.SetupIntentStatusSucceeded && si.PaymentMethod != nil && si.PaymentMethod.ID != "":
		r.State = payments.SetupSucceeded
		r.Handle = si.PaymentMethod.ID
		r.HandleType = string(si.PaymentMethod.Type)
		r.Reason = ""
	case s.Status == stripe.CheckoutSessionStatusExpired:
		r.State = payments.SetupCanceled
		r.Reason = "The Stripe Checkout session expired before the setup was completed."
	case si != nil && si.Status == stripe.SetupIntentStatusCanceled:
		r.State = payments.SetupCanceled
		r.Reason = "The setup was canceled at Stripe."
	}
	return r
}

// CancelSetup expires the Checkout Session if it is still open, so the
// shopper cannot complete it later, and reports the resulting status. A
// session that already completed stays complete: the result says so.
func (p *Provider) CancelSetup(ctx context.Context, ref, idempotencyKey string) (payments.SetupResult, error) {
	r, err := p.SetupStatus(ctx, ref)
	if err != nil || r.State != payments.SetupPending {
		return r, err
	}
	params := &stripe.CheckoutSessionExpireParams{Params: stripe.Params{Context: ctx}}
	params.SetIdempotencyKey(idempotencyKey)
	s, err := p.api.CheckoutSessions.Expire(ref, params)
	if err != nil {
		return payments.SetupResult{}, wrap("expire checkout session", err)
	}
	r = result(s)
	if s.Status == stripe.CheckoutSessionStatusExpired {
		r.Reason = "The shopper left Stripe Checkout without completing the setup."
	}
	return r, nil
}

// wrap turns a stripe-go error into a payments.Error.
func wrap(op string, err error) error {
	pe := &payments.Error{Provider: Name, Op: op, Kind: payments.ErrUnavailable, Err: err}
	var se *stripe.Error
	if errors.As(err, &se) {
		pe.StatusCode = se.HTTPStatusCode
		pe.Code = string(se.Code)
		pe.Message = se.Msg
		pe.RequestID = se.RequestID
		switch {
		case se.HTTPStatusCode == http.StatusNotFound:
			pe.Kind = payments.ErrNotFound
		case se.HTTPStatusCode == http.StatusTooManyRequests || se.HTTPStatusCode >= 500:
			pe.Kind = payments.ErrUnavailable
		case se.HTTPStatusCode >= 400:
			pe.Kind = payments.ErrRejected
		}
	} else if err != nil {
		pe.Message = fmt.Sprint(err)
	}
	return pe
}
