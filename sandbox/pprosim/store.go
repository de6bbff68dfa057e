package pprosim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// Loading and saving the PPRO objects. Loaders return simkit.ErrNotFound for
// unknown ids and fill in everything stored; what depends on the
// configuration (authenticationMethods) is the flows' business.

func insertPPROAgreement(ctx context.Context, q simkit.Querier, a *pproAgreement) error {
	consumer, err := simkit.JSONText(a.Consumer)
	if err != nil {
		return err
	}
	frequency, err := simkit.NullJSON(a.Frequency)
	if err != nil {
		return err
	}
	labels, err := nullLabels(a.Labels)
	if err != nil {
		return err
	}
	var amountValue sql.NullInt64
	var amountCurrency sql.NullString
	if a.Amount != nil {
		amountValue = sql.NullInt64{Int64: a.Amount.Value, Valid: true}
		amountCurrency = sql.NullString{String: a.Amount.Currency, Valid: true}
	}
	start, err := time.Parse(pproTimeLayout, a.StartDate)
	if err != nil {
		return fmt.Errorf("insert agreement: startDate: %w", err)
	}
	var end sql.NullInt64
	if a.EndDate != "" {
		t, err := time.Parse(pproTimeLayout, a.EndDate)
		if err != nil {
			return fmt.Errorf("insert agreement: endDate: %w", err)
		}
		end = sql.NullInt64{Int64: pproMillis(t), Valid: true}
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO ppro_agreements (id, merchant_id, status, payment_method, payment_medium, instrument_id, consumer,
			return_url, merchant_reference, description, frequency, amount_value, amount_currency, amount_type,
			start_date_ms, end_date_ms, labels, webhooks_url, initial_scheme_authorization_reference,
			initial_transaction_link_reference, initial_charge_id, created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.merchantID, a.Status, a.PaymentMethod, a.paymentMedium, a.InstrumentID, consumer,
		a.returnURL, nullIfEmpty(a.MerchantPaymentAgreementReference), nullIfEmpty(a.Description), frequency,
		amountValue, amountCurrency, nullIfEmpty(a.AmountType),
		pproMillis(start), end, labels, nullIfEmpty(a.webhooksURL), nullIfEmpty(a.InitialSchemeAuthorizationReference),
		nullIfEmpty(a.InitialTransactionLinkReference), nullIfEmpty(a.InitialPaymentChargeID),
		pproMillis(a.created), pproMillis(a.created)); err != nil {
		return fmt.Errorf("insert agreement: %w", err)
	}
	return nil
}

func loadPPROAgreement(ctx context.Context, q simkit.Querier, id string) (*pproAgreement, error) {
	a := &pproAgreement{}
	var consumer string
	var merchantRef, description, frequency, amountCurrency, amountType, labels, webhooksURL,
		schemeRef, linkRef, failure, initialCharge sql.NullString
	var amountValue, endMS sql.NullInt64
	var startMS, createdMS, updatedMS int64
	var history, revocations []byte
	err := q.QueryRowContext(ctx, `
		SELECT id, merchant_id, status, payment_method, payment_medium, instrument_id, consumer, return_url,
			merchant_reference, description, frequency, amount_value, amount_currency, amount_type, start_date_ms,
			end_date_ms, labels, webhooks_url, initial_scheme_authorization_reference, initial_transaction_link_reference,
			failure, initial_charge_id, created_ms, updated_ms,
			`+historyJSON+`, `+revocationsJSON+`
		FROM ppro_agreements WHERE id = ?`, id).Scan(
		&a.ID, &a.merchantID, &a.Status, &a.PaymentMethod, &a.paymentMedium, &a.InstrumentID, &consumer, &a.returnURL,
		&merchantRef, &description, &frequency, &amountValue, &amountCurrency, &amountType, &startMS,
		&endMS, &labels, &webhooksURL, &schemeRef, &linkRef,
		&failure, &initialCharge, &createdMS, &updatedMS,
		&history, &revocations)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load agreement %s: %w", id, err)
	}
	if err := unmarshalColumn(consumer, &a.Consumer); err != nil {
		return nil, fmt.Errorf("load agreement %s consumer: %w", id, err)
	}
	if a.Frequency, err = simkit.ScanJSON[pproFrequency](frequency); err != nil {
		return nil, err
	}
	if a.Failure, err = simkit.ScanJSON[pproFailure](failure); err != nil {
		return nil, err
	}
	if labels.Valid {
		if err := unmarshalColumn(labels.String, &a.Labels); err != nil {
			return nil, fmt.Errorf("load agreement %s labels: %w", id, err)
		}
	}
	if amountValue.Valid {
		a.Amount = &pproMoney{Value: amountValue.Int64, Currency: amountCurrency.String}
	}
	a.MerchantPaymentAgreementReference, a.Description, a.AmountType = merchantRef.String, description.String, amountType.String
	a.webhooksURL, a.InitialSchemeAuthorizationReference, a.InitialTransactionLinkReference = webhooksURL.String, schemeRef.String, linkRef.String
	a.InitialPaymentChargeID = initialCharge.String
	a.StartDate = pproTime(fromMillis(startMS))
	if endMS.Valid {
		a.EndDate = pproTime(fromMillis(endMS.Int64))
	}
	a.created = fromMillis(createdMS)
	a.CreatedAt, a.UpdatedAt = pproTime(a.created), pproTime(fromMillis(updatedMS))

	if a.History, err = decodeHistory(history); err != nil {
		return nil, fmt.Errorf("load history of %s: %w", id, err)
	}
	if a.Revocations, err = decodeRevocations(revocations); err != nil {
		return nil, fmt.Errorf("load revocations of %s: %w", id, err)
	}
	return a, nil
}

// An agreement's history and revocations, and a charge's refunds and
// operations, are read in the statement that reads the agreement or the
// charge, each a JSON array of its rows in the order they were made: one
// statement a load instead of three, for objects that a flow loads a few
// times each.
const (
	historyJSON = `(SELECT json_group_array(json_object('id', id, 'status', status, 'created', created_ms) ORDER BY rowid)
		FROM ppro_agreement_history WHERE agreement_id = ppro_agreements.id)`
	revocationsJSON = `(SELECT json_group_array(json_object('id', id, 'status', revocation_status,
			'created', created_ms) ORDER BY rowid)
		FROM ppro_agreement_revocations WHERE agreement_id = ppro_agreements.id)`
	operationsJSON = `(SELECT json_group_array(json_object('id', id, 'kind', kind, 'status', status, 'amount', amount,
			'discardType', discard_type, 'failure', json(failure), 'created', created_ms, 'updated', updated_ms) ORDER BY rowid)
		FROM ppro_charge_operations WHERE charge_id = ppro_charges.id)`
)

// refundsJSON is a charge's refunds as a JSON array; chargeID is the SQL
// that names the charge (a column of the outer query, or a parameter).
func refundsJSON(chargeID string) string {
	return `(SELECT json_group_array(json_object('id', id, 'status', status, 'amount', amount,
			'reference', merchant_reference, 'reason', reason, 'descriptor', descriptor, 'labels', json(labels),
			'failure', json(failure), 'created', created_ms, 'updated', updated_ms) ORDER BY rowid)
		FROM ppro_refunds WHERE charge_id = ` + chargeID + `)`
}

// The rows of those arrays.
type (
	historyRow struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Created int64  `json:"created"`
	}
	operationRow struct {
		ID          string       `json:"id"`
		Kind        string       `json:"kind"`
		Status      string       `json:"status"`
		Amount      int64        `json:"amount"` // null for discards
		DiscardType string       `json:"discardType"`
		Failure     *pproFailure `json:"failure"`
		Created     int64        `json:"created"`
		Updated     int64        `json:"updated"`
	}
	refundRow struct {
		ID         string            `json:"id"`
		Status     string            `json:"status"`
		Amount     int64             `json:"amount"`
		Reference  string            `json:"reference"`
		Reason     string            `json:"reason"`
		Descriptor string            `json:"descriptor"`
		Labels     map[string]string `json:"labels"`
		Failure    *pproFailure      `json:"failure"`
		Created    int64             `json:"created"`
		Updated    int64             `json:"updated"`
	}
)

// decodeList decodes one of those arrays into its rows, then each row
// with conv; never nil, as PPRO's examples show an empty array.
func decodeList[R, T any](col []byte, conv func(R) T) ([]T, error) {
	var rows []R
	if err := json.Unmarshal(col, &rows); err != nil {
		return nil, err
	}
	list := make([]T, 0, len(rows))
	for _, r := range rows {
		list = append(list, conv(r))
	}
	return list, nil
}

func decodeHistory(col []byte) ([]pproHistoryEntry, error) {
	return decodeList(col, func(r historyRow) pproHistoryEntry {
		return pproHistoryEntry{ID: r.ID, Status: r.Status, CreatedAt: pproTime(fromMillis(r.Created))}
	})
}

// decodeRevocations is nil when there are none: the field is left out.
func decodeRevocations(col []byte) ([]pproRevocation, error) {
	revocations, err := decodeList(col, func(r historyRow) pproRevocation {
		return pproRevocation{ID: r.ID, RevocationStatus: r.Status, CreatedAt: pproTime(fromMillis(r.Created))}
	})
	if len(revocations) == 0 {
		return nil, err
	}
	return revocations, err
}

// setPPROAgreementStatus records a status change: the agreement's status,
// failure and updatedAt, and a history entry.
func setPPROAgreementStatus(ctx context.Context, q simkit.Querier, id, status string, failure *pproFailure, at time.Time) error {
	f, err := simkit.NullJSON(failure)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		UPDATE ppro_agreements SET status = ?, failure = ?, updated_ms = ? WHERE id = ?`,
		status, f, pproMillis(at), id); err != nil {
		return fmt.Errorf("update agreement %s: %w", id, err)
	}
	return insertPPROHistory(ctx, q, id, status, at)
}

func insertPPROHistory(ctx context.Context, q simkit.Querier, agreementID, status string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `
		INSERT INTO ppro_agreement_history (id, agreement_id, status, created_ms) VALUES (?, ?, ?, ?)`,
		simkit.NewID("ahist_", 21), agreementID, status, pproMillis(at)); err != nil {
		return fmt.Errorf("insert history of %s: %w", agreementID, err)
	}
	return nil
}

// insertPPRORevocation records a revocation attempt, which also updates
// the agreement.
func insertPPRORevocation(ctx context.Context, q simkit.Querier, agreementID, status string, at time.Time) error {
	if _, err := q.ExecContext(ctx, `
		INSERT INTO ppro_agreement_revocations (id, agreement_id, revocation_status, created_ms) VALUES (?, ?, ?, ?)`,
		simkit.NewID("rev_", 21), agreementID, status, pproMillis(at)); err != nil {
		return fmt.Errorf("insert revocation of %s: %w", agreementID, err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE ppro_agreements SET updated_ms = ? WHERE id = ?`, pproMillis(at), agreementID); err != nil {
		return fmt.Errorf("update agreement %s: %w", agreementID, err)
	}
	return nil
}

// pproOperation is a stored authorization, capture or discard.
type pproOperation struct {
	id          string
	kind        string // operationAuthorization, operationCapture, operationDiscard
	status      string
	amount      int64 // not for discards
	discardType string
	failure     *pproFailure
	created     time.Time
	updated     time.Time
}

const (
	operationAuthorization = "authorization"
	operationCapture       = "capture"
	operationDiscard       = "discard"
)

func insertPPROCharge(ctx context.Context, q simkit.Querier, c *pproCharge, created time.Time) error {
	consumer, err := simkit.JSONText(c.Consumer)
	if err != nil {
		return err
	}
	labels, err := nullLabels(c.Labels)
	if err != nil {
		return err
	}
	failure, err := simkit.NullJSON(c.Failure)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO ppro_charges (id, merchant_id, agreement_id, status, payment_method, payment_medium, initiator,
			schedule_type, amount, currency, country, instrument_id, consumer, payment_descriptor, merchant_reference,
			labels, webhooks_url, failure, auto_capture, echo_reference, created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.merchantID, c.agreementID, c.Status, c.PaymentMethod, c.paymentMedium, c.initiator,
		nullIfEmpty(c.scheduleType), c.amount, c.Currency, c.Country, c.InstrumentID, consumer,
		nullIfEmpty(c.PaymentDescriptor), nullIfEmpty(c.merchantRef), labels, nullIfEmpty(c.webhooksURL), failure,
		c.autoCapture, c.echoReference, pproMillis(created), pproMillis(created)); err != nil {
		return fmt.Errorf("insert charge: %w", err)
	}
	return nil
}

func loadPPROCharge(ctx context.Context, q simkit.Querier, id string) (*pproCharge, error) {
	c := &pproCharge{Voids: []pproNoOperation{}}
	var consumer string
	var scheduleType, descriptor, merchantRef, labels, webhooksURL, failure sql.NullString
	var captureDueMS sql.NullInt64
	var createdMS, updatedMS int64
	var refunds, operations []byte
	err := q.QueryRowContext(ctx, `
		SELECT id, merchant_id, agreement_id, status, payment_method, payment_medium, initiator, schedule_type, amount,
			currency, country, instrument_id, consumer, payment_descriptor, merchant_reference, labels, webhooks_url,
			failure, auto_capture, echo_reference, capture_due_ms, created_ms, updated_ms,
			`+refundsJSON("ppro_charges.id")+`, `+operationsJSON+`
		FROM ppro_charges WHERE id = ?`, id).Scan(
		&c.ID, &c.merchantID, &c.agreementID, &c.Status, &c.PaymentMethod, &c.paymentMedium, &c.initiator, &scheduleType,
		&c.amount, &c.Currency, &c.Country, &c.InstrumentID, &consumer, &descriptor, &merchantRef, &labels, &webhooksURL,
		&failure, &c.autoCapture, &c.echoReference, &captureDueMS, &createdMS, &updatedMS,
		&refunds, &operations)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, simkit.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("load charge %s: %w", id, err)
	}
	if err := unmarshalColumn(consumer, &c.Consumer); err != nil {
		return nil, fmt.Errorf("load charge %s consumer: %w", id, err)
	}
	if labels.Valid {
		if err := unmarshalColumn(labels.String, &c.Labels); err != nil {
			return nil, fmt.Errorf("load charge %s labels: %w", id, err)
		}
	}
	if c.Failure, err = simkit.ScanJSON[pproFailure](failure); err != nil {
		return nil, err
	}
	c.scheduleType, c.PaymentDescriptor, c.merchantRef, c.webhooksURL = scheduleType.String, descriptor.String, merchantRef.String, webhooksURL.String
	c.CreatedAt, c.UpdatedAt = pproTime(fromMillis(createdMS)), pproTime(fromMillis(updatedMS))
	if captureDueMS.Valid {
		c.captureDue = fromMillis(captureDueMS.Int64)
	}
	if c.Refunds, err = decodeRefunds(refunds); err != nil {
		return nil, fmt.Errorf("load refunds of %s: %w", id, err)
	}
	var ops []operationRow
	if err := json.Unmarshal(operations, &ops); err != nil {
		return nil, fmt.Errorf("load operations of %s: %w", id, err)
	}
	echoed := ""
	if c.echoReference {
		echoed = c.merchantRef
	}
	c.Authorizations, c.Captures = []pproAuthorization{}, []pproCapture{}
	for _, op := range ops {
		created, updated := pproTime(fromMillis(op.Created)), pproTime(fromMillis(op.Updated))
		switch op.Kind {
		case operationAuthorization:
			c.Authorizations = append(c.Authorizations, pproAuthorization{
				ID: op.ID, Amount: op.Amount, Status: op.Status, MerchantPaymentChargeReference: echoed,
				Failure: op.Failure, CreatedAt: created, UpdatedAt: updated,
			})
		case operationCapture:
			if c.capturedAt.IsZero() && op.Status == captureCaptured {
				c.capturedAt = fromMillis(op.Created)
			}
			c.Captures = append(c.Captures, pproCapture{
				ID: op.ID, Amount: op.Amount, Status: op.Status, Failure: op.Failure, CreatedAt: created, UpdatedAt: updated,
			})
		case operationDiscard:
			c.discards = append(c.discards, pproDiscard{
				ID: op.ID, Status: op.Status, Type: op.DiscardType, CreatedAt: created, UpdatedAt: updated,
			})
		}
	}
	return c, nil
}

// setPPROChargeStatus changes a charge's status and failure; a charge that
// had a capture due no longer has one.
func setPPROChargeStatus(ctx context.Context, q simkit.Querier, id, status string, failure *pproFailure, at time.Time) error {
	f, err := simkit.NullJSON(failure)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `
		UPDATE ppro_charges SET status = ?, failure = ?, capture_due_ms = NULL, updated_ms = ? WHERE id = ?`,
		status, f, pproMillis(at), id); err != nil {
		return fmt.Errorf("update charge %s: %w", id, err)
	}
	return nil
}

// setPPROChargeCapturePending records an authorized charge that waits for
// its capture, due at due.
func setPPROChargeCapturePending(ctx context.Context, q simkit.Querier, id string, due, at time.Time) error {
	if _, err := q.ExecContext(ctx, `
		UPDATE ppro_charges SET status = ?, failure = NULL, capture_due_ms = ?, updated_ms = ? WHERE id = ?`,
		chargeCapturePending, pproMillis(due), pproMillis(at), id); err != nil {
		return fmt.Errorf("update charge %s: %w", id, err)
	}
	return nil
}

func insertPPROOperation(ctx context.Context, q simkit.Querier, chargeID string, op pproOperation) error {
	f, err := simkit.NullJSON(op.failure)
	if err != nil {
		return err
	}
	amount := sql.NullInt64{Int64: op.amount, Valid: op.kind != operationDiscard}
	if _, err := q.ExecContext(ctx, `
		INSERT INTO ppro_charge_operations (id, charge_id, kind, status, amount, discard_type, failure, created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		op.id, chargeID, op.kind, op.status, amount, nullIfEmpty(op.discardType), f,
		pproMillis(op.created), pproMillis(op.updated)); err != nil {
		return fmt.Errorf("insert %s of %s: %w", op.kind, chargeID, err)
	}
	return nil
}

// setPPROOperationStatus changes an operation's status and failure.
func setPPROOperationStatus(ctx context.Context, q simkit.Querier, id, status string, failure *pproFailure, at time.Time) error {
	f, err := simkit.NullJSON(failure)
	if err != nil {
		return err
	}
	if _, err := q.ExecContext(ctx, `UPDATE ppro_charge_operations SET status = ?, failure = ?, updated_ms = ? WHERE id = ?`,
		status, f, pproMillis(at), id); err != nil {
		return fmt.Errorf("update operation %s: %w", id, err)
	}
	return nil
}

// nullIfEmpty stores "" as NULL, for optional text columns.
func nullIfEmpty(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// nullLabels stores a labels map, or NULL when there are none.
func nullLabels(labels map[string]string) (sql.NullString, error) {
	if len(labels) == 0 {
		return sql.NullString{}, nil
	}
	s, err := simkit.JSONText(labels)
	return sql.NullString{String: s, Valid: err == nil}, err
}

// unmarshalColumn decodes a JSON text column.
func unmarshalColumn(col string, v any) error {
	return json.Unmarshal([]byte(col), v)
}

// setPPROChargeDue records when a charge's pending authorization settles
// (column settle_due_ms) or when it is charged back (chargeback_due_ms).
func setPPROChargeDue(ctx context.Context, q simkit.Querier, id, column string, due time.Time) error {
	if column != "settle_due_ms" && column != "chargeback_due_ms" {
		return fmt.Errorf("set charge %s due: unknown column %q", id, column)
	}
	if _, err := q.ExecContext(ctx, `UPDATE ppro_charges SET `+column+` = ? WHERE id = ?`, pproMillis(due), id); err != nil {
		return fmt.Errorf("set charge %s due: %w", id, err)
	}
	return nil
}
