package pprosim

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// What PPRO does on its own a moment after answering: a pending agreement
// charge settles (magic amounts 03 and 07), a pending refund settles
// (every refund; 05 fails), a refund fails after succeeding (06), a
// captured charge is charged back (04). Each is due SettleAfter after it
// was set up, on the sandbox's clock, and happens
//   - when anyone reads PPRO's state (an API call, the index page) once
//     the sandbox's clock has passed its due time, as of that time, so
//     that a clock moved forward brings everything up to date at once;
//   - when its timer (simkit.Host.After) fires SettleAfter later in real
//     time, as of then, so that the webhooks come without anyone asking
//     even while the clock stands still (tests freeze it);
//   - after a restart, by the next read, or by New's timer a default
//     settle delay later.

// The magic amounts' last two digits (amount % 100), shared with the
// Stripe stand-in: 01 and 02 decline (pproMagicDecline).
const (
	magicNeedsShopper = 3 // charge: AUTHENTICATION_PENDING, then FAILED
	magicChargeback   = 4 // charge: CAPTURED, then charged back
	magicRefundFails  = 5 // refund: PENDING, then FAILED
	magicRefundLater  = 6 // refund: PENDING, REFUNDED, then FAILED
	magicAsync        = 7 // charge: AUTHORIZATION_ASYNC, then CAPTURED
)

// pproDue is a moment SettleAfter from now on the sandbox's clock; it
// also sets the timer that does what is due by then in real time.
func (s *Sim) pproDue(now time.Time) time.Time {
	d := s.Settings().SettleAfter
	due := now.Add(d)
	s.host.After(d, func(ctx context.Context) { s.pproCatchUpTo(ctx, due) })
	return due
}

// pproCatchUpTo does, in a transaction of its own, what is due by upTo or
// by the sandbox's clock, whichever is later.
func (s *Sim) pproCatchUpTo(ctx context.Context, upTo time.Time) {
	s.host.Lock()
	defer s.host.Unlock()
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error { return s.pproCatchUp(ctx, tx, upTo) })
	if err != nil && ctx.Err() == nil {
		s.host.Logger().Error("sandbox ppro: catch up", "err", err)
	}
}

// pproCatchUp does what is due by upTo or by the sandbox's clock,
// whichever is later, each as of its due time (or of now, when it is due
// on the clock only later). Refunds settle before they fail, so a 06
// refund whose both steps are due takes them in order.
func (s *Sim) pproCatchUp(ctx context.Context, tx *simkit.WriteTx, upTo time.Time) error {
	now := s.host.Now()
	if upTo.Before(now) {
		upTo = now
	}
	// Every request asks; nearly always nothing is due, which one
	// statement tells.
	var due bool
	if err := tx.QueryRowContext(ctx, `SELECT
		EXISTS (SELECT 1 FROM ppro_charges WHERE settle_due_ms <= ?1)
		OR EXISTS (SELECT 1 FROM ppro_charges WHERE chargeback_due_ms <= ?1)
		OR EXISTS (SELECT 1 FROM ppro_refunds WHERE settle_due_ms <= ?1)
		OR EXISTS (SELECT 1 FROM ppro_refunds WHERE fail_due_ms <= ?1)`, pproMillis(upTo)).Scan(&due); err != nil {
		return fmt.Errorf("look for what is due: %w", err)
	}
	if !due {
		return nil
	}
	steps := []struct {
		query string
		do    func(ctx context.Context, tx *simkit.WriteTx, id string, at time.Time) error
	}{
		{`SELECT id, settle_due_ms FROM ppro_charges WHERE settle_due_ms <= ? ORDER BY settle_due_ms, rowid`, s.pproSettleCharge},
		{`SELECT id, chargeback_due_ms FROM ppro_charges WHERE chargeback_due_ms <= ? ORDER BY chargeback_due_ms, rowid`, s.pproChargeBack},
		{`SELECT id, settle_due_ms FROM ppro_refunds WHERE settle_due_ms <= ? ORDER BY settle_due_ms, rowid`, s.pproSettleRefund},
		{`SELECT id, fail_due_ms FROM ppro_refunds WHERE fail_due_ms <= ? ORDER BY fail_due_ms, rowid`, s.pproFailRefund},
	}
	for _, step := range steps {
		due, err := dueIDs(ctx, tx, step.query, pproMillis(upTo))
		if err != nil {
			return err
		}
		for _, d := range due {
			at := d.at
			if at.After(now) {
				at = now // due on the clock only later: its timer fired
			}
			if err := step.do(ctx, tx, d.id, at); err != nil {
				return err
			}
		}
	}
	return nil
}

type dueID struct {
	id string
	at time.Time
}

func dueIDs(ctx context.Context, q simkit.Querier, query string, upToMS int64) ([]dueID, error) {
	rows, err := q.QueryContext(ctx, query, upToMS)
	if err != nil {
		return nil, fmt.Errorf("list what is due: %w", err)
	}
	defer rows.Close()
	var out []dueID
	for rows.Next() {
		var d dueID
		var ms int64
		if err := rows.Scan(&d.id, &ms); err != nil {
			return nil, fmt.Errorf("list what is due: %w", err)
		}
		d.at = fromMillis(ms)
		out = append(out, d)
	}
	return out, rows.Err()
}

// pproSettleCharge settles a pending agreement charge: one that needed the
// shopper (03), who never came, fails as a decline; an asynchronous one
// (07) is authorized, and captured as its autoCapture says.
func (s *Sim) pproSettleCharge(ctx context.Context, tx *simkit.WriteTx, id string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE ppro_charges SET settle_due_ms = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("settle charge %s: %w", id, err)
	}
	c, err := loadPPROCharge(ctx, tx, id)
	if err != nil {
		return err
	}
	if len(c.Authorizations) == 0 || (c.Status != chargeAuthenticationPending && c.Status != chargeAuthorizationAsync) {
		return nil // settled otherwise meanwhile
	}
	var failure *pproFailure
	if c.Status == chargeAuthenticationPending {
		failure = &pproFailure{FailureType: failureProviderDecline, FailureCode: codeAuthenticationFailed,
			FailureMessage: "The buyer did not authenticate this payment on Amazon Pay."}
	}
	return s.pproDecideAuthorization(ctx, tx, c, failure, at)
}

// pproSettleRefund settles a PENDING refund: REFUNDED, or FAILED for an
// amount ending in 05. A 06 refund is REFUNDED now and fails later.
func (s *Sim) pproSettleRefund(ctx context.Context, tx *simkit.WriteTx, id string, at time.Time) error {
	r, chargeID, err := loadPPRORefund(ctx, tx, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ppro_refunds SET settle_due_ms = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("settle refund %s: %w", id, err)
	}
	if r.Status != refundPending {
		return nil
	}
	if r.Amount%100 == magicRefundFails {
		return s.pproRefundFailed(ctx, tx, chargeID, r, at)
	}
	if err := setPPRORefundStatus(ctx, tx, id, refundRefunded, nil, at); err != nil {
		return err
	}
	if r.Amount%100 == magicRefundLater {
		// Fails a settle delay after it succeeded, on the same footing.
		due := s.pproDue(at)
		if _, err := tx.ExecContext(ctx, `UPDATE ppro_refunds SET fail_due_ms = ? WHERE id = ?`, pproMillis(due), id); err != nil {
			return fmt.Errorf("schedule refund %s: %w", id, err)
		}
	}
	c, err := loadPPROCharge(ctx, tx, chargeID)
	if err != nil {
		return err
	}
	if c.Status == chargeCaptured && c.refundAmount(refundRefunded) == c.capturedAmount() {
		if err := setPPROChargeStatus(ctx, tx, c.ID, chargeRefunded, c.Failure, at); err != nil {
			return err
		}
		c.Status = chargeRefunded
	}
	return s.pproEmitCharge(ctx, tx, eventChargeRefundSucceeded, c, pproChargeEventData{RefundID: r.ID,
		MerchantRefundReference: r.MerchantRefundReference, Amount: &pproMoney{Value: r.Amount, Currency: c.Currency}}, at)
}

// pproFailRefund fails a REFUNDED refund of an amount ending in 06.
// PPRO's refund statuses (REFUNDED, PENDING, FAILED) and its
// PAYMENT_CHARGE_REFUND_FAILED webhook allow the move; PPRO documents no
// order among them.
func (s *Sim) pproFailRefund(ctx context.Context, tx *simkit.WriteTx, id string, at time.Time) error {
	r, chargeID, err := loadPPRORefund(ctx, tx, id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE ppro_refunds SET fail_due_ms = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("fail refund %s: %w", id, err)
	}
	if r.Status != refundRefunded {
		return nil
	}
	return s.pproRefundFailed(ctx, tx, chargeID, r, at)
}

// pproRefundFailed records refund r's failure: its amount is the
// charge's again, so a charge it had fully refunded is CAPTURED again.
func (s *Sim) pproRefundFailed(ctx context.Context, tx *simkit.WriteTx, chargeID string, r *pproRefund, at time.Time) error {
	failure := &pproFailure{FailureType: failureProviderDecline, FailureCode: codeGenericDecline,
		FailureMessage: "Amazon Pay could not return the money to the buyer."}
	if err := setPPRORefundStatus(ctx, tx, r.ID, refundFailed, failure, at); err != nil {
		return err
	}
	c, err := loadPPROCharge(ctx, tx, chargeID)
	if err != nil {
		return err
	}
	if c.Status == chargeRefunded {
		if err := setPPROChargeStatus(ctx, tx, c.ID, chargeCaptured, c.Failure, at); err != nil {
			return err
		}
		c.Status = chargeCaptured
	}
	return s.pproEmitCharge(ctx, tx, eventChargeRefundFailed, c, pproChargeEventData{RefundID: r.ID,
		MerchantRefundReference: r.MerchantRefundReference, Amount: &pproMoney{Value: r.Amount, Currency: c.Currency},
		Failure: failure}, at)
}

func loadPPRORefund(ctx context.Context, q simkit.Querier, id string) (*pproRefund, string, error) {
	var chargeID string
	err := q.QueryRowContext(ctx, `SELECT charge_id FROM ppro_refunds WHERE id = ?`, id).Scan(&chargeID)
	if err == sql.ErrNoRows {
		return nil, "", simkit.ErrNotFound
	}
	if err != nil {
		return nil, "", fmt.Errorf("load refund %s: %w", id, err)
	}
	refunds, err := loadPPRORefunds(ctx, q, chargeID)
	if err != nil {
		return nil, "", err
	}
	for i := range refunds {
		if refunds[i].ID == id {
			return &refunds[i], chargeID, nil
		}
	}
	return nil, "", simkit.ErrNotFound
}

func setPPRORefundStatus(ctx context.Context, q simkit.Querier, id, status string, failure *pproFailure, at time.Time) error {
	f, err := simkit.NullJSON(failure)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE ppro_refunds SET status = ?, failure = ?, updated_ms = ? WHERE id = ?`,
		status, f, pproMillis(at), id); err != nil {
		return fmt.Errorf("update refund %s: %w", id, err)
	}
	// The charge changes with its refunds[].
	if _, err := q.ExecContext(ctx, `UPDATE ppro_charges SET updated_ms = ? WHERE id = (SELECT charge_id FROM ppro_refunds WHERE id = ?)`,
		pproMillis(at), id); err != nil {
		return fmt.Errorf("update charge of refund %s: %w", id, err)
	}
	return nil
}
