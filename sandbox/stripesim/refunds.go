package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// POST /v1/refunds and GET /v1/refunds/{id}.
//
// Stripe documents Amazon Pay refunds as asynchronous (refund.updated).
// The sandbox models every refund that way, cards included: a refund is
// created pending, and refundSettleAfter later (on the sandbox's clock)
// it succeeds. The charge counts it in amount_refunded from the start, as
// Stripe counts pending refunds, and charge.refunded and refund.created
// are sent then; refund.updated (and its older twin charge.refund.updated)
// follow when it succeeds. A timer settles refunds when they are due;
// every API request first catches up with what is due, so that a moved
// clock or a restart changes nothing in the outcome.

// refundSettleAfter is how long a refund stays pending: long enough to
// see it pending in a demo, short enough not to wait for it.
const refundSettleAfter = 5 * time.Second

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

	now := s.host.Now()
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
		settlesAt:       now.Add(refundSettleAfter).Unix(),
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
	s.host.After(refundSettleAfter, s.stripeSettleLater)

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
	return ch, nil
}

func (s *Sim) stripeGetRefund(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "refund", "refund", "refund", loadStripeRefund)
}

// stripeCatchUp does what Stripe would have done by now on its own:
// it settles the pending refunds that are due on the sandbox's clock.
func (s *Sim) stripeCatchUp(ctx context.Context, tx *simkit.WriteTx) error {
	rows, err := tx.QueryContext(ctx, `
		SELECT id FROM stripe_refunds WHERE status = ? AND settles_at <= ? ORDER BY settles_at, rowid`,
		refundPending, s.host.Now().Unix())
	if err != nil {
		return fmt.Errorf("list due refunds: %w", err)
	}
	var due []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("list due refunds: %w", err)
		}
		due = append(due, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list due refunds: %w", err)
	}
	for _, id := range due {
		if err := s.stripeSettleRefund(ctx, tx, id); err != nil {
			return err
		}
	}
	return nil
}

// stripeSettleRefund moves a pending refund to succeeded. The request id
// of its events is null: Stripe did it, not an API call.
func (s *Sim) stripeSettleRefund(ctx context.Context, tx *simkit.WriteTx, id string) error {
	if _, err := tx.ExecContext(ctx, `UPDATE stripe_refunds SET status = ? WHERE id = ?`, refundSucceeded, id); err != nil {
		return fmt.Errorf("settle refund %s: %w", id, err)
	}
	re, err := loadStripeRefund(ctx, tx, id)
	if err != nil {
		return err
	}
	previous := map[string]any{"status": refundPending}
	if err := s.stripeEmitChange(ctx, tx, eventRefundUpdated, re, previous, nil); err != nil {
		return err
	}
	return s.stripeEmitChange(ctx, tx, eventChargeRefundUpdated, re, previous, nil)
}

// stripeSettleLater is the timer that settles refunds when they are due,
// so that their events come without anyone asking.
func (s *Sim) stripeSettleLater(ctx context.Context) {
	s.host.Lock()
	defer s.host.Unlock()
	if err := s.host.Write(ctx, func(tx *simkit.WriteTx) error { return s.stripeCatchUp(ctx, tx) }); err != nil && ctx.Err() == nil {
		s.host.Logger().Error("sandbox stripe: settle refunds", "err", err)
	}
}
