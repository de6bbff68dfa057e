package ppro

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"example.com/storefront/payments"
)

// Name is the provider name stored with each mandate.
const Name = "ppro"

// Amazon Pay through PPRO (PPRO's Amazon Pay page): consumers in the US,
// USD only, 0.50 to 20,000.00 USD per payment.
const (
	amazonPayCountry  = "US"
	amazonPayCurrency = "USD"
	minAmount         = 50
	maxAmount         = 2_000_000
)

// maxDescription is the longest agreement description PPRO takes.
const maxDescription = 100

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Provider sets up Amazon Pay mandates as PPRO payment agreements with a
// REDIRECT authentication.
type Provider struct {
	client        *Client
	mode          payments.Mode
	webhookSecret string
}

// NewProvider wraps a client; mode is what the badge says. webhookSecret
// verifies webhook signatures (see VerifySignature); without one, webhooks
// are accepted unsigned and only ever cause a fetch.
func NewProvider(c *Client, mode payments.Mode, webhookSecret string) *Provider {
	return &Provider{client: c, mode: mode, webhookSecret: webhookSecret}
}

// ModeFor says whether a base URL is PPRO's sandbox or live API.
func ModeFor(baseURL string) payments.Mode {
	if strings.Contains(baseURL, ".sandbox.") {
		return payments.ModeTest
	}
	return payments.ModeLive
}

func (p *Provider) Name() string        { return Name }
func (p *Provider) Mode() payments.Mode { return p.mode }

// Client is the underlying API client, for charges and revocations.
func (p *Provider) Client() *Client { return p.client }

// Features: an agreement can take its first payment (initialPaymentCharge).
func (p *Provider) Features() payments.Features { return payments.Features{FirstPayment: true} }

// Eligible checks PPRO's Amazon Pay limits before any API call.
func (p *Provider) Eligible(country string, price payments.Money) error {
	if price.Currency != amazonPayCurrency {
		return &payments.IneligibleError{Field: "price", Reason: fmt.Sprintf(
			"Amazon Pay through PPRO takes USD only, and this plan is priced in %s.", price.Currency)}
	}
	if price.Amount < minAmount || price.Amount > maxAmount {
		return &payments.IneligibleError{Field: "price", Reason: fmt.Sprintf(
			"Amazon Pay through PPRO takes payments from 0.50 to 20,000.00 USD, and this plan costs %s.", price)}
	}
	if country != "" && country != amazonPayCountry {
		return &payments.IneligibleError{Field: "country", Reason: "Amazon Pay through PPRO is for shoppers in the United States only; choose Stripe, or the United States if that is where you live."}
	}
	return nil
}

// BeginSetup creates the agreement (with its first payment, if asked for)
// and returns where to send the shopper: PPRO's REDIRECT method, by GET or
// by POST as PPRO says.
func (p *Provider) BeginSetup(ctx context.Context, req payments.SetupRequest) (payments.Setup, error) {
	ar := AgreementRequest{
		PaymentMethod:                     PaymentMethodAmazonPay,
		Description:                       truncate(req.Summary, maxDescription),
		MerchantPaymentAgreementReference: req.MandateID,
		Consumer:                          Consumer{Name: req.Customer.Name, Email: req.Customer.Email, Country: req.Customer.Country},
		AuthenticationSettings:            []AuthenticationSetting{Redirect(req.ReturnURL)},
	}
	if m := req.InitialCharge; m != nil {
		ar.InitialPaymentCharge = &PaymentCharge{
			Amount:                         Money{Value: m.Amount, Currency: m.Currency},
			MerchantPaymentChargeReference: req.MandateID + "-first",
		}
	}
	a, err := p.client.CreateAgreement(ctx, ar, req.IdempotencyKey+"/agreement")
	if err != nil {
		return payments.Setup{}, wrap(err)
	}
	m, ok := a.RedirectMethod()
	if !ok {
		return payments.Setup{}, &payments.Error{Provider: Name, Op: "create agreement", Kind: payments.ErrRejected,
			Message: fmt.Sprintf("agreement %s (%s) offers no REDIRECT authentication", a.ID, a.Status)}
	}
	method := http.MethodGet
	if strings.EqualFold(m.Details.RequestMethod, http.MethodPost) {
		method = http.MethodPost
	}
	return payments.Setup{
		Ref:              a.ID,
		Redirect:         payments.Redirect{URL: m.Details.RequestURL, Method: method},
		InitialChargeRef: a.InitialPaymentChargeID,
	}, nil
}

// SetupStatus fetches the agreement, and its first payment when there is
// one, from PPRO.
func (p *Provider) SetupStatus(ctx context.Context, ref string) (payments.SetupResult, error) {
	a, err := p.client.GetAgreement(ctx, ref)
	if err != nil {
		return payments.SetupResult{}, wrap(err)
	}
	r := payments.SetupResult{ProviderStatus: "agreement " + string(a.Status), Reason: a.Failure.String()}
	switch {
	case a.Status == AgreementActive:
		r.State, r.Handle, r.HandleType, r.Reason = payments.SetupSucceeded, a.ID, "amazon_pay", ""
	case a.Status.Revoked():
		r.State, r.Handle, r.HandleType = payments.SetupRevoked, a.ID, "amazon_pay"
		if r.Reason == "" {
			r.Reason = "The agreement was " + strings.ToLower(strings.ReplaceAll(string(a.Status), "_", " ")) + "."
		}
	case a.Status == AgreementFailed:
		r.State = payments.SetupFailed
		if r.Reason == "" {
			r.Reason = "PPRO reports the agreement failed, without a reason."
		}
	default: // INITIALIZING, AUTHENTICATION_PENDING, AUTHORIZATION_PROCESSING
		r.State = payments.SetupPending
	}
	if a.InitialPaymentChargeID != "" {
		ch, err := p.client.GetCharge(ctx, a.InitialPaymentChargeID)
		if err != nil {
			return payments.SetupResult{}, wrap(err)
		}
		r.InitialCharge = chargeResult(ch)
	}
	return r, nil
}

func chargeResult(ch Charge) *payments.ChargeResult {
	r := &payments.ChargeResult{Ref: ch.ID, ProviderStatus: string(ch.Status), State: payments.ChargePending}
	switch ch.Status {
	case ChargeCaptured, ChargeRefundProcessing, ChargeRefunded:
		r.State = payments.ChargeSucceeded
	case ChargeFailed, ChargeDiscarded, ChargeVoided:
		r.State = payments.ChargeFailed
		r.Reason = ch.Failure.String()
	}
	return r
}

// CancelSetup cannot abort a PPRO agreement: PPRO offers no call for it,
// and a pending one fails by itself once Amazon Pay's one-hour
// authentication timeout passes. It reports the current status.
func (p *Provider) CancelSetup(ctx context.Context, ref, _ string) (payments.SetupResult, error) {
	return p.SetupStatus(ctx, ref)
}

// wrap turns a client error into a payments.Error.
func wrap(err error) error {
	pe := &payments.Error{Provider: Name, Op: "call the API", Kind: payments.ErrUnavailable, Err: err, Message: err.Error()}
	var e *Error
	if errors.As(err, &e) {
		pe.Op, pe.StatusCode, pe.Message = e.Op, e.StatusCode, e.Message
		switch {
		case e.StatusCode == http.StatusNotFound:
			pe.Kind = payments.ErrNotFound
		case e.Temporary():
			pe.Kind = payments.ErrUnavailable
		default:
			pe.Kind = payments.ErrRejected
		}
	}
	return pe
}
