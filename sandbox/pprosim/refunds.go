package pprosim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// Refunds (ppro-payment-charges.json: POST, GET …/refunds and
// GET …/refunds/{refundId}). Amazon Pay through PPRO refunds "Full,
// Partial, Multiple" for six months (PPRO's Amazon Pay page), so a
// captured charge takes any number of refunds up to what it captured.
//
// Where PPRO's documents are silent, the sandbox chooses:
//   - Every refund is PENDING in the answer (PaymentChargeRefundResponse's
//     statuses are REFUNDED, PENDING and FAILED), with
//     PAYMENT_CHARGE_REFUND_PENDING, and settles a settle delay later
//     (later.go): REFUNDED with PAYMENT_CHARGE_REFUND_SUCCEEDED, or FAILED
//     with PAYMENT_CHARGE_REFUND_FAILED for an amount ending in 05. One
//     ending in 06 is REFUNDED, then FAILED a settle delay later.
//   - A charge whose succeeded refunds give back everything it captured
//     becomes REFUNDED (and CAPTURED again if one of them fails); a partly
//     refunded one stays CAPTURED (ppro-api.md §11.6 calls this
//     unconfirmed). No REFUND_PROCESSING while a refund is pending: PPRO
//     documents no such link between the two.
//   - Refused operations are 400s (PPRO's error representation: an
//     operation on an unknown charge, in the wrong state or for an invalid
//     amount): a charge that is not captured, or already fully refunded,
//     or an amount above what is left (pending refunds are not left).
//   - A refund asked for more than six months after the capture is
//     declined, not refused: HTTP 200 with a FAILED refund (INTERNAL_DECLINE,
//     PPRO's code REFUND_PERIOD_EXPIRED) and PAYMENT_CHARGE_REFUND_FAILED,
//     as PPRO answers declined operations.

func (s *Sim) pproCreateRefund(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	var in pproRefundIn
	if e := decodePPRO(req.body, &in); e != nil {
		return nil, e
	}
	if e := validateRefundIn(&in); e != nil {
		return nil, e
	}
	c, err := s.pproCharge(ctx, tx, req.pathID)
	if errors.Is(err, simkit.ErrNotFound) || (err == nil && c.merchantID != req.merchantID) {
		// An operation on an unknown charge is a 400 at PPRO, unlike a GET.
		return nil, pproBadRequest("Payment charge %s not found: there is nothing to refund.", req.pathID)
	}
	if err != nil {
		return nil, err
	}
	return s.pproRefund(ctx, tx, c, &in)
}

func (s *Sim) pproListRefunds(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	c, err := s.pproLoadCharge(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	return pproRefundList{Data: c.Refunds}, nil
}

func (s *Sim) pproGetRefund(ctx context.Context, tx *simkit.WriteTx, req *pproRequest) (any, error) {
	c, err := s.pproLoadCharge(ctx, tx, req)
	if err != nil {
		return nil, err
	}
	for _, r := range c.Refunds {
		if r.ID == req.refundID {
			return r, nil
		}
	}
	return nil, pproNotFound("Refund %s of payment charge %s not found.", req.refundID, c.ID)
}

// pproRefundList is GetRefundsResponse.
type pproRefundList struct {
	Data []pproRefund `json:"data"`
}

// pproRefund refunds in.Amount of charge c (see the rules above).
func (s *Sim) pproRefund(ctx context.Context, tx *simkit.WriteTx, c *pproCharge, in *pproRefundIn) (*pproRefund, error) {
	now := s.host.Now()
	switch c.Status {
	case chargeCaptured:
	case chargeRefunded:
		return nil, pproBadRequest("Payment charge %s is already fully refunded: nothing is left to refund.", c.ID)
	default:
		return nil, pproBadRequest("Payment charge %s is %s: only a captured charge can be refunded.", c.ID, c.Status)
	}
	captured, refunded, pending := c.capturedAmount(), c.refundAmount(refundRefunded), c.refundAmount(refundPending)
	if left := captured - refunded - pending; *in.Amount > left {
		return nil, pproBadRequest("amount %d is more than is left to refund on payment charge %s: %d of the %d captured (%s refunded so far, %s pending).",
			*in.Amount, c.ID, left, captured, formatUSD(refunded, c.Currency), formatUSD(pending, c.Currency))
	}

	r := &pproRefund{
		ID:                      simkit.NewID("refund_", 21),
		Amount:                  *in.Amount,
		Status:                  refundPending,
		MerchantRefundReference: simkit.Deref(in.MerchantRefundReference),
		RefundReason:            simkit.Deref(in.RefundReason),
		RefundDescriptor:        simkit.Deref(in.RefundDescriptor),
		Labels:                  in.Labels,
		CreatedAt:               pproTime(now),
		UpdatedAt:               pproTime(now),
	}
	if deadline := c.capturedAt.AddDate(0, amazonPayRefundMonths, 0); now.After(deadline) {
		r.Status = refundFailed
		r.Failure = &pproFailure{FailureType: failureInternalDecline, FailureCode: codeRefundPeriodExpired,
			FailureMessage: fmt.Sprintf("Amazon Pay refunds a charge for %d months after its capture; payment charge %s was captured on %s.",
				amazonPayRefundMonths, c.ID, c.capturedAt.Format(time.DateOnly))}
	}
	if err := insertPPRORefund(ctx, tx, c.ID, r, now); err != nil {
		return nil, err
	}
	typ, data := eventChargeRefundPending, pproChargeEventData{RefundID: r.ID, MerchantRefundReference: r.MerchantRefundReference,
		Amount: &pproMoney{Value: r.Amount, Currency: c.Currency}}
	if r.Status == refundFailed {
		typ, data.Failure = eventChargeRefundFailed, r.Failure
	} else if _, err := tx.ExecContext(ctx, `UPDATE ppro_refunds SET settle_due_ms = ? WHERE id = ?`,
		pproMillis(s.pproDue(now)), r.ID); err != nil {
		return nil, fmt.Errorf("schedule refund %s: %w", r.ID, err)
	}
	// The charge changes (its refunds[]) either way.
	if err := setPPROChargeStatus(ctx, tx, c.ID, c.Status, c.Failure, now); err != nil {
		return nil, err
	}
	if err := s.pproEmitCharge(ctx, tx, typ, c, data, now); err != nil {
		return nil, err
	}
	return r, nil
}
