package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/payments"
)

// Billing states: active (paid up, or the next period not yet due), past
// due (a scheduled payment declined; retries on their way), ended (the
// last retry failed: ended for non-payment) and revoked (the mandate was
// withdrawn). Only forward: active ⇄ past_due, then ended or revoked.
const (
	BillingActive  = "active"
	BillingPastDue = "past_due"
	BillingEnded   = "ended"
	BillingRevoked = "revoked"
)

// startBilling begins billing a mandate that has just become active: period
// 1 is due at once (anchored now); a first payment taken with the setup is
// that period's first attempt, which the worker finds before charging.
func startBilling(ctx context.Context, tx *sql.Tx, mandateID string, now time.Time) error {
	ts := now.Format(timeLayout)
	// The mandate's provider and creation time are copied for the merchant's
	// list (see migration 0007).
	res, err := tx.ExecContext(ctx, `INSERT INTO billing (mandate_id, provider, mandate_created_at, state, anchor_at, next_period, next_due_at, updated_at)
		SELECT id, provider, created_at, 'active', ?, 1, ?, ? FROM mandates WHERE id = ?
		ON CONFLICT (mandate_id) DO NOTHING`, ts, ts, ts, mandateID)
	if err != nil {
		return fmt.Errorf("start billing: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return addBillingEvent(ctx, tx, mandateID, "", BillingActive, 1, "billing starts: period 1 is due", ts)
}

// stopBilling ends billing for a revoked mandate.
func (s *Store) stopBilling(ctx context.Context, tx *sql.Tx, mandateID, detail, ts string) error {
	var from string
	var period int
	err := tx.QueryRowContext(ctx, `SELECT state, next_period FROM billing WHERE mandate_id = ?`+s.d.lockRows, mandateID).Scan(&from, &period)
	if err == sql.ErrNoRows || from == BillingEnded || from == BillingRevoked {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop billing: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE billing SET state = 'revoked', lease_owner = NULL, lease_until = NULL, updated_at = ?
		WHERE mandate_id = ?`, ts, mandateID); err != nil {
		return fmt.Errorf("stop billing: %w", err)
	}
	return addBillingEvent(ctx, tx, mandateID, from, BillingRevoked, period, detail, ts)
}

func addBillingEvent(ctx context.Context, tx *sql.Tx, mandateID, from, to string, period int, detail, ts string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO billing_events (mandate_id, from_state, to_state, period, detail, created_at)
		VALUES (?, ?, ?, ?, ?, ?)`, mandateID, from, to, period, truncate(detail, 500), ts)
	if err != nil {
		return fmt.Errorf("billing history: %w", err)
	}
	return nil
}

// EndedByPriceChange begins the billing history's detail of an end that a
// price change caused (an exact-amount agreement's period due at a new
// price), as against an end for non-payment: the worker writes it, and
// the pages that say why billing ended read it with EndedByPrice.
const EndedByPriceChange = "ended by a price change"

// EndedByPrice reports whether an end's detail says a price change caused it.
func EndedByPrice(detail string) bool { return strings.HasPrefix(detail, EndedByPriceChange) }

// BillingEnd is the end in a billing history (oldest first), if billing
// ended: billing ends once.
func BillingEnd(events []BillingEvent) (BillingEvent, bool) {
	for _, e := range slices.Backward(events) {
		if e.To == BillingEnded {
			return e, true
		}
	}
	return BillingEvent{}, false
}

// ErrLeaseLost says a worker's claim on a mandate's billing expired and
// another took it: the stale holder must not write.
var ErrLeaseLost = errors.New("the billing lease was lost")

// Billing is where an active mandate's payments stand.
type Billing struct {
	MandateID  string
	State      string
	AnchorAt   time.Time
	NextPeriod int
	NextDueAt  time.Time
	Failures   int // declined attempts of NextPeriod
	LeaseOwner string
	LeaseUntil time.Time
	Transient  int // times in a row the provider could not be reached
	LastError  string
	UpdatedAt  time.Time
	// CancelRequestedAt is when the merchant asked to cancel at the end of
	// the paid period (zero: not asked): the period due at NextDueAt is
	// not charged; the mandate is revoked then.
	CancelRequestedAt time.Time
}

const billingColumns = `mandate_id, state, anchor_at, next_period, next_due_at, failures, coalesce(lease_owner, ''),
	coalesce(lease_until, ''), transient, last_error, updated_at, coalesce(cancel_requested_at, '')`

func scanBilling(sc interface{ Scan(...any) error }) (Billing, error) {
	var b Billing
	var anchor, due, until, updated, cancel string
	err := sc.Scan(&b.MandateID, &b.State, &anchor, &b.NextPeriod, &due, &b.Failures, &b.LeaseOwner, &until,
		&b.Transient, &b.LastError, &updated, &cancel)
	b.AnchorAt, b.NextDueAt, b.UpdatedAt = parseTime(anchor), parseTime(due), parseTime(updated)
	if until != "" {
		b.LeaseUntil = parseTime(until)
	}
	if cancel != "" {
		b.CancelRequestedAt = parseTime(cancel)
	}
	return b, err
}

// Billing returns a mandate's billing, or ErrNotFound when it was never
// active.
func (s *Store) Billing(ctx context.Context, mandateID string) (Billing, error) {
	b, err := scanBilling(s.db.QueryRowContext(ctx, `SELECT `+billingColumns+` FROM billing WHERE mandate_id = ?`, mandateID))
	if errors.Is(err, sql.ErrNoRows) {
		return Billing{}, ErrNotFound
	}
	if err != nil {
		return Billing{}, fmt.Errorf("billing of %s: %w", mandateID, err)
	}
	return b, nil
}

// BillingEvent is one change of a mandate's billing state.
type BillingEvent struct {
	From, To string
	Period   int
	Detail   string
	At       time.Time
}

// BillingEvents returns a mandate's billing history, oldest first.
func (s *Store) BillingEvents(ctx context.Context, mandateID string) ([]BillingEvent, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT from_state, to_state, period, detail, created_at FROM billing_events
		WHERE mandate_id = ? ORDER BY id`, mandateID)
	if err != nil {
		return nil, fmt.Errorf("billing history of %s: %w", mandateID, err)
	}
	defer rows.Close()
	var out []BillingEvent
	for rows.Next() {
		var e BillingEvent
		var at string
		if err := rows.Scan(&e.From, &e.To, &e.Period, &e.Detail, &at); err != nil {
			return nil, fmt.Errorf("billing history of %s: %w", mandateID, err)
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ClaimDueBilling claims, for owner, up to limit active or past-due
// billings whose next payment is due at now (the billing clock) and that
// nobody holds (or whose holder's lease expired: it died). The lease is
// measured in real time (see LeaseClock), never on the billing clock. The
// claim is one statement, so two workers never claim the same billing (on
// PostgreSQL, rows another instance is claiming are skipped, not waited for).
func (s *Store) ClaimDueBilling(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Billing, error) {
	real := s.real().UTC()
	rows, err := s.db.QueryContext(ctx, s.claimDueQuery(), owner, real.Add(lease).Format(timeLayout), now.UTC().Format(timeLayout),
		real.Format(timeLayout), limit)
	if err != nil {
		return nil, fmt.Errorf("claim due billing: %w", err)
	}
	defer rows.Close()
	var out []Billing
	for rows.Next() {
		b, err := scanBilling(rows)
		if err != nil {
			return nil, fmt.Errorf("claim due billing: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// claimDueQuery is ClaimDueBilling's statement: it walks the due
// billings in order (billing_due), never every active one.
func (s *Store) claimDueQuery() string {
	return `UPDATE billing SET lease_owner = ?, lease_until = ?
		WHERE mandate_id IN (SELECT mandate_id FROM billing` + s.d.billingDue + ` WHERE state IN ('active', 'past_due') AND next_due_at <= ?
			AND (lease_until IS NULL OR lease_until < ?) ORDER BY next_due_at LIMIT ?` + s.d.skipLocked + `)
		RETURNING ` + billingColumns
}

// BillingInProgress counts the billings due at now that a worker holds
// right now (its lease not expired): periods another process is charging.
func (s *Store) BillingInProgress(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM billing`+s.d.billingDue+` WHERE state IN ('active', 'past_due')
		AND next_due_at <= ? AND lease_owner IS NOT NULL AND lease_until >= ?`,
		now.UTC().Format(timeLayout), s.real().UTC().Format(timeLayout)).Scan(&n); err != nil {
		return 0, fmt.Errorf("billing in progress: %w", err)
	}
	return n, nil
}

// BillingOutcome is what a worker learned about a claimed billing's due
// period.
type BillingOutcome struct {
	// To is the new state; Period the period to charge next; NextDueAt when.
	To        string
	Period    int
	NextDueAt time.Time
	Failures  int
	Detail    string
	// Declined is the attempt whose decline this outcome accounts for, if
	// any: the shopper is told about it (and, when billing ends, of the
	// end) in the same transaction.
	Declined *Charge
	// EndedBy is the price that ends billing (an exact-amount agreement's
	// period due at a new price), if that is why it ends: the shopper is
	// told in the same transaction.
	EndedBy *Price
}

// SettleBilling records what became of a claimed billing's payment and
// releases the claim, if owner still holds it (else ErrLeaseLost). A change
// of state, of period or of the count of declines is a row in the billing
// history. Billing never moves back from
// ended or revoked.
func (s *Store) SettleBilling(ctx context.Context, mandateID, owner string, o BillingOutcome, now time.Time) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("settle billing of %s: %w", mandateID, err)
	}
	defer tx.Rollback()
	if err := s.settleBilling(ctx, tx, mandateID, owner, o, now); err != nil {
		return err
	}
	return tx.Commit()
}

// settleBilling is SettleBilling in tx. A lease lost (ErrLeaseLost) is
// found before anything is written, so that tx may go on with other
// billings.
func (s *Store) settleBilling(ctx context.Context, tx *sql.Tx, mandateID, owner string, o BillingOutcome, now time.Time) error {
	var from string
	var period, failures int
	err := tx.QueryRowContext(ctx, `SELECT state, next_period, failures FROM billing WHERE mandate_id = ? AND lease_owner = ?`+s.d.lockRows,
		mandateID, owner).Scan(&from, &period, &failures)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrLeaseLost
	}
	if err != nil {
		return fmt.Errorf("settle billing of %s: %w", mandateID, err)
	}
	if from == BillingEnded || from == BillingRevoked {
		return nil
	}
	ts := now.UTC().Format(timeLayout)
	if _, err := tx.ExecContext(ctx, `UPDATE billing SET state = ?, next_period = ?, next_due_at = ?, failures = ?,
		transient = 0, last_error = '', lease_owner = NULL, lease_until = NULL, updated_at = ? WHERE mandate_id = ?`,
		o.To, o.Period, o.NextDueAt.UTC().Format(timeLayout), o.Failures, ts, mandateID); err != nil {
		return fmt.Errorf("settle billing of %s: %w", mandateID, err)
	}
	// A period paid moves on with the same state, and each retry's decline
	// keeps the state past due: both are entries of the history too.
	if o.To != from || o.Period != period || o.Failures != failures {
		if err := addBillingEvent(ctx, tx, mandateID, from, o.To, period, o.Detail, ts); err != nil {
			return err
		}
	}
	if c := o.Declined; c != nil {
		var err error
		switch o.To {
		case BillingPastDue:
			err = s.notify(ctx, tx, mandateID, MsgDeclined, "charge/"+strconv.FormatInt(c.ID, 10)+"/declined", DeclinedData{
				ChargeID: c.ID, Period: o.Period, Amount: c.Amount, Failures: o.Failures, Reason: c.FailureReason, RetryAt: o.NextDueAt.UTC()})
		case BillingEnded:
			err = s.notify(ctx, tx, mandateID, MsgEnded, "mandate/"+mandateID+"/ended", EndedData{
				Period: o.Period, Amount: c.Amount, Failures: o.Failures, At: now.UTC()})
		}
		if err != nil {
			return fmt.Errorf("settle billing of %s: %w", mandateID, err)
		}
	}
	if p := o.EndedBy; p != nil && o.To == BillingEnded {
		var old payments.Money
		if err := tx.QueryRowContext(ctx, `SELECT amount, currency FROM mandates WHERE id = ?`, mandateID).Scan(&old.Amount, &old.Currency); err != nil {
			return fmt.Errorf("settle billing of %s: %w", mandateID, err)
		}
		if err := s.notify(ctx, tx, mandateID, MsgEnded, "mandate/"+mandateID+"/ended", EndedData{
			Period: o.Period, Amount: old, At: now.UTC(), NewPrice: p.Money}); err != nil {
			return fmt.Errorf("settle billing of %s: %w", mandateID, err)
		}
	}
	return nil
}

// PostponeBilling releases a claimed billing until notBefore because the
// provider could not be reached: the same attempt is tried again then, and
// no retry of the schedule is used up. The wait (notBefore-now) is kept in
// real time, as leases are: a provider comes back in real time, whatever
// the demo clock does.
func (s *Store) PostponeBilling(ctx context.Context, mandateID, owner string, notBefore time.Time, problem string, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE billing SET lease_owner = NULL, lease_until = ?, transient = transient + 1,
		last_error = ?, updated_at = ? WHERE mandate_id = ? AND lease_owner = ?`,
		s.real().UTC().Add(notBefore.Sub(now)).Format(timeLayout), truncate(problem, 500), now.UTC().Format(timeLayout), mandateID, owner)
	if err != nil {
		return fmt.Errorf("postpone billing of %s: %w", mandateID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrLeaseLost
	}
	return nil
}

// DemoClockOffset is how far the demo clock runs ahead of real time.
func (s *Store) DemoClockOffset(ctx context.Context) (time.Duration, error) {
	var sec int64
	if err := s.db.QueryRowContext(ctx, `SELECT offset_seconds FROM demo_clock WHERE id = 1`).Scan(&sec); err != nil {
		return 0, fmt.Errorf("demo clock: %w", err)
	}
	return time.Duration(sec) * time.Second, nil
}

// AdvanceDemoClock moves the stored demo clock by (whole seconds) and
// returns the new offset. It is one increment in SQL, never a write of a
// process's own reading: two processes that each advance a month move the
// clock two months, whatever either had read before. The move is recorded
// (clock_moves, for the activity log) in the same transaction.
func (s *Store) AdvanceDemoClock(ctx context.Context, by time.Duration) (time.Duration, error) {
	return s.moveDemoClock(ctx, false, `offset_seconds = `+s.d.greatest+`(offset_seconds + ?, 0)`, int64(by/time.Second))
}

// ResetDemoClock brings the stored demo clock back to real time, recording
// the move when there was one.
func (s *Store) ResetDemoClock(ctx context.Context) error {
	_, err := s.moveDemoClock(ctx, true, `offset_seconds = 0`)
	return err
}

// moveDemoClock sets the demo clock's offset (set, with its args) and
// records the move, if it moved, with the app's time before and after:
// the real time now plus the old and the new offset.
func (s *Store) moveDemoClock(ctx context.Context, reset bool, set string, args ...any) (time.Duration, error) {
	what := "advance"
	if reset {
		what = "reset"
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("%s the demo clock: %w", what, err)
	}
	defer tx.Rollback()
	var old, sec int64
	if err := tx.QueryRowContext(ctx, `SELECT offset_seconds FROM demo_clock WHERE id = 1`+s.d.lockRows).Scan(&old); err != nil {
		return 0, fmt.Errorf("%s the demo clock: %w", what, err)
	}
	if err := tx.QueryRowContext(ctx, `UPDATE demo_clock SET `+set+` WHERE id = 1 RETURNING offset_seconds`, args...).Scan(&sec); err != nil {
		return 0, fmt.Errorf("%s the demo clock: %w", what, err)
	}
	if sec != old {
		flag := 0
		if reset {
			flag = 1
		}
		real := s.real().UTC()
		from, to := real.Add(time.Duration(old)*time.Second), real.Add(time.Duration(sec)*time.Second)
		if _, err := tx.ExecContext(ctx, `INSERT INTO clock_moves (from_at, to_at, by_seconds, reset) VALUES (?, ?, ?, ?)`,
			from.Format(timeLayout), to.Format(timeLayout), sec-old, flag); err != nil {
			return 0, fmt.Errorf("%s the demo clock: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("%s the demo clock: %w", what, err)
	}
	return time.Duration(sec) * time.Second, nil
}
