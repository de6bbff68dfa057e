package pprosim

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// Loading and saving refunds (migration 0006_ppro_refunds.sql).

func insertPPRORefund(ctx context.Context, q simkit.Querier, chargeID string, r *pproRefund, at time.Time) error {
	labels, err := nullLabels(r.Labels)
	if err != nil {
		return err
	}
	failure, err := simkit.NullJSON(r.Failure)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO ppro_refunds (id, charge_id, status, amount, merchant_reference, reason, descriptor, labels, failure,
			created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, chargeID, r.Status, r.Amount, nullIfEmpty(r.MerchantRefundReference), nullIfEmpty(r.RefundReason),
		nullIfEmpty(r.RefundDescriptor), labels, failure, pproMillis(at), pproMillis(at)); err != nil {
		return fmt.Errorf("insert refund of %s: %w", chargeID, err)
	}
	return nil
}

// loadPPRORefunds returns a charge's refunds in the order they were made;
// an empty array (never nil) when there are none, as PPRO's examples show.
func loadPPRORefunds(ctx context.Context, q simkit.Querier, chargeID string) ([]pproRefund, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT id, status, amount, merchant_reference, reason, descriptor, labels, failure, created_ms, updated_ms
		FROM ppro_refunds WHERE charge_id = ? ORDER BY rowid`, chargeID)
	if err != nil {
		return nil, fmt.Errorf("load refunds of %s: %w", chargeID, err)
	}
	defer rows.Close()
	refunds := []pproRefund{}
	for rows.Next() {
		var r pproRefund
		var ref, reason, descriptor, labels, failure sql.NullString
		var createdMS, updatedMS int64
		if err := rows.Scan(&r.ID, &r.Status, &r.Amount, &ref, &reason, &descriptor, &labels, &failure,
			&createdMS, &updatedMS); err != nil {
			return nil, fmt.Errorf("load refunds of %s: %w", chargeID, err)
		}
		if labels.Valid {
			if err := unmarshalColumn(labels.String, &r.Labels); err != nil {
				return nil, fmt.Errorf("load refund %s labels: %w", r.ID, err)
			}
		}
		if r.Failure, err = simkit.ScanJSON[pproFailure](failure); err != nil {
			return nil, err
		}
		r.MerchantRefundReference, r.RefundReason, r.RefundDescriptor = ref.String, reason.String, descriptor.String
		r.CreatedAt, r.UpdatedAt = pproTime(fromMillis(createdMS)), pproTime(fromMillis(updatedMS))
		refunds = append(refunds, r)
	}
	return refunds, rows.Err()
}
