package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// The worker charges the due periods of a claimed batch of billings
// together: their charge rows are written in one transaction before any
// is sent (CreateScheduledCharges), the calls run a few at a time, and the
// answers that have come back are recorded, and their billings settled,
// in one transaction each time (InBillingTx). The rules are CreateCharge's,
// ApplyCharge's and SettleBilling's; only the commits are shared.

// ScheduledKey is a scheduled charge's idempotency key (also our reference
// at the provider): one per period and attempt, whatever process writes it.
func ScheduledKey(mandateID string, period, attempt int) string {
	return "mandate/" + mandateID + "/period/" + strconv.Itoa(period) + "/attempt/" + strconv.Itoa(attempt)
}

// MaxBillingBatch bounds the billings of one batch (CreateScheduledCharges,
// BillingDues): their rows are in one statement, and SQLite allows 32,766
// parameters, PostgreSQL 65,535 (an insert takes 15 a row).
const MaxBillingBatch = 500

// CreateScheduledCharges writes, in one transaction, the pending rows of
// several scheduled charges (KindScheduled, by the schedule) before any of
// them is sent, each marked sent as MarkChargeSent marks one: they are sent
// next. Each follows CreateCharge's rules: the mandate must be active (its
// row is locked meanwhile on PostgreSQL, so a revocation committing
// meanwhile waits), and a charge whose key (period and attempt) exists
// already is returned as it is, so a worker that died in between resumes
// it with the same key. It returns, in the order of ns, each charge or
// why it was not written (ErrMandateInactive, ErrNotFound); err is the
// transaction's, when nothing was written.
func (s *Store) CreateScheduledCharges(ctx context.Context, ns []NewCharge) (cs []Charge, errs []error, err error) {
	if len(ns) > MaxBillingBatch {
		return nil, nil, fmt.Errorf("create scheduled charges: %d at once, at most %d", len(ns), MaxBillingBatch)
	}
	cs, errs = make([]Charge, len(ns)), make([]error, len(ns))
	if len(ns) == 0 {
		return cs, errs, nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
	}
	defer tx.Rollback()
	now := s.now().UTC().Format(timeLayout)
	real := s.real().UTC().Format(timeLayout)

	ids, keys := make([]any, 0, len(ns)), make([]any, len(ns))
	seen := map[string]bool{}
	for i, n := range ns {
		if n.Kind != KindScheduled || n.FormToken != "" {
			return nil, nil, fmt.Errorf("create scheduled charges: %s is not a scheduled charge", n.MandateID)
		}
		keys[i] = ScheduledKey(n.MandateID, n.Period, n.Attempt)
		if !seen[n.MandateID] {
			seen[n.MandateID] = true
			ids = append(ids, n.MandateID)
		}
	}
	// In one order, so that two transactions locking mandates take turns
	// rather than deadlock.
	status := make(map[string]mandate.Status, len(ids))
	rows, err := tx.QueryContext(ctx, `SELECT id, status FROM mandates WHERE id IN `+billingIn(len(ids))+` ORDER BY id`+s.d.lockRows, ids...)
	if err != nil {
		return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
	}
	for rows.Next() {
		var id string
		var st mandate.Status
		if err := rows.Scan(&id, &st); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
		}
		status[id] = st
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
	}
	prev, err := chargesByKey(ctx, tx, keys)
	if err != nil {
		return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
	}

	var values strings.Builder
	var args []any
	var resent []any // existing pending charges, sent again
	for i, n := range ns {
		key := keys[i].(string)
		if c, ok := prev[key]; ok {
			cs[i] = c
			if c.Status == payments.ChargePending {
				resent = append(resent, c.ID)
			}
			continue
		}
		st, ok := status[n.MandateID]
		switch {
		case !ok:
			errs[i] = ErrNotFound
			continue
		case st != mandate.Active:
			errs[i] = fmt.Errorf("%w (it is %s)", ErrMandateInactive, st)
			continue
		}
		if len(args) > 0 {
			values.WriteString(", ")
		}
		values.WriteString("(?, 'scheduled', ?, ?, ?, ?, ?, ?, 'pending', '', ?, ?, ?, ?, ?)")
		args = append(args, n.MandateID, n.InitiatedBy, n.Period, n.Attempt, n.Amount.Amount, n.Amount.Currency, key,
			now, now, now, real, real)
	}
	if len(args) > 0 {
		// DO NOTHING: a key written meanwhile by another process (whose
		// lease on the billing had expired, say) is read back below as it is.
		rows, err := tx.QueryContext(ctx, `INSERT INTO charges (mandate_id, kind, initiated_by, period, attempt, amount, currency,
				idempotency_key, status, reason, created_at, updated_at, first_sent_at, first_sent_real_at, last_sent_real_at)
			VALUES `+values.String()+` ON CONFLICT DO NOTHING RETURNING `+chargeColumnList, args...)
		if err != nil {
			return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
		}
		made := map[string]Charge{}
		for rows.Next() {
			var n nullCharge
			if err := rows.Scan(n.dest()...); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
			}
			made[n.key.String] = *n.charge()
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
		}
		var lost []any
		for i := range ns {
			if c, ok := made[keys[i].(string)]; ok {
				cs[i] = c
			} else if cs[i].ID == 0 && errs[i] == nil {
				lost = append(lost, keys[i])
			}
		}
		if len(lost) > 0 {
			raced, err := chargesByKey(ctx, tx, lost)
			if err != nil {
				return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
			}
			for i := range ns {
				if c, ok := raced[keys[i].(string)]; ok && cs[i].ID == 0 {
					cs[i] = c
					if c.Status == payments.ChargePending {
						resent = append(resent, c.ID)
					}
				}
			}
		}
	}
	if len(resent) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE charges SET first_sent_at = coalesce(first_sent_at, ?),
			first_sent_real_at = coalesce(first_sent_real_at, ?), last_sent_real_at = ? WHERE id IN `+billingIn(len(resent)),
			append([]any{now, real, real}, resent...)...); err != nil {
			return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, nil, fmt.Errorf("create scheduled charges: %w", err)
	}
	return cs, errs, nil
}

// chargesByKey reads the charges with these idempotency keys, by key.
func chargesByKey(ctx context.Context, q rowQuerier, keys []any) (map[string]Charge, error) {
	found, err := queryCharges(ctx, q, `c.idempotency_key IN `+billingIn(len(keys)), keys...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Charge, len(found))
	for _, c := range found {
		out[c.IdempotencyKey] = c
	}
	return out, nil
}

// billingIn is "(?, ?, …)" for n values.
func billingIn(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

// BillingTx is a write transaction in which the worker records several
// providers' answers and settles their billings, as ApplyCharge,
// SettleBilling and NoteChargeError do one at a time. A refusal of one
// item (ErrOtherPayment, ErrLeaseLost) writes nothing and leaves the
// transaction usable for the others; any other error ends it (on
// PostgreSQL a failed statement aborts the transaction): InBillingTx then
// returns it, and nothing of the batch is written.
type BillingTx struct {
	s  *Store
	tx *sql.Tx
}

// InBillingTx runs f in one write transaction, committed when f returns nil.
func (s *Store) InBillingTx(ctx context.Context, f func(*BillingTx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("billing transaction: %w", err)
	}
	defer tx.Rollback()
	if err := f(&BillingTx{s: s, tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("billing transaction: %w", err)
	}
	return nil
}

// ApplyCharge is Store.ApplyCharge in the transaction.
func (b *BillingTx) ApplyCharge(ctx context.Context, id int64, r payments.ChargeResult) (Charge, bool, error) {
	return b.s.applyCharge(ctx, b.tx, id, r)
}

// SettleBilling is Store.SettleBilling in the transaction.
func (b *BillingTx) SettleBilling(ctx context.Context, mandateID, owner string, o BillingOutcome, now time.Time) error {
	return b.s.settleBilling(ctx, b.tx, mandateID, owner, o, now)
}

// NoteChargeError is Store.NoteChargeError in the transaction.
func (b *BillingTx) NoteChargeError(ctx context.Context, id int64, problem string) error {
	return b.s.noteChargeError(ctx, b.tx, id, problem)
}

// BillingDue is what a claimed billing's due period needs: its mandate,
// the period's attempts so far, oldest first (Charges' rows of the
// period), and the period's price (PriceFor at its due date).
type BillingDue struct {
	Mandate  Mandate
	Attempts []Charge
	Price    Price
}

// BillingDues reads what each of bs (billings claimed for a worker) needs,
// by mandate id, in three statements for the batch rather than three for
// each. A billing whose mandate is not found is left out.
func (s *Store) BillingDues(ctx context.Context, bs []Billing) (map[string]*BillingDue, error) {
	out := make(map[string]*BillingDue, len(bs))
	if len(bs) == 0 {
		return out, nil
	}
	if len(bs) > MaxBillingBatch {
		return nil, fmt.Errorf("billing dues: %d at once, at most %d", len(bs), MaxBillingBatch)
	}
	ids := make([]any, len(bs))
	for i, b := range bs {
		ids[i] = b.MandateID
	}
	in := billingIn(len(ids))
	rows, err := s.db.QueryContext(ctx, mandateQuery(`m.id IN `+in), ids...)
	if err != nil {
		return nil, fmt.Errorf("billing dues: %w", err)
	}
	for rows.Next() {
		m, err := scanMandate(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("billing dues: %w", err)
		}
		out[m.ID] = &BillingDue{Mandate: m, Price: Price{Money: m.Plan.Price}}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("billing dues: %w", err)
	}

	// The attempts of the period each billing is at.
	rows, err = s.db.QueryContext(ctx, `SELECT `+chargeColumns("c")+` FROM billing b
		JOIN charges c ON c.mandate_id = b.mandate_id AND c.period = b.next_period
		WHERE b.mandate_id IN `+in+` ORDER BY c.mandate_id, c.attempt`, ids...)
	if err != nil {
		return nil, fmt.Errorf("billing dues: %w", err)
	}
	for rows.Next() {
		var n nullCharge
		if err := rows.Scan(n.dest()...); err != nil {
			rows.Close()
			return nil, fmt.Errorf("billing dues: %w", err)
		}
		if d := out[n.mandateID.String]; d != nil {
			d.Attempts = append(d.Attempts, *n.charge())
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("billing dues: %w", err)
	}

	// PriceFor's rule, for each billing's due date: the latest price the
	// mandate was told of in effect by then (rows in that order, the last
	// that applies wins), else the price it signed up at.
	due := make(map[string]string, len(bs))
	for _, b := range bs {
		if d := out[b.MandateID]; d != nil {
			due[b.MandateID] = billing.Due(b.AnchorAt, d.Mandate.Plan.Interval, b.NextPeriod).UTC().Format(timeLayout)
		}
	}
	rows, err = s.db.QueryContext(ctx, `SELECT mandate_id, change_id, amount, currency, ends_agreement, effective_at
		FROM mandate_prices WHERE mandate_id IN `+in+` ORDER BY mandate_id, effective_at, change_id`, ids...)
	if err != nil {
		return nil, fmt.Errorf("billing dues: %w", err)
	}
	for rows.Next() {
		var id, effective string
		var p Price
		var ends int
		if err := rows.Scan(&id, &p.ChangeID, &p.Amount, &p.Currency, &ends, &effective); err != nil {
			rows.Close()
			return nil, fmt.Errorf("billing dues: %w", err)
		}
		if d := out[id]; d != nil && effective <= due[id] {
			p.EndsAgreement = ends == 1
			d.Price = p
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("billing dues: %w", err)
	}
	return out, nil
}
