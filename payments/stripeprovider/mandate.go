package stripeprovider

import (
	"context"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

// MandateStatus says whether an active mandate's PaymentMethod can still be
// charged. Stripe reports a revocation two ways (its Amazon Pay guide:
// detaching sends payment_method.detached and mandate.updated): the
// PaymentMethod no longer on the Customer (someone with the account's keys
// or Dashboard detached it: the merchant), or the Mandate inactive (the
// shopper or Amazon withdrew it; Stripe does not say which).
//
// The mandate is read before the payment method: a detach changes both at
// once, so the later read of the payment method tells a detach (the
// merchant) from a mandate made inactive on its own (the shopper or
// Amazon), whenever the detach happened between the two reads.
func (p *Provider) MandateStatus(ctx context.Context, m payments.MandateRef) (payments.SetupResult, error) {
	var md *stripe.Mandate
	if m.ProviderMandateRef != "" {
		var err error
		if md, err = p.api.Mandates.Get(m.ProviderMandateRef, &stripe.MandateParams{Params: stripe.Params{Context: ctx}}); err != nil {
			return payments.SetupResult{}, wrap("retrieve mandate", err)
		}
	}
	pm, err := p.api.PaymentMethods.Get(m.Handle, &stripe.PaymentMethodParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return payments.SetupResult{}, wrap("retrieve payment method", err)
	}
	r := payments.SetupResult{State: payments.SetupSucceeded, Handle: pm.ID, HandleType: string(pm.Type),
		CustomerRef: m.CustomerRef, ProviderMandateRef: m.ProviderMandateRef, ProviderStatus: "payment_method attached"}
	if pm.Customer == nil || (m.CustomerRef != "" && pm.Customer.ID != m.CustomerRef) {
		r.State, r.RevokedBy, r.Code = payments.SetupRevoked, payments.RevokedByMerchant, CodePaymentMethodGone
		r.ProviderStatus = "payment_method detached"
		r.Reason = "The payment method was detached from the customer at Stripe."
		return r, nil
	}
	if md == nil {
		return r, nil
	}
	r.ProviderStatus += ", mandate " + string(md.Status)
	if md.Status == stripe.MandateStatusInactive {
		r.State, r.RevokedBy, r.Code = payments.SetupRevoked, payments.RevokedByProvider, CodeMandateInactive
		r.Reason = "Stripe reports the mandate inactive: the shopper or Amazon Pay withdrew it."
	}
	return r, nil
}

// Revoke detaches the PaymentMethod from the Customer, which Stripe's
// guide gives as the way to stop future payments (and which makes the
// mandate inactive). A PaymentMethod already detached, or whose mandate is
// already inactive, is reported as it is.
func (p *Provider) Revoke(ctx context.Context, m payments.MandateRef, idempotencyKey string) (payments.SetupResult, error) {
	params := &stripe.PaymentMethodDetachParams{Params: stripe.Params{Context: ctx}}
	params.SetIdempotencyKey(idempotencyKey)
	pm, err := p.api.PaymentMethods.Detach(m.Handle, params)
	if err != nil {
		if pe, ok := payments.AsError(wrap("detach payment method", err)); ok && pe.Kind == payments.ErrRejected {
			// Perhaps detached already: say what Stripe knows.
			if r, serr := p.MandateStatus(ctx, m); serr == nil && r.State == payments.SetupRevoked {
				return r, nil
			}
		}
		return payments.SetupResult{}, wrap("detach payment method", err)
	}
	return payments.SetupResult{State: payments.SetupRevoked, RevokedBy: payments.RevokedByMerchant,
		Handle: pm.ID, HandleType: string(pm.Type), Code: CodePaymentMethodGone,
		ProviderStatus: "payment_method detached", Reason: "The merchant detached the payment method at Stripe."}, nil
}
