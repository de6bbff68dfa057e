package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"example.com/storefront/payments"
)

// ErrOtherCharge refuses a dispute the store already keeps for another
// charge: a provider's dispute is about one payment for good.
var ErrOtherCharge = errors.New("the dispute is kept for another charge")

// Dispute is a shopper's dispute of one of our charges, as the provider
// last reported it.
type Dispute struct {
	ID             int64
	ChargeID       int64
	MandateID      string
	Provider       string
	ProviderRef    string
	Amount         payments.Money
	Status         payments.DisputeState
	ProviderStatus string
	Reason         string
	EvidenceDueBy  time.Time // zero when the provider gives no deadline
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

const disputeColumns = `id, charge_id, mandate_id, provider, provider_ref, amount, currency, status, provider_status, reason,
	evidence_due_by, created_at, updated_at`

func scanDispute(sc interface{ Scan(...any) error }) (Dispute, error) {
	var d Dispute
	var due sql.NullString
	var created, updated string
	err := sc.Scan(&d.ID, &d.ChargeID, &d.MandateID, &d.Provider, &d.ProviderRef, &d.Amount.Amount, &d.Amount.Currency,
		&d.Status, &d.ProviderStatus, &d.Reason, &due, &created, &updated)
	if due.Valid {
		d.EvidenceDueBy = parseTime(due.String)
	}
	d.CreatedAt, d.UpdatedAt = parseTime(created), parseTime(updated)
	return d, err
}

// ApplyDispute records the provider's word on a dispute of a charge: a new
// dispute is added; a known one moves forward only (needs_response →
// under_review | charged_back → won | lost | closed), so a stale answer read before a
// newer one changes nothing, and a decided dispute keeps its outcome. It
// reports whether anything changed.
func (s *Store) ApplyDispute(ctx context.Context, chargeID int64, provider string, d payments.Dispute) (Dispute, bool, error) {
	if d.Ref == "" || d.State.Rank() < 0 {
		return Dispute{}, false, fmt.Errorf("apply dispute of charge %d: no id or an unknown state %q", chargeID, d.State)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Dispute{}, false, fmt.Errorf("apply dispute %s: %w", d.Ref, err)
	}
	defer tx.Rollback()
	// The charge is locked (PostgreSQL): two reports of one dispute take
	// turns, the second finding the first's row.
	c, err := findCharge(ctx, tx, `c.id = ?`+s.d.lockRows, chargeID)
	if err != nil {
		return Dispute{}, false, fmt.Errorf("apply dispute %s: charge %d: %w", d.Ref, chargeID, err)
	}
	next := Dispute{ChargeID: chargeID, MandateID: c.MandateID, Provider: provider, ProviderRef: d.Ref, Amount: d.Amount,
		Status: d.State, ProviderStatus: truncate(d.ProviderStatus, 200), Reason: truncate(d.Reason, 200)}
	if next.Amount.Currency == "" { // the provider stated no amount (PPRO's DISPUTE_* events): the whole charge
		next.Amount = c.Amount
	}
	var due any // NULL: no deadline
	if !d.EvidenceDueBy.IsZero() {
		next.EvidenceDueBy = d.EvidenceDueBy.UTC().Truncate(time.Microsecond) // as stored
		due = next.EvidenceDueBy.Format(timeLayout)
	}
	ts := s.now().UTC().Format(timeLayout)
	old, err := scanDispute(tx.QueryRowContext(ctx, `SELECT `+disputeColumns+` FROM disputes WHERE provider = ? AND provider_ref = ?`, provider, d.Ref))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		_, err = tx.ExecContext(ctx, `INSERT INTO disputes (provider, provider_ref, charge_id, mandate_id, amount, currency, status,
				provider_status, reason, evidence_due_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			provider, next.ProviderRef, chargeID, c.MandateID, next.Amount.Amount, next.Amount.Currency, string(next.Status),
			next.ProviderStatus, next.Reason, due, ts, ts)
	case err != nil:
	case old.ChargeID != chargeID:
		return old, false, fmt.Errorf("apply dispute %s: %w %d", d.Ref, ErrOtherCharge, old.ChargeID)
	case next.Status.Rank() < old.Status.Rank() || old.Status.Decided():
		return old, false, nil // stale, or already decided
	default:
		next.ID, next.CreatedAt, next.UpdatedAt = old.ID, old.CreatedAt, old.UpdatedAt
		if next == old {
			return old, false, nil
		}
		_, err = tx.ExecContext(ctx, `UPDATE disputes SET amount = ?, currency = ?, status = ?, provider_status = ?, reason = ?,
				evidence_due_by = ?, updated_at = ? WHERE id = ?`,
			next.Amount.Amount, next.Amount.Currency, string(next.Status), next.ProviderStatus, next.Reason, due, ts, old.ID)
	}
	if err != nil {
		return Dispute{}, false, fmt.Errorf("apply dispute %s: %w", d.Ref, err)
	}
	out, err := scanDispute(tx.QueryRowContext(ctx, `SELECT `+disputeColumns+` FROM disputes WHERE provider = ? AND provider_ref = ?`, provider, d.Ref))
	if err != nil {
		return Dispute{}, false, fmt.Errorf("apply dispute %s: %w", d.Ref, err)
	}
	if s.notifyDisputes && old.ID == 0 {
		if err := s.notify(ctx, tx, c.MandateID, MsgDispute, "dispute/"+strconv.FormatInt(out.ID, 10)+"/opened", DisputeData{
			DisputeID: out.ID, ChargeID: c.ID, Amount: out.Amount, PaidAt: c.CreatedAt, Reason: out.Reason}); err != nil {
			return Dispute{}, false, fmt.Errorf("apply dispute %s: %w", d.Ref, err)
		}
	}
	return out, true, tx.Commit()
}

// Disputes returns a mandate's disputes, oldest first.
func (s *Store) Disputes(ctx context.Context, mandateID string) ([]Dispute, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+disputeColumns+` FROM disputes WHERE mandate_id = ? ORDER BY id`, mandateID)
	if err != nil {
		return nil, fmt.Errorf("disputes of %s: %w", mandateID, err)
	}
	defer rows.Close()
	var out []Dispute
	for rows.Next() {
		d, err := scanDispute(rows)
		if err != nil {
			return nil, fmt.Errorf("disputes of %s: %w", mandateID, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("disputes of %s: %w", mandateID, err)
	}
	return out, nil
}
