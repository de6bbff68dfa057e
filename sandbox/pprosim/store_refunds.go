package pprosim

import (
	"context"
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
	var col []byte
	if err := q.QueryRowContext(ctx, `SELECT `+refundsJSON("?"), chargeID).Scan(&col); err != nil {
		return nil, fmt.Errorf("load refunds of %s: %w", chargeID, err)
	}
	refunds, err := decodeRefunds(col)
	if err != nil {
		return nil, fmt.Errorf("load refunds of %s: %w", chargeID, err)
	}
	return refunds, nil
}

// decodeRefunds decodes refundsJSON's array.
func decodeRefunds(col []byte) ([]pproRefund, error) {
	return decodeList(col, func(r refundRow) pproRefund {
		return pproRefund{
			ID: r.ID, Amount: r.Amount, Status: r.Status, MerchantRefundReference: r.Reference, RefundReason: r.Reason,
			RefundDescriptor: r.Descriptor, Failure: r.Failure, Labels: r.Labels,
			CreatedAt: pproTime(fromMillis(r.Created)), UpdatedAt: pproTime(fromMillis(r.Updated)),
		}
	})
}
