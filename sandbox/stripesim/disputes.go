package stripesim

import (
	"context"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// Disputes: a charge of an amount ending in 04 succeeds and, after the
// settle delay, the shopper disputes it (for Amazon Pay, an A-to-z
// claim). The dispute (dp_…) is created needs_response with the whole
// amount, reason product_not_received and evidence due in
// disputeEvidenceWindow, and charge.dispute.created is sent; the charge
// reads disputed and can no longer be refunded. It stays open until the
// sandbox's index page (or CloseDispute) decides it: won or lost, with
// charge.dispute.closed. GET /v1/disputes/{id} and GET /v1/disputes
// (filtered by charge or payment_intent) read them as Stripe's API does.

// disputeEvidenceWindow is how long the merchant has to answer a dispute
// (evidence_details.due_by). Stripe's deadline depends on the network;
// the sandbox gives a week.
const disputeEvidenceWindow = 7 * 24 * time.Hour

// disputeReason is the reason of the sandbox's disputes: the shopper says
// nothing arrived, the commonest claim under Amazon's A-to-z Guarantee.
const disputeReason = "product_not_received"

// ErrDisputeClosed is what CloseDispute returns for a dispute that is
// already won or lost.
var ErrDisputeClosed = errors.New("dispute already closed")

// stripeScheduleDispute has the charge disputed after the settle delay.
func (s *Sim) stripeScheduleDispute(ctx context.Context, tx *simkit.WriteTx, chargeID string) error {
	d := s.settleAfter()
	due := dueAt(s.host.Now(), d)
	if err := setChargeDue(ctx, tx, chargeID, nil, &due); err != nil {
		return err
	}
	s.later(d, func(ctx context.Context, tx *simkit.WriteTx) error { return s.stripeOpenDispute(ctx, tx, chargeID) })
	return nil
}

// stripeOpenDispute disputes a charge that was due to be disputed. A
// charge that is not (any more) is left alone.
func (s *Sim) stripeOpenDispute(ctx context.Context, tx *simkit.WriteTx, chargeID string) error {
	var due *int64
	if err := tx.QueryRowContext(ctx, `SELECT disputes_at FROM stripe_charges WHERE id = ?`, chargeID).Scan(&due); err != nil {
		return fmt.Errorf("load charge %s: %w", chargeID, err)
	}
	if due == nil {
		return nil
	}
	ch, err := loadStripeCharge(ctx, tx, chargeID)
	if err != nil {
		return err
	}
	if err := setChargeDue(ctx, tx, ch.ID, nil, nil); err != nil {
		return err
	}
	if ch.Status != chargeSucceeded || ch.Disputed {
		return nil
	}
	now := s.host.Now()
	dueBy := now.Add(disputeEvidenceWindow).Unix()
	dp := &stripeDispute{
		ID:              simkit.NewID("dp_", 24),
		Amount:          ch.Amount,
		Created:         now.Unix(),
		Currency:        ch.Currency,
		EvidenceDetails: disputeEvidenceDetail{DueBy: &dueBy},
		Metadata:        map[string]string{},
		Reason:          disputeReason,
		Status:          disputeNeedsResponse,
		chargeID:        ch.ID,
		paymentIntentID: &ch.paymentIntentID,
	}
	if err := insertStripeDispute(ctx, tx, dp); err != nil {
		return err
	}
	return s.stripeEmitLoaded(ctx, tx, eventDisputeCreated, dp.ID, nil)
}

// CloseDispute decides an open dispute, as the card network or Amazon
// would: won (the money stays with the merchant) or lost, with
// charge.dispute.closed. It returns an error wrapping simkit.ErrNotFound
// for an unknown dispute and ErrDisputeClosed for one already decided.
func (s *Sim) CloseDispute(ctx context.Context, disputeID string, won bool) error {
	s.host.Lock()
	defer s.host.Unlock()
	return s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if err := s.stripeCatchUp(ctx, tx); err != nil {
			return err
		}
		return s.stripeCloseDispute(ctx, tx, disputeID, won)
	})
}

func (s *Sim) stripeCloseDispute(ctx context.Context, tx *simkit.WriteTx, id string, won bool) error {
	dp, err := loadStripeDispute(ctx, tx, id)
	if err != nil {
		return fmt.Errorf("close dispute %s: %w", id, err)
	}
	if dp.Status == disputeWon || dp.Status == disputeLost || dp.Status == "warning_closed" {
		return fmt.Errorf("close dispute %s (%s): %w", id, dp.Status, ErrDisputeClosed)
	}
	status := disputeLost
	if won {
		status = disputeWon
	}
	if err := setDisputeStatus(ctx, tx, id, status); err != nil {
		return err
	}
	closed, err := loadStripeDispute(ctx, tx, id)
	if err != nil {
		return err
	}
	return s.stripeEmitChange(ctx, tx, eventDisputeClosed, closed, map[string]any{"status": dp.Status}, nil)
}

func (s *Sim) stripeGetDispute(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeGet(ctx, s, tx, req, "dispute", "dispute", "dispute", loadStripeDispute)
}

var disputeListSpec = listSpec(chargeFilters)

// stripeListDisputes answers GET /v1/disputes: newest first, paged and
// filtered by charge, payment_intent and created, as Stripe's list is.
func (s *Sim) stripeListDisputes(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeListObjects(ctx, s, tx, req.params, listing[*stripeDispute]{
		object:  "dispute",
		table:   "stripe_disputes",
		url:     "/v1/disputes",
		filters: chargeFilters,
		load:    loadStripeDispute,
	})
}
