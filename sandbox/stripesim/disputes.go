package stripesim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
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

var disputeListSpec = specHash(map[string]paramSpec{
	"charge":         specString,
	"created":        specRange,
	"ending_before":  specString,
	"expand":         specList,
	"limit":          specString,
	"payment_intent": specString,
	"starting_after": specString,
})

// stripeListDisputes answers GET /v1/disputes: newest first, paged and
// filtered by charge, payment_intent and created, as Stripe's list is.
func (s *Sim) stripeListDisputes(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	p := req.params
	page, e := parseListPage(p)
	if e != nil {
		return nil, e
	}
	exp, e := parseListExpand("dispute", p)
	if e != nil {
		return nil, e
	}
	conds, args, e := createdFilter(p)
	if e != nil {
		return nil, e
	}
	// A charge or PaymentIntent that does not exist has no disputes: the
	// list is empty.
	if v := p.optional("charge"); v != nil {
		conds, args = append(conds, "charge_id = ?"), append(args, *v)
	}
	if v := p.optional("payment_intent"); v != nil {
		conds, args = append(conds, "payment_intent_id = ?"), append(args, *v)
	}
	order := "created DESC, rowid DESC"
	for _, cur := range []struct {
		id    *string
		param string
		cmp   string
	}{{page.startingAfter, "starting_after", "<"}, {page.endingBefore, "ending_before", ">"}} {
		if cur.id == nil {
			continue
		}
		if _, err := loadStripeDispute(ctx, tx, *cur.id); errors.Is(err, simkit.ErrNotFound) {
			return nil, errNoSuch(http.StatusBadRequest, "dispute", *cur.id, cur.param)
		} else if err != nil {
			return nil, err
		}
		conds = append(conds, "(created, rowid) "+cur.cmp+" (SELECT created, rowid FROM stripe_disputes WHERE id = ?)")
		args = append(args, *cur.id)
		if cur.cmp == ">" {
			order = "created ASC, rowid ASC" // the page just before the cursor; reversed below
		}
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	ids, err := queryIDs(ctx, tx, `SELECT id FROM stripe_disputes`+where+` ORDER BY `+order+` LIMIT ?`,
		append(args, page.limit+1)...)
	if err != nil {
		return nil, fmt.Errorf("list disputes: %w", err)
	}
	hasMore := len(ids) > page.limit
	ids = ids[:min(len(ids), page.limit)]
	if page.endingBefore != nil {
		for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
			ids[i], ids[j] = ids[j], ids[i]
		}
	}
	data := make([]any, len(ids))
	for i, id := range ids {
		dp, err := loadStripeDispute(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if err := s.stripeExpand(ctx, tx, dp, exp); err != nil {
			return nil, err
		}
		data[i] = dp
	}
	return newStripeList("/v1/disputes", data, hasMore), nil
}
