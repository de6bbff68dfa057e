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

// SignsWebhooks reports whether webhooks are verified: without a secret
// anyone can send them, and the app budgets the fetches they cause.
func (p *Provider) SignsWebhooks() bool { return p.webhookSecret != "" }

func (p *Provider) Name() string        { return Name }
func (p *Provider) Mode() payments.Mode { return p.mode }

// Client is the underlying API client, for charges and revocations.
func (p *Provider) Client() *Client { return p.client }

// Features: an agreement can take its first payment (initialPaymentCharge),
// and it states the amount of every later charge (amountType EXACT, set
// by BeginSetup): PPRO refuses a charge of another amount.
func (p *Provider) Features() payments.Features {
	return payments.Features{FirstPayment: true, ExactAmount: true}
}

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

// frequencies maps a plan's interval to the agreement's frequency type.
var frequencies = map[payments.Interval]string{
	payments.Day: "DAILY", payments.Week: "WEEKLY", payments.Month: "MONTHLY", payments.Year: "YEARLY",
}

// maxUserAgent is the longest consumer.client.userAgent PPRO takes.
const maxUserAgent = 500

// BeginSetup creates the agreement (with its first payment, if asked for)
// stating its terms (frequency, the exact amount of each charge, the
// shopper's browser from the consent record), and returns where to send
// the shopper: PPRO's REDIRECT method, by GET or by POST as PPRO says. An
// agreement PPRO answers at once as ACTIVE or FAILED needs no redirect:
// the Setup carries the result.
func (p *Provider) BeginSetup(ctx context.Context, req payments.SetupRequest) (payments.Setup, error) {
	ar := AgreementRequest{
		PaymentMethod:                     PaymentMethodAmazonPay,
		Description:                       truncate(req.Summary, maxDescription),
		MerchantPaymentAgreementReference: req.MandateID,
		Consumer:                          Consumer{Name: req.Customer.Name, Email: req.Customer.Email, Country: req.Customer.Country},
		AuthenticationSettings:            []AuthenticationSetting{Redirect(req.ReturnURL)},
	}
	if f, ok := frequencies[req.Plan.Interval]; ok {
		ar.Frequency = &Frequency{Type: f, Interval: 1}
		ar.Amount = &Money{Value: req.Plan.Price.Amount, Currency: req.Plan.Price.Currency}
		ar.AmountType = AmountTypeExact
	}
	if req.Customer.IP != "" || req.Customer.UserAgent != "" {
		ar.Consumer.Client = &ConsumerClient{IP: req.Customer.IP, UserAgent: truncate(req.Customer.UserAgent, maxUserAgent)}
	}
	if strings.HasPrefix(req.WebhookURL, "https://") { // PPRO takes https only
		ar.WebhooksURL = req.WebhookURL
	}
	if m := req.InitialCharge; m != nil {
		ar.InitialPaymentCharge = &PaymentCharge{
			Amount:                         Money{Value: m.Amount, Currency: m.Currency},
			AutoCapture:                    autoCapture(),
			MerchantPaymentChargeReference: req.IdempotencyKey + "/first", // the first payment's row key

		}
	}
	a, err := p.client.CreateAgreement(ctx, ar, req.IdempotencyKey+"/agreement")
	if err != nil {
		return payments.Setup{}, wrap(err)
	}
	setup := payments.Setup{Ref: a.ID, InitialChargeRef: a.InitialPaymentChargeID}
	switch {
	case a.Status == AgreementActive || a.Status == AgreementFailed || a.Status.Revoked():
		r := agreementResult(a)
		setup.Decided = &r
		return setup, nil
	}
	m, ok := a.RedirectMethod()
	if !ok {
		return setup, &payments.Error{Provider: Name, Op: "create agreement", Kind: payments.ErrRejected,
			Message: fmt.Sprintf("agreement %s (%s) offers no REDIRECT authentication", a.ID, a.Status)}
	}
	method := http.MethodGet
	if strings.EqualFold(m.Details.RequestMethod, http.MethodPost) {
		method = http.MethodPost
	}
	setup.Redirect = payments.Redirect{URL: m.Details.RequestURL, Method: method}
	return setup, nil
}

// autoCapture asks PPRO to capture a charge as soon as it is authorized:
// the app never captures separately (and Amazon Pay through PPRO has no
// separate captures), so without it a charge could wait in CAPTURE_PENDING.
func autoCapture() *bool {
	t := true
	return &t
}

// SetupStatus fetches the agreement, and its first payment when there is
// one, from PPRO. The agreement's status stands even when its first
// payment cannot be fetched: that payment is then left out (still
// pending for us), not the whole answer.
func (p *Provider) SetupStatus(ctx context.Context, ref string) (payments.SetupResult, error) {
	a, err := p.client.GetAgreement(ctx, ref)
	if err != nil {
		return payments.SetupResult{}, wrap(err)
	}
	r := agreementResult(a)
	if a.InitialPaymentChargeID != "" {
		if ch, err := p.client.GetCharge(ctx, a.InitialPaymentChargeID); err == nil {
			cr := chargeResult(ch)
			r.InitialCharge = &cr
		} else {
			r.ProviderStatus += "; first payment not fetched: " + err.Error()
		}
	}
	return r, nil
}

// Codes for outcomes PPRO reports by status rather than by failure code.
const (
	CodeRevokedByConsumer  = "REVOKED_BY_CONSUMER"
	CodeRevokedByMerchant  = "REVOKED_BY_MERCHANT"
	CodeRevokedByProvider  = "REVOKED_BY_PROVIDER"
	codeCanceledByConsumer = "CANCELED_BY_CONSUMER"
	codeTimeout            = "PAYMENT_METHOD_TIMEOUT"
)

// agreementResult normalises an agreement. A shopper who cancels on Amazon
// Pay comes back as FAILED with CANCELED_BY_CONSUMER, and one who never
// answers as FAILED with PAYMENT_METHOD_TIMEOUT: for us both are
// cancellations, as a left or expired Checkout Session is on Stripe, not
// failures (nothing was declined).
func agreementResult(a Agreement) payments.SetupResult {
	r := payments.SetupResult{ProviderStatus: "agreement " + string(a.Status), Code: a.Failure.Code(), Reason: a.Failure.String()}
	switch {
	case a.Status == AgreementActive:
		r.State, r.Handle, r.HandleType, r.Reason, r.Code = payments.SetupSucceeded, a.ID, "amazon_pay", "", ""
	case a.Status.Revoked():
		r.State, r.Handle, r.HandleType, r.Code = payments.SetupRevoked, a.ID, "amazon_pay", string(a.Status)
		switch a.Status {
		case AgreementRevokedByConsumer:
			r.RevokedBy = payments.RevokedByShopper
		case AgreementRevokedByMerchant:
			r.RevokedBy = payments.RevokedByMerchant
		default:
			r.RevokedBy = payments.RevokedByProvider
		}
		if r.Reason == "" {
			r.Reason = "The agreement was " + strings.ToLower(strings.ReplaceAll(string(a.Status), "_", " ")) + "."
		}
	case a.Status == AgreementFailed && (r.Code == codeCanceledByConsumer || r.Code == codeTimeout):
		r.State = payments.SetupCanceled
	case a.Status == AgreementFailed:
		r.State = payments.SetupFailed
		if r.Reason == "" {
			r.Reason = "PPRO reports the agreement failed, without a reason."
		}
	default: // INITIALIZING, AUTHENTICATION_PENDING, AUTHORIZATION_PROCESSING
		r.State = payments.SetupPending
	}
	return r
}

// chargeResult normalises a charge with its authorizations, captures and
// refunds. CAPTURE_PENDING is authorized but not yet captured: still
// pending for us (with autoCapture it moves on by itself), never paid.
func chargeResult(ch Charge) payments.ChargeResult {
	r := payments.ChargeResult{Ref: ch.ID, Reference: ch.Reference(), Handle: ch.AgreementID,
		ProviderStatus: "charge " + string(ch.Status), State: payments.ChargePending}
	for _, a := range ch.Authorizations {
		r.Operations = append(r.Operations, payments.Operation{Kind: payments.OpAuthorization, Ref: a.ID, Amount: a.Amount, Status: a.Status})
	}
	var captured int64
	for _, c := range ch.Captures {
		r.Operations = append(r.Operations, payments.Operation{Kind: payments.OpCapture, Ref: c.ID, Amount: c.Amount, Status: c.Status})
		if c.Status == "CAPTURED" {
			captured += c.Amount
		}
	}
	for _, rf := range ch.Refunds {
		r.Operations = append(r.Operations, payments.Operation{Kind: payments.OpRefund, Ref: rf.ID, Amount: rf.Amount, Status: rf.Status})
		if rf.Status == RefundRefunded {
			r.Refunded += rf.Amount
		}
	}
	switch ch.Status {
	case ChargeCaptured, ChargeRefundProcessing:
		r.State = payments.ChargeSucceeded
		if r.Refunded > 0 {
			r.State = payments.ChargePartiallyRefunded
		}
	case ChargeRefunded:
		r.State = payments.ChargeRefunded
		if r.Refunded == 0 {
			r.Refunded = captured
		}
	case ChargeFailed, ChargeDiscarded, ChargeVoided:
		r.State = payments.ChargeFailed
		r.Code, r.Reason = ch.Failure.Code(), ch.Failure.String()
		if r.Reason == "" {
			r.Reason = "PPRO reports the charge " + strings.ToLower(string(ch.Status)) + "."
		}
	case ChargeCapturePending:
		r.ProviderStatus += " (authorized, waiting for its capture)"
	}
	return r
}

// CancelSetup cannot abort a PPRO agreement: PPRO offers no call for it,
// and a pending one fails by itself once Amazon Pay's one-hour
// authentication timeout passes. It reports the current status.
func (p *Provider) CancelSetup(ctx context.Context, ref, _ string) (payments.SetupResult, error) {
	return p.SetupStatus(ctx, ref)
}

// MandateStatus fetches the agreement: ACTIVE, or revoked by whom.
func (p *Provider) MandateStatus(ctx context.Context, m payments.MandateRef) (payments.SetupResult, error) {
	a, err := p.client.GetAgreement(ctx, m.Handle)
	if err != nil {
		return payments.SetupResult{}, wrap(err)
	}
	return agreementResult(a), nil
}

// Revoke asks PPRO to revoke the agreement on the merchant's behalf. A
// revocation PPRO answers REVOKED is revoked, whatever the agreement reads
// a moment later. A refused one (already revoked by the shopper, or by an
// earlier attempt of ours) is reported as the agreement's status when that
// is revoked, and as an error otherwise.
func (p *Provider) Revoke(ctx context.Context, m payments.MandateRef, idempotencyKey string) (payments.SetupResult, error) {
	rr, err := p.client.RevokeAgreement(ctx, m.Handle, idempotencyKey)
	if err != nil {
		werr := wrap(err)
		if pe, ok := payments.AsError(werr); ok && pe.Kind == payments.ErrRejected {
			// Perhaps revoked already (by an earlier attempt whose answer
			// was lost, or by someone else): say what PPRO knows.
			if a, gerr := p.client.GetAgreement(ctx, m.Handle); gerr == nil && a.Status.Revoked() {
				return agreementResult(a), nil
			}
		}
		return payments.SetupResult{}, werr
	}
	if rr.Status != RevocationRevoked {
		if a, gerr := p.client.GetAgreement(ctx, m.Handle); gerr == nil && a.Status.Revoked() {
			r := agreementResult(a) // refused because someone revoked it first
			r.ProviderStatus = "revocation " + string(rr.Status) + ", " + r.ProviderStatus
			return r, nil
		}
		return payments.SetupResult{}, &payments.Error{Provider: Name, Op: "revoke agreement", Kind: payments.ErrRejected,
			Message: "PPRO refused the revocation: " + rr.Failure.String()}
	}
	// PPRO's answer stands: the agreement is revoked. It is read again only
	// to learn whether someone else revoked it first; the agreement may
	// still read ACTIVE for a moment after the answer, which changes
	// nothing.
	revoked := payments.SetupResult{State: payments.SetupRevoked, RevokedBy: payments.RevokedByMerchant,
		Handle: m.Handle, HandleType: "amazon_pay", Code: CodeRevokedByMerchant, ProviderStatus: "revocation REVOKED"}
	a, err := p.client.GetAgreement(ctx, m.Handle)
	if err != nil {
		return revoked, nil
	}
	if r := agreementResult(a); r.State == payments.SetupRevoked {
		r.ProviderStatus = "revocation REVOKED, " + r.ProviderStatus
		return r, nil
	}
	revoked.ProviderStatus += ", agreement still reads " + string(a.Status)
	return revoked, nil
}

// Charge makes a payment charge on the agreement, captured automatically.
// A declined charge is not an error: PPRO answers 200 with a FAILED charge
// and its failure.
func (p *Provider) Charge(ctx context.Context, req payments.ChargeRequest) (payments.ChargeResult, error) {
	schedule := ScheduleUnscheduled
	switch {
	case req.Retry:
		schedule = ScheduleRetry
	case req.Scheduled:
		schedule = ScheduleScheduled
	}
	ch, err := p.client.CreateAgreementCharge(ctx, req.Mandate.Handle, ChargeRequest{
		Amount:                         Money{Value: req.Amount.Amount, Currency: req.Amount.Currency},
		Initiator:                      InitiatorMerchant,
		ScheduleType:                   schedule,
		AutoCapture:                    autoCapture(),
		PaymentDescriptor:              truncate(req.Description, maxDescription),
		MerchantPaymentChargeReference: req.Reference,
	}, req.IdempotencyKey)
	var e *Error
	if errors.As(err, &e) && e.StatusCode == http.StatusConflict {
		// Still in flight at PPRO after our retries: it exists or will;
		// look it up by our reference rather than guess.
		if res, found, ferr := p.FindCharge(ctx, req.Mandate, req.Reference); ferr == nil && found {
			return res, nil
		}
	}
	if err != nil {
		return payments.ChargeResult{}, wrap(err)
	}
	return chargeResult(ch), nil
}

// ChargeStatus fetches a charge.
func (p *Provider) ChargeStatus(ctx context.Context, ref string) (payments.ChargeResult, error) {
	ch, err := p.client.GetCharge(ctx, ref)
	if err != nil {
		return payments.ChargeResult{}, wrap(err)
	}
	return chargeResult(ch), nil
}

// FindCharge asks PPRO's own search (searchPaymentCharge) for the charge
// made with our reference on the agreement. PPRO filters by the
// merchantPaymentChargeReference of our request and by agreementId; it
// need not echo the reference back (authorizations[].
// merchantPaymentChargeReference is optional, and the Amazon Pay guide's
// example has none), so a result is ours by PPRO's filter, not by an echo.
// A result on another agreement or echoing another reference is not ours;
// more than one left is an error, never a guess: the charge stays pending.
func (p *Provider) FindCharge(ctx context.Context, m payments.MandateRef, reference string) (payments.ChargeResult, bool, error) {
	charges, err := p.client.SearchCharges(ctx, reference, m.Handle)
	if err != nil {
		return payments.ChargeResult{}, false, wrap(err)
	}
	var ours []Charge
	for _, ch := range charges {
		if (ch.AgreementID == "" || ch.AgreementID == m.Handle) && (ch.Reference() == "" || ch.Reference() == reference) {
			ours = append(ours, ch)
		}
	}
	switch len(ours) {
	case 0:
		return payments.ChargeResult{}, false, nil
	case 1:
		res := chargeResult(ours[0])
		res.Reference = reference // PPRO found it by it
		return res, true, nil
	}
	return payments.ChargeResult{}, false, &payments.Error{Provider: Name, Op: "search charges", Kind: payments.ErrRejected,
		Message: fmt.Sprintf("PPRO's search for reference %q on agreement %s answered %d charges", reference, m.Handle, len(ours))}
}

// Refund refunds part or all of a captured charge.
func (p *Provider) Refund(ctx context.Context, req payments.RefundRequest) (payments.RefundResult, error) {
	rf, err := p.client.RefundCharge(ctx, req.ChargeRef, RefundRequest{
		Amount: req.Amount.Amount, MerchantRefundReference: req.Reference, RefundReason: "CUSTOMER_REQUEST",
	}, req.IdempotencyKey)
	if err != nil {
		// A 409 (PPRO's answer for a duplicate idempotency key) is
		// payments.ErrInFlight: the caller looks the refund up with
		// FindRefund, never takes it for a refusal.
		return payments.RefundResult{}, wrap(err)
	}
	return refundResult(rf), nil
}

// FindRefund lists the charge's refunds (getRefunds) for the one with our
// merchantRefundReference.
func (p *Provider) FindRefund(ctx context.Context, chargeRef, reference string) (payments.RefundResult, bool, error) {
	refunds, err := p.client.ListRefunds(ctx, chargeRef)
	if err != nil {
		return payments.RefundResult{}, false, wrap(err)
	}
	for _, rf := range refunds {
		if rf.MerchantRefundReference == reference {
			return refundResult(rf), true, nil
		}
	}
	return payments.RefundResult{}, false, nil
}

// RefundStatus fetches a refund.
func (p *Provider) RefundStatus(ctx context.Context, chargeRef, refundRef string) (payments.RefundResult, error) {
	rf, err := p.client.GetRefund(ctx, chargeRef, refundRef)
	if err != nil {
		return payments.RefundResult{}, wrap(err)
	}
	return refundResult(rf), nil
}

func refundResult(rf Refund) payments.RefundResult {
	r := payments.RefundResult{Ref: rf.ID, Reference: rf.MerchantRefundReference, Amount: rf.Amount,
		ProviderStatus: "refund " + rf.Status, State: payments.RefundPending}
	switch rf.Status {
	case RefundRefunded:
		r.State = payments.RefundSucceeded
	case RefundFailed:
		r.State = payments.RefundFailed
		r.Reason = rf.Failure.String()
	}
	return r
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
		case e.StatusCode == http.StatusConflict:
			// The first request with this idempotency key is still being
			// processed (the client's own retries did not outlast it).
			pe.Kind = payments.ErrInFlight
		case e.Temporary():
			pe.Kind = payments.ErrUnavailable
		default:
			pe.Kind = payments.ErrRejected
		}
	}
	return pe
}
