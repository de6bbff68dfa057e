package stripeprovider

import (
	"context"
	"net/http"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

// BeginSetup creates a Checkout Session in setup mode for card and Amazon
// Pay, for a Customer of this mandate's own.
//
// The Customer is the one this browser's earlier attempt made
// (req.Customer.Ref, when a session call failed after the customer was
// created), or a new one: a typed email alone never selects a customer, so
// no stranger's payment method lands on it. A known customer is used as it
// is, without asking Stripe first; only if Stripe answers resource_missing
// is a new one made. On an error after the customer was created, the
// Setup still carries it, so the retry reuses it.
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
		return payments.Setup{CustomerRef: customerID}, err
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
	if !req.ExpiresAt.IsZero() {
		// Explicit, so that an abandoned setup ends when we say (Stripe
		// allows 30 minutes to 24 hours; the default is 24 hours).
		params.ExpiresAt = stripe.Int64(req.ExpiresAt.Unix())
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
		Params:   stripe.Params{Context: ctx},
		Email:    stripe.String(req.Customer.Email),
		Name:     stripe.String(req.Customer.Name),
		Metadata: map[string]string{"mandate_id": req.MandateID},
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

// Codes for how a Checkout setup ended without success.
const (
	CodeSessionExpired    = "checkout_session_expired"
	CodeSetupCanceled     = "setup_intent_canceled"
	CodeLeftCheckout      = "left_checkout"
	CodeMandateInactive   = "mandate_inactive"
	CodePaymentMethodGone = "payment_method_detached"
)

func result(s *stripe.CheckoutSession) payments.SetupResult {
	r := payments.SetupResult{State: payments.SetupPending, ProviderStatus: "session " + string(s.Status)}
	si := s.SetupIntent
	if si != nil {
		r.ProviderStatus += ", setup_intent " + string(si.Status)
		r.SetupIntentRef = si.ID
		if si.LastSetupError != nil && si.LastSetupError.Msg != "" {
			r.Reason = si.LastSetupError.Msg
			r.Code = string(si.LastSetupError.Code)
		}
	}
	switch {
	case s.Status == stripe.CheckoutSessionStatusComplete && si != nil &&
		si.Status == stripe.SetupIntentStatusSucceeded && si.PaymentMethod != nil && si.PaymentMethod.ID != "":
		r.State = payments.SetupSucceeded
		r.Handle = si.PaymentMethod.ID
		r.HandleType = string(si.PaymentMethod.Type)
		r.Reason, r.Code = "", ""
		if s.Customer != nil {
			r.CustomerRef = s.Customer.ID
		}
		if si.Mandate != nil {
			r.ProviderMandateRef = si.Mandate.ID
		}
	case s.Status == stripe.CheckoutSessionStatusExpired:
		r.State = payments.SetupCanceled
		r.Code = CodeSessionExpired
		r.Reason = "The Stripe Checkout session expired before the setup was completed."
	case si != nil && si.Status == stripe.SetupIntentStatusCanceled:
		r.State = payments.SetupCanceled
		r.Code = CodeSetupCanceled
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
		r.Code = CodeLeftCheckout
		r.Reason = "The shopper left Stripe Checkout without completing the setup."
	}
	return r, nil
}
