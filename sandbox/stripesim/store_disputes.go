package stripesim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"example.com/storefront/sandbox/simkit"
)

// Loading and saving disputes, with the same conventions as store.go.

func insertStripeDispute(ctx context.Context, q simkit.Querier, d *stripeDispute) error {
	md, err := simkit.JSONText(d.Metadata)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_disputes (id, created, charge_id, payment_intent_id, amount, currency, reason, status, due_by, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.Created, d.chargeID, simkit.NullString(d.paymentIntentID), d.Amount, d.Currency, d.Reason, d.Status,
		d.EvidenceDetails.DueBy, md); err != nil {
		return fmt.Errorf("insert dispute: %w", err)
	}
	return nil
}

const disputeColumns = `d.id, d.created, d.charge_id, d.payment_intent_id, d.amount, d.currency, d.reason, d.status,
	d.due_by, d.metadata, json_extract(c.payment_method_details, '$.type'), json_extract(c.payment_method_details, '$.card.brand')`

func scanStripeDispute(row interface{ Scan(...any) error }) (*stripeDispute, error) {
	d := &stripeDispute{Object: "dispute", BalanceTransactions: []any{}, Evidence: emptyDisputeEvidence()}
	var pi, brand sql.NullString
	var dueBy int64
	var md, pmType string
	if err := row.Scan(&d.ID, &d.Created, &d.chargeID, &pi, &d.Amount, &d.Currency, &d.Reason, &d.Status,
		&dueBy, &md, &pmType, &brand); err != nil {
		return nil, err
	}
	d.paymentIntentID = simkit.StringPtr(pi)
	d.Charge, d.PaymentIntent = d.chargeID, idOrNil(d.paymentIntentID)
	if err := json.Unmarshal([]byte(md), &d.Metadata); err != nil {
		return nil, fmt.Errorf("dispute %s metadata: %w", d.ID, err)
	}
	// Evidence is due until the dispute leaves needs_response; Stripe
	// keeps due_by afterwards.
	d.EvidenceDetails.DueBy = &dueBy
	if pmType == pmTypeCard {
		d.PaymentMethodDetails = map[string]any{"type": pmTypeCard,
			pmTypeCard: map[string]any{"brand": brand.String, "network_reason_code": nil}}
	}
	return d, nil
}

func loadStripeDispute(ctx context.Context, q simkit.Querier, id string) (*stripeDispute, error) {
	d, err := scanStripeDispute(q.QueryRowContext(ctx, `SELECT `+disputeColumns+`
		FROM stripe_disputes d JOIN stripe_charges c ON c.id = d.charge_id WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load dispute %s: %w", id, err)
	}
	return d, nil
}

// setDisputeStatus saves a dispute's new status.
func setDisputeStatus(ctx context.Context, q simkit.Querier, id, status string) error {
	if _, err := q.ExecContext(ctx, `UPDATE stripe_disputes SET status = ? WHERE id = ?`, status, id); err != nil {
		return fmt.Errorf("update dispute %s: %w", id, err)
	}
	return nil
}

// disputeEvidenceFields are the fields of a dispute's evidence in
// 2023-10-16; the sandbox takes no evidence, so all are null.
var disputeEvidenceFields = []string{
	"access_activity_log", "billing_address", "cancellation_policy", "cancellation_policy_disclosure",
	"cancellation_rebuttal", "customer_communication", "customer_email_address", "customer_name",
	"customer_purchase_ip", "customer_signature", "duplicate_charge_documentation", "duplicate_charge_explanation",
	"duplicate_charge_id", "product_description", "receipt", "refund_policy", "refund_policy_disclosure",
	"refund_refusal_explanation", "service_date", "service_documentation", "shipping_address", "shipping_carrier",
	"shipping_date", "shipping_documentation", "shipping_tracking_number", "uncategorized_file", "uncategorized_text",
}

func emptyDisputeEvidence() map[string]any {
	ev := make(map[string]any, len(disputeEvidenceFields))
	for _, f := range disputeEvidenceFields {
		ev[f] = nil
	}
	return ev
}
