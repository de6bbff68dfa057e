package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// Charge kinds and who started a charge.
const (
	KindInitial   = "initial"   // taken with the setup (PPRO's initialPaymentCharge)
	KindMerchant  = "merchant"  // the merchant's "charge now"
	KindScheduled = "scheduled" // the plan's schedule (billing)

	ByShopper  = "shopper"
	ByMerchant = "merchant"
	BySchedule = "schedule"
)

// ErrMandateInactive refuses a charge on a mandate that is not active.
var ErrMandateInactive = errors.New("the mandate is not active")

// ErrTokenUsed says a form's one-time token was already used: the form was
// sent twice. The charge or refund it made is returned with it.
var ErrTokenUsed = errors.New("this form was already sent")

// ErrOtherPayment refuses a provider's report about another payment than
// the one a charge row already names.
var ErrOtherPayment = errors.New("the provider reports another payment")

// ErrBadToken says a form's token was never issued for this purpose.
var ErrBadToken = errors.New("this form has expired or is not ours")

// Charge is a payment on a mandate.
type Charge struct {
	ID             int64
	MandateID      string
	Kind           string
	InitiatedBy    string
	Period         int // 0 when it pays no billing period
	Attempt        int
	Amount         payments.Money
	IdempotencyKey string // also our reference at the provider
	ProviderRef    string
	Status         payments.ChargeState
	ProviderStatus string
	FailureCode    string
	FailureReason  string
	Refunded       int64 // minor units
	LastError      string
	// Reason is why the merchant charged other than the plan's price (the
	// terms say each payment is the price); empty otherwise.
	Reason    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Refundable is what is left to refund.
func (c Charge) Refundable() int64 {
	if !c.Status.Paid() {
		return 0
	}
	return c.Amount.Amount - c.Refunded
}

// chargeColumnList is a charge's columns in the order nullCharge.dest
// scans them.
const chargeColumnList = "id, mandate_id, kind, initiated_by, period, attempt, amount, currency, " +
	"idempotency_key, provider_ref, status, provider_status, failure_code, failure_reason, refunded, " +
	"last_error, reason, created_at, updated_at"

// chargeColumns lists a charge's columns under alias a.
func chargeColumns(a string) string {
	return a + "." + strings.ReplaceAll(chargeColumnList, ", ", ", "+a+".")
}

// nullCharge scans a charge that may be absent (a LEFT JOIN).
type nullCharge struct {
	id                                                               sql.NullInt64
	mandateID, kind, by                                              sql.NullString
	period, attempt, amount, refunded                                sql.NullInt64
	currency, key, ref, status, pstatus, code, reason, lastErr, c, u sql.NullString
	why                                                              sql.NullString
}

func (n *nullCharge) dest() []any {
	return []any{&n.id, &n.mandateID, &n.kind, &n.by, &n.period, &n.attempt, &n.amount, &n.currency,
		&n.key, &n.ref, &n.status, &n.pstatus, &n.code, &n.reason, &n.refunded, &n.lastErr, &n.why, &n.c, &n.u}
}

func (n *nullCharge) charge() *Charge {
	if !n.id.Valid {
		return nil
	}
	return &Charge{
		ID: n.id.Int64, MandateID: n.mandateID.String, Kind: n.kind.String, InitiatedBy: n.by.String,
		Period: int(n.period.Int64), Attempt: int(n.attempt.Int64),
		Amount:         payments.Money{Amount: n.amount.Int64, Currency: n.currency.String},
		IdempotencyKey: n.key.String, ProviderRef: n.ref.String, Status: payments.ChargeState(n.status.String),
		ProviderStatus: n.pstatus.String, FailureCode: n.code.String, FailureReason: n.reason.String,
		Refunded: n.refunded.Int64, LastError: n.lastErr.String, Reason: n.why.String,
		CreatedAt: parseTime(n.c.String), UpdatedAt: parseTime(n.u.String),
	}
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func findCharge(ctx context.Context, q rowQuerier, where string, args ...any) (Charge, error) {
	var n nullCharge
	err := q.QueryRowContext(ctx, `SELECT `+chargeColumns("c")+` FROM charges c WHERE `+where, args...).Scan(n.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return Charge{}, ErrNotFound
	}
	if err != nil {
		return Charge{}, err
	}
	return *n.charge(), nil
}

// Charge returns a charge by our id.
func (s *Store) Charge(ctx context.Context, id int64) (Charge, error) {
	return findCharge(ctx, s.db, `c.id = ?`, id)
}

// ChargeByProviderRef finds a charge by the provider's id (pi_…, charge_…).
func (s *Store) ChargeByProviderRef(ctx context.Context, ref string) (Charge, error) {
	return findCharge(ctx, s.db, `c.provider_ref = ?`, ref)
}

// Charges returns a mandate's charges, oldest first.
func (s *Store) Charges(ctx context.Context, mandateID string) ([]Charge, error) {
	return queryCharges(ctx, s.db, `c.mandate_id = ? ORDER BY c.id`, mandateID)
}

// PendingCharges returns charges still pending that were last touched
// before olderThan (the app's clock), oldest first: a crash or a lost
// answer left them so. A charge sent less than InFlightFor ago in real time
// is left out whatever the app's clock says: its request may still be in
// flight, and a look-up now could find nothing and fail a payment that is
// about to be made.
func (s *Store) PendingCharges(ctx context.Context, olderThan time.Time, limit int) ([]Charge, error) {
	return queryCharges(ctx, s.db, `c.status = 'pending' AND c.updated_at < ?
		AND (c.last_sent_real_at IS NULL OR c.last_sent_real_at < ?) ORDER BY c.updated_at LIMIT ?`,
		olderThan.UTC().Format(timeLayout), s.real().Add(-InFlightFor).UTC().Format(timeLayout), limit)
}

func queryCharges(ctx context.Context, q rowQuerier, where string, args ...any) ([]Charge, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+chargeColumns("c")+` FROM charges c WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("charges: %w", err)
	}
	defer rows.Close()
	var out []Charge
	for rows.Next() {
		var n nullCharge
		if err := rows.Scan(n.dest()...); err != nil {
			return nil, fmt.Errorf("charges: %w", err)
		}
		out = append(out, *n.charge())
	}
	return out, rows.Err()
}

// NewCharge is a payment about to be asked of the provider.
type NewCharge struct {
	MandateID   string
	Kind        string // KindMerchant or KindScheduled
	InitiatedBy string
	Period      int // for KindScheduled
	Attempt     int // for KindScheduled
	Amount      payments.Money
	// FormToken is the one-time token of the merchant's form, if any.
	FormToken string
	// Reason is why the merchant charges other than the plan's price.
	Reason string
}

// CreateCharge writes a pending charge before its provider is called. The
// mandate must be active. Its idempotency key (the provider's, and our
// reference there) comes from the row: "mandate/<id>/period/<n>/attempt/<k>"
// for a scheduled one, "mandate/<id>/charge/<row id>" for the merchant's.
// A scheduled charge for a period and attempt that already exists is
// returned as it is (created false), so a worker that died in between
// resumes it with the same key. A form token already used returns the
// charge it made with ErrTokenUsed.
func (s *Store) CreateCharge(ctx context.Context, n NewCharge) (c Charge, created bool, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Charge{}, false, fmt.Errorf("create charge: %w", err)
	}
	defer tx.Rollback()
	ts := s.now().UTC().Format(timeLayout)

	var status mandate.Status
	signed := Mandate{ID: n.MandateID}
	// Locked (PostgreSQL): a revocation committing meanwhile waits, so a
	// charge is never written for a mandate that is no longer active.
	if err := tx.QueryRowContext(ctx, `SELECT status, amount, currency FROM mandates WHERE id = ?`+s.d.lockRows,
		n.MandateID).Scan(&status, &signed.Plan.Price.Amount, &signed.Plan.Price.Currency); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Charge{}, false, ErrNotFound
		}
		return Charge{}, false, fmt.Errorf("create charge: %w", err)
	}
	if n.FormToken != "" {
		used, err := useToken(ctx, tx, n.FormToken, "charge", n.MandateID, ts)
		if errors.Is(err, ErrTokenUsed) {
			prev, ferr := findCharge(ctx, tx, `c.form_token = ?`, n.FormToken)
			if ferr != nil {
				return Charge{}, false, ErrTokenUsed // used by a refused attempt: nothing was made
			}
			return prev, false, ErrTokenUsed
		}
		if err != nil || !used {
			return Charge{}, false, err
		}
	}
	var key string
	if n.Kind == KindScheduled {
		key = "mandate/" + n.MandateID + "/period/" + strconv.Itoa(n.Period) + "/attempt/" + strconv.Itoa(n.Attempt)
		if prev, err := findCharge(ctx, tx, `c.idempotency_key = ?`, key); err == nil {
			return prev, false, tx.Commit()
		} else if !errors.Is(err, ErrNotFound) {
			return Charge{}, false, fmt.Errorf("create charge: %w", err)
		}
	}
	if status != mandate.Active {
		if n.FormToken != "" {
			tx.Commit() // the token is spent on the refusal: a resend is not a new request
		}
		return Charge{}, false, fmt.Errorf("%w (it is %s)", ErrMandateInactive, status)
	}
	if n.Kind == KindMerchant && strings.TrimSpace(n.Reason) == "" {
		// The terms say each payment is the plan's price: another amount
		// is the merchant's call, with a reason on record.
		price, err := priceFor(ctx, tx, signed, s.now())
		if err != nil {
			return Charge{}, false, fmt.Errorf("create charge: %w", err)
		}
		if n.Amount != price.Money {
			return Charge{}, false, &OffTermsError{Price: price.Money, Amount: n.Amount}
		}
	}
	var period, attempt any
	if n.Kind == KindScheduled {
		period, attempt = n.Period, n.Attempt
	}
	var token any
	if n.FormToken != "" {
		token = n.FormToken
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency,
			idempotency_key, status, form_token, reason, created_at, updated_at)
		VALUES (?, ?, ?, ?, coalesce(?, 1), ?, ?, ?, 'pending', ?, ?, ?, ?) RETURNING id`,
		n.MandateID, n.Kind, n.InitiatedBy, period, attempt, n.Amount.Amount, n.Amount.Currency,
		"unset/"+randomToken(), token, truncate(n.Reason, 500), ts, ts).Scan(&id)
	if err != nil {
		return Charge{}, false, fmt.Errorf("create charge: %w", err)
	}
	if key == "" {
		key = "mandate/" + n.MandateID + "/charge/" + strconv.FormatInt(id, 10)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE charges SET idempotency_key = ? WHERE id = ?`, key, id); err != nil {
		return Charge{}, false, fmt.Errorf("create charge: %w", err)
	}
	c, err = findCharge(ctx, tx, `c.id = ?`, id)
	if err != nil {
		return Charge{}, false, fmt.Errorf("create charge: %w", err)
	}
	return c, true, tx.Commit()
}

// ApplyCharge records the provider's authoritative word on a charge. A
// charge only moves forward (pending → succeeded | failed); a stale report
// changes nothing. How much of it is refunded, and so whether it is
// partially refunded or refunded, is ApplyRefund's to say. The provider's
// reference is set once: a report about another payment is refused. The
// operations (authorizations, captures, refunds) are kept as reported.
func (s *Store) ApplyCharge(ctx context.Context, id int64, r payments.ChargeResult) (Charge, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Charge{}, false, fmt.Errorf("apply charge %d: %w", id, err)
	}
	defer tx.Rollback()
	c, changed, err := s.applyCharge(ctx, tx, id, r)
	if err != nil {
		return c, false, err
	}
	return c, changed, tx.Commit()
}

// applyCharge is ApplyCharge in tx. A report about another payment
// (ErrOtherPayment) is refused before anything is written, so that tx may
// go on with other charges.
func (s *Store) applyCharge(ctx context.Context, tx *sql.Tx, id int64, r payments.ChargeResult) (Charge, bool, error) {
	c, err := findCharge(ctx, tx, `c.id = ?`+s.d.lockRows, id)
	if err != nil {
		return Charge{}, false, fmt.Errorf("apply charge %d: %w", id, err)
	}
	if r.Ref != "" && c.ProviderRef != "" && r.Ref != c.ProviderRef {
		return c, false, fmt.Errorf("apply charge %d: %w: %s, but the charge is %s", id, ErrOtherPayment, r.Ref, c.ProviderRef)
	}
	ts := s.now().UTC().Format(timeLayout)
	ref := c.ProviderRef
	if ref == "" {
		ref = r.Ref
	}
	next := c
	next.ProviderRef = ref
	next.LastError = ""
	// What was refunded is the sum of our succeeded refunds (ApplyRefund
	// counts it), never the provider's figure: Stripe's amount_refunded
	// counts pending refunds, and a refund may still fail. A refunded
	// state reported here says only that the charge was paid.
	state := r.State
	if state.Paid() {
		state = payments.ChargeSucceeded
	}
	switch {
	case state.Rank() > c.Status.Rank():
		next.Status, next.ProviderStatus = state, r.ProviderStatus
		if state == payments.ChargeFailed {
			next.FailureCode, next.FailureReason = r.Code, r.Reason
		}
	case (state == c.Status || state.Paid() && c.Status.Paid()) && r.ProviderStatus != c.ProviderStatus:
		next.ProviderStatus = r.ProviderStatus // news within a state (CAPTURE_PENDING, a refund in progress)
	}
	if next.Status.Paid() {
		next.Status = refundedState(next)
	}
	changed := next != c
	if changed {
		_, err = tx.ExecContext(ctx, `UPDATE charges SET provider_ref = nullif(?, ''), status = ?, provider_status = ?, failure_code = ?,
			failure_reason = ?, refunded = ?, last_error = '', updated_at = ? WHERE id = ?`,
			next.ProviderRef, string(next.Status), next.ProviderStatus, next.FailureCode, next.FailureReason, next.Refunded, ts, id)
		if err != nil {
			return Charge{}, false, fmt.Errorf("apply charge %d: %w", id, err)
		}
		if next.Status.Paid() && !c.Status.Paid() {
			if err := s.receipt(ctx, tx, next, s.now().UTC()); err != nil {
				return Charge{}, false, fmt.Errorf("apply charge %d: %w", id, err)
			}
		}
	}
	for _, op := range r.Operations {
		res, err := tx.ExecContext(ctx, `INSERT INTO charge_operations (charge_id, kind, provider_ref, amount, status, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (charge_id, provider_ref) DO UPDATE SET status = excluded.status, amount = excluded.amount, updated_at = excluded.updated_at
			WHERE charge_operations.status != excluded.status OR charge_operations.amount != excluded.amount`,
			id, string(op.Kind), op.Ref, op.Amount, op.Status, ts)
		if err != nil {
			return Charge{}, false, fmt.Errorf("apply charge %d: operation %s: %w", id, op.Ref, err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			changed = true
		}
	}
	if next != c {
		// As written above, without reading it back.
		next.UpdatedAt = parseTime(ts)
		return next, changed, nil
	}
	return c, changed, nil
}

// refundedState is a paid charge's state for what was refunded of it.
func refundedState(c Charge) payments.ChargeState {
	switch {
	case c.Refunded >= c.Amount.Amount:
		return payments.ChargeRefunded
	case c.Refunded > 0:
		return payments.ChargePartiallyRefunded
	}
	return payments.ChargeSucceeded
}

// NoteChargeError records the latest problem reaching the provider about a
// pending charge (not a decline), so the record tells the truth while the
// same attempt is tried again.
func (s *Store) NoteChargeError(ctx context.Context, id int64, problem string) error {
	return s.noteChargeError(ctx, s.db, id, problem)
}

func (s *Store) noteChargeError(ctx context.Context, q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}, id int64, problem string) error {
	// Only on a pending charge: a concurrent call's answer (a 409 while
	// the first request ran) must not mark a charge that has its outcome.
	_, err := q.ExecContext(ctx, `UPDATE charges SET last_error = ?, updated_at = ? WHERE id = ? AND status = 'pending'`,
		truncate(problem, 500), s.now().UTC().Format(timeLayout), id)
	if err != nil {
		return fmt.Errorf("note error on charge %d: %w", id, err)
	}
	return nil
}

// Operation is one of a charge's steps at the provider.
type Operation struct {
	Kind        payments.OperationKind
	ProviderRef string
	Amount      int64
	Status      string
	UpdatedAt   time.Time
}

// Operations returns the provider's steps of each of a mandate's charges,
// by charge id.
func (s *Store) Operations(ctx context.Context, mandateID string) (map[int64][]Operation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT o.charge_id, o.kind, o.provider_ref, o.amount, o.status, o.updated_at
		FROM charge_operations o JOIN charges c ON c.id = o.charge_id WHERE c.mandate_id = ?
		ORDER BY o.charge_id, `+s.d.operationOrder, mandateID)
	if err != nil {
		return nil, fmt.Errorf("operations of %s: %w", mandateID, err)
	}
	defer rows.Close()
	out := map[int64][]Operation{}
	for rows.Next() {
		var id int64
		var op Operation
		var at string
		if err := rows.Scan(&id, &op.Kind, &op.ProviderRef, &op.Amount, &op.Status, &at); err != nil {
			return nil, fmt.Errorf("operations of %s: %w", mandateID, err)
		}
		op.UpdatedAt = parseTime(at)
		out[id] = append(out[id], op)
	}
	return out, rows.Err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ChargeByKey finds a charge by its idempotency key, which is also our
// reference at the provider.
func (s *Store) ChargeByKey(ctx context.Context, key string) (Charge, error) {
	return findCharge(ctx, s.db, `c.idempotency_key = ?`, key)
}
