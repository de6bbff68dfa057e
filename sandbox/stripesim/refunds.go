package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"example.com/storefront/sandbox/simkit"
)

// POST /v1/refunds and GET /v1/refunds/{id}.
//
// Stripe documents Amazon Pay refunds as asynchronous (refund.updated).
// The sandbox models every refund that way, cards included: a refund is
// created pending, and after the settle delay (Settings.SettleAfter; see
// due.go) it succeeds. The charge counts it in amount_refunded from the
// start, as Stripe counts pending refunds, and charge.refunded and
// refund.created are sent then; refund.updated (and its older twin
// charge.refund.updated) follow when it settles.
//
// Magic amounts, of the refund: one ending in 05 fails instead of
// succeeding; one ending in 06 succeeds and then fails after another
// settle delay, as Stripe documents a refund may go from succeeded to
// failed. A failed refund has failure_reason, its amount is no longer
// counted in the charge's amount_refunded, and refund.updated and
// charge.refund.updated say so (the 2023-10-16 API has no refund.failed
// event).

// refundFailureReason is the failure_reason of the sandbox's failed
// refunds: one of the values Stripe documents, the one that fits a refund
// the payment method's provider refused.
const refundFailureReason = "declined"

var refundCreateSpec = specHash(map[string]paramSpec{
	"amount":         specString,
	"charge":         specString,
	"expand":         specList,
	"metadata":       specStringMap,
	"payment_intent": specString,
	"reason":         specString,
})

var refundReasons = []string{"duplicate", "fraudulent", "requested_by_customer"}

func (s *Sim) stripeCreateRefund(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	p := req.params
	chargeID, piID := p.optional("charge"), p.optional("payment_intent")
	switch {
	case chargeID != nil && piID != nil:
		return nil, errParamInvalid("payment_intent", "You may only specify one of these parameters: charge, payment_intent.")
	case chargeID == nil && piID == nil:
		return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_missing", "",
			"One of the following params should be provided for this request: charge or payment_intent.")
	}
	reason := p.optional("reason")
	if reason != nil && !slices.Contains(refundReasons, *reason) {
		return nil, errParamInvalid("reason", "Invalid reason: must be one of duplicate, fraudulent, or requested_by_customer")
	}
	metadata := p.stringMap("metadata")
	if e := validateMetadata(metadata, "metadata"); e != nil {
		return nil, e
	}
	exp, e := parseExpand("refund", p)
	if e != nil {
		return nil, e
	}

	ch, err := s.refundableCharge(ctx, tx, chargeID, piID)
	if err != nil {
		return nil, err
	}
	left := ch.Amount - ch.AmountRefunded
	if left <= 0 {
		return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "charge_already_refunded", "",
			fmt.Sprintf("Charge %s has already been refunded.", ch.ID))
	}
	amount := left
	if v := p.optional("amount"); v != nil {
		n, err := strconv.ParseInt(*v, 10, 64)
		switch {
		case err != nil:
			return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "parameter_invalid_integer", "amount", "Invalid integer: "+*v)
		case n < 1:
			return nil, errParamInvalid("amount", "Invalid positive integer")
		case n > left && ch.AmountRefunded == 0:
			return nil, errParamInvalid("amount", "Refund amount (%s) is greater than charge amount (%s)",
				formatAmount(n, ch.Currency), formatAmount(ch.Amount, ch.Currency))
		case n > left:
			return nil, errParamInvalid("amount", "Refund amount (%s) is greater than unrefunded amount on charge (%s)",
				formatAmount(n, ch.Currency), formatAmount(left, ch.Currency))
		}
		amount = n
	}

	now, d := s.host.Now(), s.settleAfter()
	re := &stripeRefund{
		ID:              simkit.NewID("re_", 24),
		Amount:          amount,
		Created:         now.Unix(),
		Currency:        ch.Currency,
		Metadata:        metadata,
		Reason:          reason,
		Status:          refundPending,
		chargeID:        ch.ID,
		paymentIntentID: &ch.paymentIntentID,
		settlesAt:       dueAt(now, d),
	}
	if err := insertStripeRefund(ctx, tx, re); err != nil {
		return nil, err
	}
	if err := setChargeAmountRefunded(ctx, tx, ch.ID, ch.AmountRefunded+amount); err != nil {
		return nil, err
	}
	refunded, err := loadStripeCharge(ctx, tx, ch.ID)
	if err != nil {
		return nil, err
	}
	if err := s.stripeEmitChange(ctx, tx, eventChargeRefunded, refunded,
		map[string]any{"amount_refunded": ch.AmountRefunded, "refunded": ch.Refunded}, req); err != nil {
		return nil, err
	}
	if err := s.stripeEmitLoaded(ctx, tx, eventRefundCreated, re.ID, req); err != nil {
		return nil, err
	}
	s.later(d, func(ctx context.Context, tx *simkit.WriteTx) error { return s.stripeSettleRefund(ctx, tx, re.ID) })

	created, err := loadStripeRefund(ctx, tx, re.ID)
	if err != nil {
		return nil, err
	}
	return created, s.stripeExpand(ctx, tx, created, exp)
}

// refundableCharge finds the charge a refund is for (given directly, or
// as a PaymentIntent's latest charge) and refuses one that did not
// succeed.
func (s *Sim) refundableCharge(ctx context.Context, q simkit.Querier, chargeID, piID *string) (*stripeCharge, error) {
	if piID != nil {
		pi, err := loadStripePaymentIntent(ctx, q, *piID)
		if errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, "payment_intent", *piID, "payment_intent")
		}
		if err != nil {
			return nil, err
		}
		if pi.Status != piSucceeded || pi.latestChargeID == nil {
			return nil, errParamInvalid("payment_intent", "This PaymentIntent (%s) does not have a successful charge to refund.", pi.ID)
		}
		chargeID = pi.latestChargeID
	}
	ch, err := loadStripeCharge(ctx, q, *chargeID)
	if errors.Is(err, simkit.ErrNotFound) {
		return nil, errNoSuch(http.StatusBadRequest, "charge", *chargeID, "charge")
	}
	if err != nil {
		return nil, err
	}
	if ch.Status != chargeSucceeded {
		return nil, errParamInvalid("charge", "Charge %s did not succeed (its status is %s), so there is nothing to refund.", ch.ID, ch.Status)
	}
	// A charge under dispute (or one lost) is not refundable: the dispute
	// already returns the money (Stripe's code charge_disputed).
	var open int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM stripe_disputes WHERE charge_id = ? AND status != ?`,
		ch.ID, disputeWon).Scan(&open); err != nil {
		return nil, fmt.Errorf("disputes of charge %s: %w", ch.ID, err)
	}
	if open > 0 {
		return nil, newStripeError(http.StatusBadRequest, errTypeInvalidRequest, "charge_disputed", "",
			fmt.Sprintf("Charge %s has been charged back; cannot issue a refund.", ch.ID))
	}
	return ch, nil
}

func (s *Sim) stripeGetRefund(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "refund", "refund", "refund", loadStripeRefund)
}

// stripeSettleRefund settles a pending refund: it succeeds, or fails
// for an amount ending in 05. The request id of its events is null:
// Stripe did it, not an API call. A refund no longer pending is left
// alone.
func (s *Sim) stripeSettleRefund(ctx context.Context, tx *simkit.WriteTx, id string) error {
	re, err := loadStripeRefund(ctx, tx, id)
	if err != nil {
		return err
	}
	if re.Status != refundPending {
		return nil
	}
	if magicCase(re.Amount) == magicRefundFails {
		return s.stripeFailRefund(ctx, tx, re)
	}
	var failsAt *int64
	if magicCase(re.Amount) == magicRefundFailsLater {
		d := s.settleAfter()
		at := re.settlesAt + dueSeconds(d)
		failsAt = &at
		s.later(d, func(ctx context.Context, tx *simkit.WriteTx) error { return s.stripeFailSucceededRefund(ctx, tx, id) })
	}
	if err := setRefundStatus(ctx, tx, id, refundSucceeded, nil, failsAt); err != nil {
		return err
	}
	return s.stripeEmitRefundChange(ctx, tx, id, refundPending)
}

// stripeFailSucceededRefund fails a refund that succeeded and was due to
// fail (amount ending in 06). Anything else is left alone.
func (s *Sim) stripeFailSucceededRefund(ctx context.Context, tx *simkit.WriteTx, id string) error {
	re, err := loadStripeRefund(ctx, tx, id)
	if err != nil {
		return err
	}
	if re.Status != refundSucceeded || re.failsAt == nil {
		return nil
	}
	return s.stripeFailRefund(ctx, tx, re)
}

// stripeFailRefund marks re failed and gives its amount back to the
// charge, as Stripe does when a refund fails: the money stays with the
// merchant, and the charge may be refunded again.
func (s *Sim) stripeFailRefund(ctx context.Context, tx *simkit.WriteTx, re *stripeRefund) error {
	reason := refundFailureReason
	if err := setRefundStatus(ctx, tx, re.ID, refundFailed, &reason, nil); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_charges SET amount_refunded = max(amount_refunded - ?, 0) WHERE id = ?`,
		re.Amount, re.chargeID); err != nil {
		return fmt.Errorf("give refund %s back to charge %s: %w", re.ID, re.chargeID, err)
	}
	return s.stripeEmitRefundChange(ctx, tx, re.ID, re.Status)
}

// stripeEmitRefundChange sends refund.updated and charge.refund.updated
// for a refund that moved on from status was.
func (s *Sim) stripeEmitRefundChange(ctx context.Context, tx *simkit.WriteTx, id, was string) error {
	re, err := loadStripeRefund(ctx, tx, id)
	if err != nil {
		return err
	}
	previous := map[string]any{"status": was}
	if err := s.stripeEmitChange(ctx, tx, eventRefundUpdated, re, previous, nil); err != nil {
		return err
	}
	return s.stripeEmitChange(ctx, tx, eventChargeRefundUpdated, re, previous, nil)
}
