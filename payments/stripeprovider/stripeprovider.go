// Package stripeprovider sets up Amazon Pay mandates with Stripe Checkout in
// setup mode and charges them off-session (reference: Stripe's "Set up
// future Amazon Pay payments").
//
// It talks to whatever API base it is given: Stripe itself, the built-in
// sandbox, or stripe-mock. It uses a per-instance stripe-go client and never
// the package-level stripe.Key or backends.
package stripeprovider

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"

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
	// ineligible is set when the account cannot charge the plan with Amazon
	// Pay (CheckAccount); nil until then, or when it can.
	ineligible atomic.Pointer[payments.IneligibleError]
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
	return &Provider{
		api:           client.New(cfg.SecretKey, &stripe.Backends{API: b, Connect: b, Uploads: b}),
		mode:          ModeFor(cfg.SecretKey, cfg.Sandbox),
		webhookSecret: cfg.WebhookSecret,
	}, nil
}

// ModeFor is the mode a secret key runs in: live for sk_live_/rk_live_
// keys, test otherwise, sandbox when it is the built-in sandbox's.
func ModeFor(secretKey string, sandbox bool) payments.Mode {
	switch {
	case sandbox:
		return payments.ModeSandbox
	case strings.HasPrefix(secretKey, "sk_live_"), strings.HasPrefix(secretKey, "rk_live_"):
		return payments.ModeLive
	}
	return payments.ModeTest
}

func (p *Provider) Name() string        { return Name }
func (p *Provider) Mode() payments.Mode { return p.mode }

// Features: Checkout in setup mode takes no payment.
func (p *Provider) Features() payments.Features { return payments.Features{} }

// Eligible accepts every shopper (Amazon Pay through Stripe takes customers
// worldwide) unless the account check found that the account cannot charge
// the plan's currency.
func (p *Provider) Eligible(_ string, price payments.Money) error {
	if ie := p.ineligible.Load(); ie != nil {
		return ie
	}
	// Stripe's own limits per currency, so that a price Stripe would
	// refuse (amount_too_small, amount_too_large) is refused before any call.
	limits, ok := payments.StripeLimits(price.Currency)
	if !ok {
		return &payments.IneligibleError{Field: "price", Reason: fmt.Sprintf(
			"Amazon Pay through Stripe does not take %s.", price.Currency)}
	}
	return limits.Check("Stripe", price)
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
		case se.HTTPStatusCode == http.StatusConflict || se.Type == stripe.ErrorTypeIdempotency:
			// idempotency_key_in_use (409): the first request with this key
			// is still running at Stripe and may yet make the object. A 400
			// idempotency_error (the key was first used with other
			// parameters, as by a version before a parameter was added)
			// says nothing of the payment either: the key's first request
			// decides, so it is looked up, never taken for a refusal.
			pe.Kind = payments.ErrInFlight
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

// isMissing reports whether err is Stripe saying the object named by param
// does not exist.
func isMissing(err error, param string) bool {
	pe, ok := payments.AsError(err)
	var se *stripe.Error
	return ok && errors.As(pe.Err, &se) && se.Code == stripe.ErrorCodeResourceMissing && se.Param == param
}
