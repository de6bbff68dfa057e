package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/payments"
)

// OffTermsError refuses a merchant's charge of another amount than the
// price the terms say each payment is, given without a reason. Nothing was
// written but the form's token, which stays unused.
type OffTermsError struct {
	Price, Amount payments.Money
}

func (e *OffTermsError) Error() string {
	return fmt.Sprintf("the terms say each payment is %s; %s needs a reason", e.Price, e.Amount)
}

// TermsPrice is the price the terms say a payment of m taken now is: the
// price in effect today (PriceFor on the store's clock).
func (s *Store) TermsPrice(ctx context.Context, m Mandate) (Price, error) {
	return s.PriceFor(ctx, m, s.now())
}

// ErrNothingToRetry says a billing is not past due with the failures the
// merchant saw: it was paid, retried by the worker meanwhile, ended, or is
// being charged right now.
var ErrNothingToRetry = errors.New("no past-due payment to retry now")

// ClaimBillingNow claims, for owner, a past-due billing for a retry now,
// whatever its next retry's date: only while it has failures declines (the
// page the merchant pressed on) and nobody holds it. It is one statement,
// as ClaimDueBilling's, so the worker and a retry never hold the same
// period at once, and a retry the worker made meanwhile is not made again.
func (s *Store) ClaimBillingNow(ctx context.Context, mandateID, owner string, failures int, lease time.Duration) (Billing, error) {
	real := s.real().UTC()
	b, err := scanBilling(s.db.QueryRowContext(ctx, `UPDATE billing SET lease_owner = ?, lease_until = ?
		WHERE mandate_id = ? AND state = 'past_due' AND failures = ? AND (lease_until IS NULL OR lease_until < ?)
		RETURNING `+billingColumns, owner, real.Add(lease).Format(timeLayout), mandateID, failures, real.Format(timeLayout)))
	if errors.Is(err, sql.ErrNoRows) {
		return Billing{}, ErrNothingToRetry
	}
	if err != nil {
		return Billing{}, fmt.Errorf("claim billing of %s for a retry: %w", mandateID, err)
	}
	return b, nil
}

// MsgCancelScheduled: CancelScheduledData, the merchant will cancel the
// subscription at the end of the paid period.
const MsgCancelScheduled = "cancel_scheduled"

// CancelScheduledData: at At, the merchant asked to cancel at the end of
// the paid period, EndsAt; no payment is taken after it.
type CancelScheduledData struct {
	At     time.Time `json:"at"`
	EndsAt time.Time `json:"ends_at"`
}

// ErrNotBilled refuses to schedule a cancellation of a mandate whose
// billing is not active (past due, ended, revoked, never started).
var ErrNotBilled = errors.New("the mandate's billing is not active")

// CancelAtPeriodEnd asks for m's billing to end when its paid period does:
// the mandate stays active until then, the next period is not charged, and
// the worker revokes it when it falls due. The shopper is told in the same
// transaction. Asking again changes nothing (created false).
func (s *Store) CancelAtPeriodEnd(ctx context.Context, mandateID string) (b Billing, created bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Billing{}, false, fmt.Errorf("cancel %s at period end: %w", mandateID, err)
	}
	defer tx.Rollback()
	b, err = scanBilling(tx.QueryRowContext(ctx, `SELECT `+billingColumns+` FROM billing WHERE mandate_id = ?`+s.d.lockRows, mandateID))
	if errors.Is(err, sql.ErrNoRows) {
		return Billing{}, false, ErrNotBilled
	}
	if err != nil {
		return Billing{}, false, fmt.Errorf("cancel %s at period end: %w", mandateID, err)
	}
	if !b.CancelRequestedAt.IsZero() {
		return b, false, nil
	}
	if b.State != BillingActive {
		return b, false, fmt.Errorf("%w (it is %s)", ErrNotBilled, b.State)
	}
	now := s.now().UTC()
	ts := now.Format(timeLayout)
	if _, err := tx.ExecContext(ctx, `UPDATE billing SET cancel_requested_at = ?, updated_at = ? WHERE mandate_id = ?`,
		ts, ts, mandateID); err != nil {
		return Billing{}, false, fmt.Errorf("cancel %s at period end: %w", mandateID, err)
	}
	if err := addBillingEvent(ctx, tx, mandateID, b.State, b.State, b.NextPeriod, fmt.Sprintf(
		"the merchant cancels at the end of the paid period: period %d, due %s, will not be charged",
		b.NextPeriod, b.NextDueAt.UTC().Format("2 Jan 2006")), ts); err != nil {
		return Billing{}, false, err
	}
	if err := s.notify(ctx, tx, mandateID, MsgCancelScheduled, "mandate/"+mandateID+"/cancel-scheduled",
		CancelScheduledData{At: now, EndsAt: b.NextDueAt.UTC()}); err != nil {
		return Billing{}, false, fmt.Errorf("cancel %s at period end: %w", mandateID, err)
	}
	b.CancelRequestedAt = now
	return b, true, tx.Commit()
}
