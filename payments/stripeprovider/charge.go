package stripeprovider

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

// Metadata keys that tie Stripe's objects to our rows.
const (
	metaMandate = "mandate_id"
	metaCharge  = "charge_ref"
	metaRefund  = "refund_ref"
)

// Charge confirms an off-session PaymentIntent with the saved
// PaymentMethod and Customer (Stripe's guide: off_session=true,
// confirm=true, payment_method_types from the PaymentMethod's type), with
// error_on_requires_action=true. Stripe answers a decline, and a payment
// that would need the shopper, with HTTP 402 and the PaymentIntent inside
// the error: that is a failed charge with Stripe's code
// (authentication_required for the latter), not an error.
func (p *Provider) Charge(ctx context.Context, req payments.ChargeRequest) (payments.ChargeResult, error) {
	typ := req.Mandate.HandleType
	if typ == "" {
		typ = "amazon_pay"
	}
	params := &stripe.PaymentIntentParams{
		Params:             stripe.Params{Context: ctx},
		Amount:             stripe.Int64(req.Amount.Amount),
		Currency:           stripe.String(strings.ToLower(req.Amount.Currency)),
		Customer:           stripe.String(req.Mandate.CustomerRef),
		PaymentMethod:      stripe.String(req.Mandate.Handle),
		PaymentMethodTypes: stripe.StringSlice([]string{typ}),
		OffSession:         stripe.Bool(true),
		Confirm:            stripe.Bool(true),
		// Nobody is there to authenticate an off-session payment: Stripe
		// refuses at once (402 authentication_required) rather than leave
		// it waiting in requires_action.
		ErrorOnRequiresAction: stripe.Bool(true),
		Metadata:              map[string]string{metaMandate: req.Mandate.MandateID, metaCharge: req.Reference},
	}
	if req.Description != "" {
		params.Description = stripe.String(req.Description)
	}
	// latest_charge is not expanded: a new PaymentIntent has nothing
	// refunded, and its charge's id, amount and status follow from the
	// PaymentIntent (piResult). Expanded, the charge was more than half of
	// the answer, and decoding it a sixth of the worker's CPU per payment.
	params.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := p.api.PaymentIntents.New(params)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.HTTPStatusCode == http.StatusPaymentRequired {
			return declined(se), nil
		}
		return payments.ChargeResult{}, wrap("create payment intent", err)
	}
	return piResult(pi), nil
}

// declined is the failed charge a 402 describes.
func declined(se *stripe.Error) payments.ChargeResult {
	r := payments.ChargeResult{State: payments.ChargeFailed, Code: string(se.DeclineCode), Reason: se.Msg,
		ProviderStatus: "declined (HTTP 402 " + string(se.Code) + ")"}
	if r.Code == "" {
		r.Code = string(se.Code)
	}
	if pi := se.PaymentIntent; pi != nil {
		r.Ref, r.Reference = pi.ID, pi.Metadata[metaCharge]
		r.ProviderStatus = "payment_intent " + string(pi.Status) + ", " + string(se.Code)
	}
	return r
}

// piResult normalises a PaymentIntent (with latest_charge expanded, for
// what was refunded, or not: see chargeOf).
func piResult(pi *stripe.PaymentIntent) payments.ChargeResult {
	r := payments.ChargeResult{Ref: pi.ID, Reference: pi.Metadata[metaCharge], State: payments.ChargePending,
		ProviderStatus: "payment_intent " + string(pi.Status)}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		r.State = payments.ChargeSucceeded
	case stripe.PaymentIntentStatusCanceled:
		r.State = payments.ChargeFailed
		r.Code, r.Reason = "canceled", "The payment was canceled at Stripe."
	case stripe.PaymentIntentStatusRequiresAction:
		// Made without error_on_requires_action: it waits for a shopper who
		// is not there (an off-session payment), so it is a decline that
		// needs the shopper, as Stripe's refusal with the flag is.
		r.State = payments.ChargeFailed
		r.Code = payments.CodeAuthenticationRequired
		r.Reason = "The payment needs the shopper to confirm it, and an automatic payment cannot ask them."
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		if e := pi.LastPaymentError; e != nil {
			r.State = payments.ChargeFailed
			r.Code, r.Reason = string(e.DeclineCode), e.Msg
			if r.Code == "" {
				r.Code = string(e.Code)
			}
		}
	}
	if ch := chargeOf(pi); ch != nil {
		r.Operations = append(r.Operations, payments.Operation{Kind: payments.OpCapture, Ref: ch.ID, Amount: ch.Amount, Status: string(ch.Status)})
		if r.State == payments.ChargeSucceeded && ch.AmountRefunded > 0 {
			r.Refunded = ch.AmountRefunded
			r.State = payments.ChargePartiallyRefunded
			if ch.Refunded || ch.AmountRefunded >= ch.Amount {
				r.State = payments.ChargeRefunded
			}
			r.ProviderStatus += ", charge refunded " + itoa(ch.AmountRefunded)
		}
	}
	return r
}

// chargeOf is the PaymentIntent's latest charge, or nil. Not expanded
// (Stripe sends only its id), its amount and status are the
// PaymentIntent's: with automatic capture a PaymentIntent has succeeded
// when its charge has (amount_received is what it captured), is
// processing while it is pending, and asks for a payment method again
// when it failed. Any other state says nothing of the charge: a later
// fetch (ChargeStatus, expanded) records it.
func chargeOf(pi *stripe.PaymentIntent) *stripe.Charge {
	ch := pi.LatestCharge
	if ch == nil || ch.ID == "" {
		return nil
	}
	if ch.Status != "" {
		return ch // expanded
	}
	c := &stripe.Charge{ID: ch.ID, Amount: pi.Amount}
	switch pi.Status {
	case stripe.PaymentIntentStatusSucceeded:
		c.Amount, c.Status = pi.AmountReceived, stripe.ChargeStatusSucceeded
	case stripe.PaymentIntentStatusProcessing:
		c.Status = stripe.ChargeStatusPending
	case stripe.PaymentIntentStatusRequiresPaymentMethod:
		c.Status = stripe.ChargeStatusFailed
	default:
		return nil
	}
	return c
}

// ChargeStatus retrieves the PaymentIntent with its latest charge.
func (p *Provider) ChargeStatus(ctx context.Context, ref string) (payments.ChargeResult, error) {
	params := &stripe.PaymentIntentParams{Params: stripe.Params{Context: ctx}}
	params.AddExpand("latest_charge")
	pi, err := p.api.PaymentIntents.Get(ref, params)
	if err != nil {
		return payments.ChargeResult{}, wrap("retrieve payment intent", err)
	}
	return piResult(pi), nil
}

// FindCharge lists the Customer's PaymentIntents, newest first, for the one
// whose metadata carries reference: a charge whose answer was lost (a
// crash after the request) is found even after Stripe has forgotten the
// idempotency key (24 hours).
func (p *Provider) FindCharge(ctx context.Context, m payments.MandateRef, reference string) (payments.ChargeResult, bool, error) {
	params := &stripe.PaymentIntentListParams{Customer: stripe.String(m.CustomerRef)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	params.AddExpand("data.latest_charge")
	it := p.api.PaymentIntents.List(params)
	for it.Next() {
		if pi := it.PaymentIntent(); pi.Metadata[metaCharge] == reference {
			return piResult(pi), true, nil
		}
	}
	if err := it.Err(); err != nil {
		return payments.ChargeResult{}, false, wrap("list payment intents", err)
	}
	return payments.ChargeResult{}, false, nil
}

// Refund refunds part or all of a PaymentIntent through the Refunds API.
func (p *Provider) Refund(ctx context.Context, req payments.RefundRequest) (payments.RefundResult, error) {
	params := &stripe.RefundParams{
		Params:        stripe.Params{Context: ctx},
		PaymentIntent: stripe.String(req.ChargeRef),
		Amount:        stripe.Int64(req.Amount.Amount),
		Metadata:      map[string]string{metaRefund: req.Reference},
	}
	params.SetIdempotencyKey(req.IdempotencyKey)
	rf, err := p.api.Refunds.New(params)
	if err != nil {
		return payments.RefundResult{}, wrap("create refund", err)
	}
	return refundResult(rf), nil
}

// RefundStatus retrieves a refund.
func (p *Provider) RefundStatus(ctx context.Context, _, refundRef string) (payments.RefundResult, error) {
	rf, err := p.api.Refunds.Get(refundRef, &stripe.RefundParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return payments.RefundResult{}, wrap("retrieve refund", err)
	}
	return refundResult(rf), nil
}

// FindRefund lists the PaymentIntent's refunds for the one whose metadata
// carries reference: a refund whose answer was lost is found even after
// Stripe has forgotten its idempotency key (24 hours), and is never made
// twice.
func (p *Provider) FindRefund(ctx context.Context, chargeRef, reference string) (payments.RefundResult, bool, error) {
	params := &stripe.RefundListParams{PaymentIntent: stripe.String(chargeRef)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := p.api.Refunds.List(params)
	for it.Next() {
		if rf := it.Refund(); rf.Metadata[metaRefund] == reference {
			return refundResult(rf), true, nil
		}
	}
	if err := it.Err(); err != nil {
		return payments.RefundResult{}, false, wrap("list refunds", err)
	}
	return payments.RefundResult{}, false, nil
}

func refundResult(rf *stripe.Refund) payments.RefundResult {
	r := payments.RefundResult{Ref: rf.ID, Reference: rf.Metadata[metaRefund], Amount: rf.Amount,
		ProviderStatus: "refund " + string(rf.Status), State: payments.RefundPending}
	switch rf.Status {
	case stripe.RefundStatusSucceeded:
		r.State = payments.RefundSucceeded
	case stripe.RefundStatusFailed, stripe.RefundStatusCanceled:
		r.State = payments.RefundFailed
		r.Reason = "Stripe could not return the money"
		if rf.FailureReason != "" {
			r.Reason += " (" + string(rf.FailureReason) + ")"
		}
		r.Reason += "."
	}
	return r
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
