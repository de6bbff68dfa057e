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

// ErrTooMuch refuses a refund larger than what is left of the charge.
var ErrTooMuch = errors.New("more than what is left to refund")

// ErrNotPaid refuses a refund of a charge that took no money.
var ErrNotPaid = errors.New("the charge took no money")

// RefundReasons are why a merchant refunds, as codes, in the order the
// dashboard offers them; RefundReasonWords says each to a shopper.
var RefundReasons = []string{"requested", "duplicate", "not_received", "service", "goodwill", "other"}

// RefundReasonWords is a refund reason in words the shopper may read, or
// "" for a code that is not one of RefundReasons.
func RefundReasonWords(code string) string {
	switch code {
	case "requested":
		return "You asked for it"
	case "duplicate":
		return "A payment taken twice"
	case "not_received":
		return "Something you paid for did not reach you"
	case "service":
		return "A problem with our service"
	case "goodwill":
		return "A goodwill gesture"
	case "other":
		return "Another reason"
	}
	return ""
}

// Refund is a refund of a charge, written before the provider is called.
type Refund struct {
	ID             int64
	ChargeID       int64
	Amount         payments.Money
	IdempotencyKey string
	ProviderRef    string
	Status         payments.RefundState
	ProviderStatus string
	FailureReason  string
	LastError      string
	// Reason is why the merchant refunded, one of RefundReasons (empty
	// for refunds from before it was asked); Note the merchant's own
	// words, never shown to the shopper.
	Reason string
	Note   string
	// CreatedAt and UpdatedAt are on the clock rows are stamped with (the
	// demo clock in a demo); CreatedRealAt is when the row was written in
	// real time (zero for rows from before it was kept), since a
	// provider's idempotency key lapses in real time too.
	CreatedAt     time.Time
	UpdatedAt     time.Time
	CreatedRealAt time.Time
}

const refundColumns = `r.id, r.charge_id, r.amount, c.currency, r.idempotency_key, r.provider_ref, r.status, r.provider_status,
	r.failure_reason, r.last_error, r.reason, r.reason_note, r.created_at, r.updated_at, r.created_real_at`

func scanRefund(sc interface{ Scan(...any) error }) (Refund, error) {
	var r Refund
	var ref, createdReal sql.NullString
	var created, updated string
	err := sc.Scan(&r.ID, &r.ChargeID, &r.Amount.Amount, &r.Amount.Currency, &r.IdempotencyKey, &ref, &r.Status,
		&r.ProviderStatus, &r.FailureReason, &r.LastError, &r.Reason, &r.Note, &created, &updated, &createdReal)
	r.ProviderRef, r.CreatedAt, r.UpdatedAt = ref.String, parseTime(created), parseTime(updated)
	if createdReal.Valid {
		r.CreatedRealAt = parseTime(createdReal.String)
	}
	return r, err
}

func findRefund(ctx context.Context, q rowQuerier, where string, args ...any) (Refund, error) {
	r, err := scanRefund(q.QueryRowContext(ctx, `SELECT `+refundColumns+` FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Refund{}, ErrNotFound
	}
	return r, err
}

// RealNow is the real time the store measures leases and refunds' key
// lives on (see LeaseClock), whatever the demo clock says.
func (s *Store) RealNow() time.Time { return s.real() }

// RefundByID returns a refund.
func (s *Store) RefundByID(ctx context.Context, id int64) (Refund, error) {
	return findRefund(ctx, s.db, `r.id = ?`, id)
}

// RefundByProviderRef finds a refund by the provider's id (re_…, refund_…).
func (s *Store) RefundByProviderRef(ctx context.Context, ref string) (Refund, error) {
	return findRefund(ctx, s.db, `r.provider_ref = ?`, ref)
}

// RefundByKey finds a refund by its idempotency key, which is also our
// reference at the provider.
func (s *Store) RefundByKey(ctx context.Context, key string) (Refund, error) {
	return findRefund(ctx, s.db, `r.idempotency_key = ?`, key)
}

// Refunds returns every refund of a mandate's charges, oldest first.
func (s *Store) Refunds(ctx context.Context, mandateID string) ([]Refund, error) {
	return queryRefunds(ctx, s.db, `c.mandate_id = ? ORDER BY r.id`, mandateID)
}

// PendingRefunds returns refunds still pending, last touched before
// olderThan, leaving out those sent less than InFlightFor ago in real time
// (see PendingCharges).
func (s *Store) PendingRefunds(ctx context.Context, olderThan time.Time, limit int) ([]Refund, error) {
	return queryRefunds(ctx, s.db, `r.status = 'pending' AND r.updated_at < ?
		AND (r.last_sent_real_at IS NULL OR r.last_sent_real_at < ?) ORDER BY r.updated_at LIMIT ?`,
		olderThan.UTC().Format(timeLayout), s.real().Add(-InFlightFor).UTC().Format(timeLayout), limit)
}

func queryRefunds(ctx context.Context, q rowQuerier, where string, args ...any) ([]Refund, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+refundColumns+` FROM refunds r JOIN charges c ON c.id = r.charge_id WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("refunds: %w", err)
	}
	defer rows.Close()
	var out []Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, fmt.Errorf("refunds: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// CreateRefund writes a pending refund before the provider is called. The
// charge must have taken money, and the refund may not exceed what is left
// (its amount less the refunds pending or made). formToken, when given,
// must be the form's unused token for this charge: a form sent twice
// returns the refund it made with ErrTokenUsed. reason (one of
// RefundReasons, or empty) and note are the merchant's why, recorded with it.
func (s *Store) CreateRefund(ctx context.Context, chargeID, amount int64, formToken, reason, note string) (Refund, error) {
	if reason != "" && RefundReasonWords(reason) == "" {
		return Refund{}, fmt.Errorf("create refund: unknown reason %q", reason)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	defer tx.Rollback()
	ts := s.now().UTC().Format(timeLayout)
	// The charge is locked (PostgreSQL) while what is left is counted, so
	// two refunds at once never take more than it.
	c, err := findCharge(ctx, tx, `c.id = ?`+s.d.lockRows, chargeID)
	if err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	if formToken != "" {
		if _, err := useToken(ctx, tx, formToken, "refund:"+strconv.FormatInt(chargeID, 10), c.MandateID, ts); errors.Is(err, ErrTokenUsed) {
			if prev, ferr := findRefund(ctx, tx, `r.form_token = ?`, formToken); ferr == nil {
				return prev, ErrTokenUsed
			}
			return Refund{}, ErrTokenUsed
		} else if err != nil {
			return Refund{}, err
		}
	}
	if !c.Status.Paid() {
		tx.Commit()
		return Refund{}, ErrNotPaid
	}
	var committed int64
	if err := tx.QueryRowContext(ctx, `SELECT CAST(coalesce(sum(amount), 0) AS BIGINT) FROM refunds WHERE charge_id = ? AND status != 'failed'`,
		chargeID).Scan(&committed); err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	if left := c.Amount.Amount - max(committed, c.Refunded); amount <= 0 || amount > left {
		tx.Commit()
		return Refund{}, fmt.Errorf("%w (%s left)", ErrTooMuch, payments.Money{Amount: max(left, 0), Currency: c.Amount.Currency})
	}
	var token any
	if formToken != "" {
		token = formToken
	}
	var id int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO refunds (charge_id, amount, idempotency_key, status, form_token, reason, reason_note, created_at, updated_at, created_real_at)
		VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?) RETURNING id`, chargeID, amount, "unset/"+randomToken(), token, reason, truncate(note, 500), ts, ts,
		s.real().UTC().Format(timeLayout)).Scan(&id); err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	key := c.IdempotencyKey + "/refund/" + strconv.FormatInt(id, 10)
	if _, err := tx.ExecContext(ctx, `UPDATE refunds SET idempotency_key = ? WHERE id = ?`, key, id); err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	r, err := findRefund(ctx, tx, `r.id = ?`, id)
	if err != nil {
		return Refund{}, fmt.Errorf("create refund: %w", err)
	}
	return r, tx.Commit()
}

// ApplyRefund records the provider's word on a refund: pending →
// succeeded | failed, and succeeded → failed (Stripe documents a refund
// failing after it succeeded: the money never reached the shopper). A
// failed refund stays failed. Its charge's refunded total is then the sum
// of its succeeded refunds: a pending refund is not counted (although
// Stripe's amount_refunded counts it), and a failed one gives its amount
// back, so the merchant can refund it again.
func (s *Store) ApplyRefund(ctx context.Context, id int64, res payments.RefundResult) (Refund, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Refund{}, false, fmt.Errorf("apply refund %d: %w", id, err)
	}
	defer tx.Rollback()
	r, err := findRefund(ctx, tx, `r.id = ?`+s.d.lockOf("r"), id)
	if err != nil {
		return Refund{}, false, fmt.Errorf("apply refund %d: %w", id, err)
	}
	if res.Ref != "" && r.ProviderRef != "" && res.Ref != r.ProviderRef {
		return r, false, fmt.Errorf("apply refund %d: the provider reports %s, but the refund is %s", id, res.Ref, r.ProviderRef)
	}
	ts := s.now().UTC().Format(timeLayout)
	ref := r.ProviderRef
	if ref == "" {
		ref = res.Ref
	}
	status, reason, pstatus := r.Status, r.FailureReason, r.ProviderStatus
	if refundMoves(r.Status, res.State) {
		status, reason = res.State, res.Reason
	}
	if res.State == status {
		pstatus = res.ProviderStatus // the move, or news within a state; a stale report changes nothing
	}
	if status == r.Status && ref == r.ProviderRef && pstatus == r.ProviderStatus && r.LastError == "" {
		return r, false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE refunds SET provider_ref = nullif(?, ''), status = ?, provider_status = ?,
		failure_reason = ?, last_error = '', updated_at = ? WHERE id = ?`, ref, string(status), pstatus, reason, ts, id); err != nil {
		return Refund{}, false, fmt.Errorf("apply refund %d: %w", id, err)
	}
	if status != r.Status {
		if err := s.countRefunds(ctx, tx, r.ChargeID, ts); err != nil {
			return Refund{}, false, fmt.Errorf("apply refund %d: %w", id, err)
		}
	}
	if status == payments.RefundSucceeded && r.Status != payments.RefundSucceeded {
		if err := s.refundMessage(ctx, tx, r); err != nil {
			return Refund{}, false, fmt.Errorf("apply refund %d: %w", id, err)
		}
	}
	if r, err = findRefund(ctx, tx, `r.id = ?`, id); err != nil {
		return Refund{}, false, fmt.Errorf("apply refund %d: %w", id, err)
	}
	return r, true, tx.Commit()
}

// refundMoves says whether a refund in state from may move to state to:
// pending → succeeded | failed, succeeded → failed.
func refundMoves(from, to payments.RefundState) bool {
	switch from {
	case payments.RefundPending:
		return to == payments.RefundSucceeded || to == payments.RefundFailed
	case payments.RefundSucceeded:
		return to == payments.RefundFailed
	}
	return false
}

// countRefunds sets a paid charge's refunded total to the sum of its
// succeeded refunds and its state to match: refunded, partially_refunded,
// or back to succeeded when a refund failed after it had succeeded (the
// one move back that payments.ChargeState allows).
func (s *Store) countRefunds(ctx context.Context, tx *sql.Tx, chargeID int64, ts string) error {
	_, err := tx.ExecContext(ctx, `UPDATE charges SET
			refunded = `+s.d.least+`(amount, (SELECT CAST(coalesce(sum(amount), 0) AS BIGINT) FROM refunds WHERE charge_id = charges.id AND status = 'succeeded')),
			updated_at = ?
		WHERE id = ? AND status IN ('succeeded', 'partially_refunded', 'refunded')`, ts, chargeID)
	if err != nil {
		return fmt.Errorf("count refunds of charge %d: %w", chargeID, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE charges SET status = CASE WHEN refunded >= amount THEN 'refunded'
			WHEN refunded > 0 THEN 'partially_refunded' ELSE 'succeeded' END
		WHERE id = ? AND status IN ('succeeded', 'partially_refunded', 'refunded')`, chargeID)
	if err != nil {
		return fmt.Errorf("count refunds of charge %d: %w", chargeID, err)
	}
	return nil
}

// NoteRefundError records the latest problem reaching the provider about
// a pending refund it has not answered. A refund whose answer is recorded
// meanwhile (a late 409 while the first request finished) keeps its record.
func (s *Store) NoteRefundError(ctx context.Context, id int64, problem string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE refunds SET last_error = ?, updated_at = ?
		WHERE id = ? AND status = 'pending' AND provider_ref IS NULL`,
		truncate(problem, 500), s.now().UTC().Format(timeLayout), id)
	if err != nil {
		return fmt.Errorf("note error on refund %d: %w", id, err)
	}
	return nil
}
