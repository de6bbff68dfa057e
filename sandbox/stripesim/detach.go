package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"example.com/storefront/sandbox/simkit"
)

// POST /v1/payment_methods/{id}/detach (stripe-go sends no body and no
// Idempotency-Key), and the same detach from the index page, where it
// stands for the merchant's Dashboard.
//
// As Stripe's guide says for Amazon Pay, detaching sends
// payment_method.detached and mandate.updated: the payment method's
// customer becomes null and its mandate inactive. A detached payment
// method cannot be attached or charged again.

func (s *Sim) stripeDetachPaymentMethodAPI(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	exp, e := parseExpand("payment_method", req.params)
	if e != nil {
		return nil, e
	}
	pm, err := s.stripeDetach(ctx, tx, req.pathID, req)
	if err != nil {
		return nil, err
	}
	return pm, s.stripeExpand(ctx, tx, pm, exp)
}

// errNotAttached is Stripe's answer to detaching a payment method that is
// not attached to a customer.
func errNotAttached() *stripeError {
	return errParamInvalid("", "The payment method you provided is not attached to a customer so detachment is impossible.")
}

// stripeDetach detaches payment method id from its customer, deactivates
// its mandate and sends the events. req is nil when the Dashboard did it.
func (s *Sim) stripeDetach(ctx context.Context, tx *simkit.WriteTx, id string, req *stripeRequest) (*stripePaymentMethod, error) {
	pm, err := loadStripePaymentMethod(ctx, tx, id)
	if errors.Is(err, simkit.ErrNotFound) {
		return nil, errNoSuch(http.StatusNotFound, "PaymentMethod", id, "payment_method")
	}
	if err != nil {
		return nil, err
	}
	if pm.customerID == nil {
		return nil, errNotAttached()
	}
	previous := *pm.customerID
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_payment_methods SET customer_id = NULL WHERE id = ?`, id); err != nil {
		return nil, fmt.Errorf("detach %s: %w", id, err)
	}
	detached, err := loadStripePaymentMethod(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.stripeEmitChange(ctx, tx, eventPaymentMethodDetached, detached, map[string]any{"customer": previous}, req); err != nil {
		return nil, err
	}
	m, err := loadMandateOfPaymentMethod(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if err := s.stripeDeactivateMandate(ctx, tx, m, req); err != nil {
		return nil, err
	}
	return detached, nil
}
