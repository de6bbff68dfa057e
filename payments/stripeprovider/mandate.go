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
//
// The mandate read is m's ProviderMandateRef (the caller puts there the one
// a mandate.updated event names), or, when none is stored, the one the
// setup's SetupIntent names now; a mandate of another payment method is
// ignored. r.ProviderMandateRef is the mandate read, for the caller to keep.
func (p *Provider) MandateStatus(ctx context.Context, m payments.MandateRef) (payments.SetupResult, error) {
	ref := m.ProviderMandateRef
	if ref == "" && m.SetupRef != "" {
		// No mandate id stored: the SetupIntent carried none when the setup
		// succeeded (Stripe allows mandate: null). Look again rather than
		// take a mandate never seen for an active one.
		setup, err := p.SetupStatus(ctx, m.SetupRef)
		if err != nil {
			return payments.SetupResult{}, err
		}
		ref = setup.ProviderMandateRef
	}
	var md *stripe.Mandate
	if ref != "" {
		var err error
		if md, err = p.api.Mandates.Get(ref, &stripe.MandateParams{Params: stripe.Params{Context: ctx}}); err != nil {
			return payments.SetupResult{}, wrap("retrieve mandate", err)
		}
		if md.PaymentMethod != nil && md.PaymentMethod.ID != m.Handle {
			md = nil // another payment method's mandate: not this one's word
		}
	}
	pm, err := p.api.PaymentMethods.Get(m.Handle, &stripe.PaymentMethodParams{Params: stripe.Params{Context: ctx}})
	if err != nil {
		return payments.SetupResult{}, wrap("retrieve payment method", err)
	}
	r := payments.SetupResult{State: payments.SetupSucceeded, Handle: pm.ID, HandleType: string(pm.Type),
		CustomerRef: m.CustomerRef, ProviderStatus: "payment_method attached"}
	if md != nil {
		r.ProviderMandateRef = md.ID
	}
	if pm.Customer == nil || (m.CustomerRef != "" && pm.Customer.ID != m.CustomerRef) {
		r.State, r.RevokedBy, r.Code = payments.SetupRevoked, payments.RevokedByMerchant, CodePaymentMethodGone
		r.ProviderStatus = "payment_method detached"
		r.Reason = "The payment method was detached from the customer at Stripe."
		return r, nil
	}
	if md == nil {
		r.ProviderStatus += ", no mandate"
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
