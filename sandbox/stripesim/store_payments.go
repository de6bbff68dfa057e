package stripesim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"example.com/storefront/sandbox/simkit"
)

// Loading and saving payment intents, charges and refunds, with the same
// conventions as store.go.

func insertStripePaymentIntent(ctx context.Context, q simkit.Querier, pi *stripePaymentIntent) error {
	types, err := simkit.JSONText(pi.PaymentMethodTypes)
	if err != nil {
		return err
	}
	auto, err := simkit.NullJSON(pi.AutomaticPaymentMethods)
	if err != nil {
		return err
	}
	md, err := simkit.JSONText(pi.Metadata)
	if err != nil {
		return err
	}
	lastErr, err := simkit.NullJSON(pi.LastPaymentError)
	if err != nil {
		return err
	}
	next, err := simkit.NullJSON(pi.nextAction)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_payment_intents (id, created, amount, currency, customer_id, payment_method_types,
			automatic_payment_methods, status, capture_method, client_secret, description, metadata,
			amount_received, payment_method_id, latest_charge_id, last_payment_error, next_action)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		pi.ID, pi.Created, pi.Amount, pi.Currency, simkit.NullString(pi.customerID), types, auto, pi.Status,
		pi.CaptureMethod, pi.ClientSecret, simkit.NullString(pi.Description), md,
		pi.AmountReceived, simkit.NullString(pi.paymentMethodID), simkit.NullString(pi.latestChargeID), lastErr, next); err != nil {
		return fmt.Errorf("insert payment intent: %w", err)
	}
	return nil
}

// updateStripePaymentIntent saves the fields a confirmation changes.
func updateStripePaymentIntent(ctx context.Context, q simkit.Querier, pi *stripePaymentIntent) error {
	lastErr, err := simkit.NullJSON(pi.LastPaymentError)
	if err != nil {
		return err
	}
	next, err := simkit.NullJSON(pi.nextAction)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		UPDATE stripe_payment_intents
		SET status = ?, amount_received = ?, payment_method_id = ?, latest_charge_id = ?, last_payment_error = ?,
			next_action = ?
		WHERE id = ?`,
		pi.Status, pi.AmountReceived, simkit.NullString(pi.paymentMethodID), simkit.NullString(pi.latestChargeID),
		lastErr, next, pi.ID); err != nil {
		return fmt.Errorf("update payment intent %s: %w", pi.ID, err)
	}
	return nil
}

const paymentIntentColumns = `id, created, amount, amount_received, currency, customer_id, payment_method_id,
	payment_method_types, automatic_payment_methods, status, capture_method, client_secret, description,
	latest_charge_id, last_payment_error, metadata, next_action`

func scanStripePaymentIntent(row interface{ Scan(...any) error }) (*stripePaymentIntent, error) {
	pi := &stripePaymentIntent{
		Object:             "payment_intent",
		AmountDetails:      map[string]any{"tip": map[string]any{}},
		ConfirmationMethod: "automatic",
	}
	var customer, pm, auto, desc, charge, lastErr, next sql.NullString
	var types, md string
	if err := row.Scan(&pi.ID, &pi.Created, &pi.Amount, &pi.AmountReceived, &pi.Currency, &customer, &pm,
		&types, &auto, &pi.Status, &pi.CaptureMethod, &pi.ClientSecret, &desc, &charge, &lastErr, &md, &next); err != nil {
		return nil, err
	}
	pi.customerID, pi.paymentMethodID, pi.latestChargeID = simkit.StringPtr(customer), simkit.StringPtr(pm), simkit.StringPtr(charge)
	pi.Customer, pi.PaymentMethod, pi.LatestCharge = idOrNil(pi.customerID), idOrNil(pi.paymentMethodID), idOrNil(pi.latestChargeID)
	pi.Description = simkit.StringPtr(desc)
	if err := json.Unmarshal([]byte(types), &pi.PaymentMethodTypes); err != nil {
		return nil, fmt.Errorf("payment intent %s types: %w", pi.ID, err)
	}
	if err := json.Unmarshal([]byte(md), &pi.Metadata); err != nil {
		return nil, fmt.Errorf("payment intent %s metadata: %w", pi.ID, err)
	}
	var err error
	if pi.AutomaticPaymentMethods, err = simkit.ScanJSON[automaticPMs](auto); err != nil {
		return nil, err
	}
	if pi.LastPaymentError, err = simkit.ScanJSON[stripeError](lastErr); err != nil {
		return nil, err
	}
	if pi.nextAction, err = simkit.ScanJSON[piNextAction](next); err != nil {
		return nil, err
	}
	if pi.nextAction != nil {
		pi.NextAction = pi.nextAction
	}
	pi.PaymentMethodOptions = paymentIntentPaymentMethodOptions(pi.PaymentMethodTypes)
	return pi, nil
}

func loadStripePaymentIntent(ctx context.Context, q simkit.Querier, id string) (*stripePaymentIntent, error) {
	pi, err := scanStripePaymentIntent(q.QueryRowContext(ctx, `SELECT `+paymentIntentColumns+` FROM stripe_payment_intents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load payment intent %s: %w", id, err)
	}
	return pi, nil
}

// paymentIntentPaymentMethodOptions is what Stripe reports for the types a
// PaymentIntent accepts; as for SetupIntents, only card has options in
// 2023-10-16.
func paymentIntentPaymentMethodOptions(types []string) map[string]any {
	opts := map[string]any{}
	for _, t := range types {
		if t == pmTypeCard {
			opts[pmTypeCard] = map[string]any{
				"installments":           nil,
				"mandate_options":        nil,
				"network":                nil,
				"request_three_d_secure": "automatic",
			}
		}
	}
	return opts
}

func insertStripeCharge(ctx context.Context, q simkit.Querier, ch *stripeCharge) error {
	pmd, err := simkit.JSONText(ch.PaymentMethodDetails)
	if err != nil {
		return err
	}
	bd, err := simkit.JSONText(ch.BillingDetails)
	if err != nil {
		return err
	}
	outcome, err := simkit.JSONText(ch.Outcome)
	if err != nil {
		return err
	}
	md, err := simkit.JSONText(ch.Metadata)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_charges (id, created, amount, amount_captured, amount_refunded, currency, customer_id,
			payment_intent_id, payment_method_id, payment_method_details, billing_details, status, failure_code,
			failure_message, outcome, statement_descriptor, description, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ch.ID, ch.Created, ch.Amount, ch.AmountCaptured, ch.AmountRefunded, ch.Currency, simkit.NullString(ch.customerID),
		ch.paymentIntentID, ch.PaymentMethod, pmd, bd, ch.Status, simkit.NullString(ch.FailureCode),
		simkit.NullString(ch.FailureMessage), outcome, simkit.NullString(ch.CalculatedStatementDescriptor),
		simkit.NullString(ch.Description), md); err != nil {
		return fmt.Errorf("insert charge: %w", err)
	}
	return nil
}

func loadStripeCharge(ctx context.Context, q simkit.Querier, id string) (*stripeCharge, error) {
	ch := &stripeCharge{Object: "charge", FraudDetails: map[string]any{}}
	var customer, failureCode, failureMessage, descriptor, desc sql.NullString
	var pmd, bd, outcome, md string
	err := q.QueryRowContext(ctx, `
		SELECT id, created, amount, amount_captured, amount_refunded, currency, customer_id, payment_intent_id,
			payment_method_id, payment_method_details, billing_details, status, failure_code, failure_message,
			outcome, statement_descriptor, description, metadata,
			EXISTS (SELECT 1 FROM stripe_disputes d WHERE d.charge_id = c.id)
		FROM stripe_charges c WHERE id = ?`, id).
		Scan(&ch.ID, &ch.Created, &ch.Amount, &ch.AmountCaptured, &ch.AmountRefunded, &ch.Currency, &customer,
			&ch.paymentIntentID, &ch.PaymentMethod, &pmd, &bd, &ch.Status, &failureCode, &failureMessage,
			&outcome, &descriptor, &desc, &md, &ch.Disputed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load charge %s: %w", id, err)
	}
	ch.customerID = simkit.StringPtr(customer)
	ch.Customer, ch.PaymentIntent = idOrNil(ch.customerID), ch.paymentIntentID
	ch.FailureCode, ch.FailureMessage = simkit.StringPtr(failureCode), simkit.StringPtr(failureMessage)
	ch.CalculatedStatementDescriptor, ch.Description = simkit.StringPtr(descriptor), simkit.StringPtr(desc)
	// A pending charge (an asynchronous payment, automatically captured)
	// is captured but not yet paid, as Stripe shows one.
	ch.Captured, ch.Paid = ch.Status != chargeFailed, ch.Status == chargeSucceeded
	ch.Refunded = ch.Amount > 0 && ch.AmountRefunded == ch.Amount
	for _, col := range []struct {
		text string
		into any
	}{{pmd, &ch.PaymentMethodDetails}, {bd, &ch.BillingDetails}, {outcome, &ch.Outcome}, {md, &ch.Metadata}} {
		if err := json.Unmarshal([]byte(col.text), col.into); err != nil {
			return nil, fmt.Errorf("load charge %s: %w", id, err)
		}
	}
	return ch, nil
}

// setChargeAmountRefunded saves a charge's amount_refunded.
func setChargeAmountRefunded(ctx context.Context, q simkit.Querier, chargeID string, amount int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE stripe_charges SET amount_refunded = ? WHERE id = ?`, amount, chargeID); err != nil {
		return fmt.Errorf("update charge %s: %w", chargeID, err)
	}
	return nil
}

// setChargeDue saves when the sandbox moves a charge on by itself: a
// pending one succeeds at settlesAt, a succeeded one is disputed at
// disputesAt (nil: never, or done).
func setChargeDue(ctx context.Context, q simkit.Querier, chargeID string, settlesAt, disputesAt *int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE stripe_charges SET settles_at = ?, disputes_at = ? WHERE id = ?`,
		settlesAt, disputesAt, chargeID); err != nil {
		return fmt.Errorf("update charge %s: %w", chargeID, err)
	}
	return nil
}

func insertStripeRefund(ctx context.Context, q simkit.Querier, re *stripeRefund) error {
	md, err := simkit.JSONText(re.Metadata)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO stripe_refunds (id, created, amount, currency, charge_id, payment_intent_id, reason, status,
			settles_at, metadata)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		re.ID, re.Created, re.Amount, re.Currency, re.chargeID, simkit.NullString(re.paymentIntentID),
		simkit.NullString(re.Reason), re.Status, re.settlesAt, md); err != nil {
		return fmt.Errorf("insert refund: %w", err)
	}
	return nil
}

func loadStripeRefund(ctx context.Context, q simkit.Querier, id string) (*stripeRefund, error) {
	re := &stripeRefund{Object: "refund"}
	var pi, reason, failure sql.NullString
	var failsAt sql.NullInt64
	var md, pmType string
	err := q.QueryRowContext(ctx, `
		SELECT r.id, r.created, r.amount, r.currency, r.charge_id, r.payment_intent_id, r.reason, r.status,
			r.settles_at, r.metadata, json_extract(c.payment_method_details, '$.type'), r.failure_reason, r.fails_at
		FROM stripe_refunds r JOIN stripe_charges c ON c.id = r.charge_id
		WHERE r.id = ?`, id).
		Scan(&re.ID, &re.Created, &re.Amount, &re.Currency, &re.chargeID, &pi, &reason, &re.Status, &re.settlesAt,
			&md, &pmType, &failure, &failsAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load refund %s: %w", id, err)
	}
	re.paymentIntentID, re.Reason = simkit.StringPtr(pi), simkit.StringPtr(reason)
	re.FailureReason = simkit.StringPtr(failure)
	if failsAt.Valid {
		re.failsAt = &failsAt.Int64
	}
	re.Charge, re.PaymentIntent = re.chargeID, idOrNil(re.paymentIntentID)
	if err := json.Unmarshal([]byte(md), &re.Metadata); err != nil {
		return nil, fmt.Errorf("load refund %s metadata: %w", id, err)
	}
	// Where the money goes back to: the payment method's type, with its
	// own details: for a card the type of refund the spec requires (the
	// sandbox's card charges are captured, so a refund, not a reversal),
	// for Amazon Pay none.
	details := map[string]any{}
	if pmType == pmTypeCard {
		details["type"] = "refund"
	}
	re.DestinationDetails = map[string]any{"type": pmType, pmType: details}
	return re, nil
}

// setRefundStatus saves a refund's move to status, with the failure
// reason of a failed one and when a succeeded one is due to fail (nil:
// never).
func setRefundStatus(ctx context.Context, q simkit.Querier, id, status string, failureReason *string, failsAt *int64) error {
	if _, err := q.ExecContext(ctx, `UPDATE stripe_refunds SET status = ?, failure_reason = ?, fails_at = ? WHERE id = ?`,
		status, simkit.NullString(failureReason), failsAt, id); err != nil {
		return fmt.Errorf("update refund %s: %w", id, err)
	}
	return nil
}
