package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"example.com/storefront/billing"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// Kinds of message to a shopper. Each is written to the outbox in the
// transaction of the event that causes it, with a key unique per event, and
// says what happened in Data (one of the types below, as JSON): facts as of
// the event, so a message delivered late still tells what happened then.
// What does not change (the mandate's plan, email, terms) is read when the
// message is rendered.
const (
	MsgConfirmed   = "confirmed"    // ConfirmedData: the mandate became active
	MsgReceipt     = "receipt"      // ReceiptData: a payment succeeded
	MsgDeclined    = "declined"     // DeclinedData: a scheduled payment declined; a retry follows
	MsgEnded       = "ended"        // EndedData: billing ended for non-payment
	MsgRevoked     = "revoked"      // RevokedData: the mandate was cancelled or revoked
	MsgRefund      = "refund"       // RefundData: a refund succeeded
	MsgDispute     = "dispute"      // DisputeData: a payment was disputed (only when the merchant wants it)
	MsgPriceChange = "price_change" // PriceChangeData: the plan's price changes
	MsgLink        = "link"         // LinkData: a fresh link to the shopper's page, asked for by the shopper
)

// ConfirmedData: the mandate was confirmed by the provider at At.
type ConfirmedData struct {
	At time.Time `json:"at"`
}

// ReceiptData is a payment's receipt. NextAt is zero when no payment
// follows (a mandate no longer billed).
type ReceiptData struct {
	ChargeID   int64          `json:"charge_id"`
	Amount     payments.Money `json:"amount"`
	PaidAt     time.Time      `json:"paid_at"`
	Period     int            `json:"period"` // 0 for a payment the merchant took outside the schedule
	NextAt     time.Time      `json:"next_at,omitzero"`
	NextAmount payments.Money `json:"next_amount"`
}

// DeclinedData is a declined scheduled payment: the Failures-th of its
// period; it is tried again at RetryAt.
type DeclinedData struct {
	ChargeID int64          `json:"charge_id"`
	Period   int            `json:"period"`
	Amount   payments.Money `json:"amount"`
	Failures int            `json:"failures"`
	Reason   string         `json:"reason"` // the provider's words, for the shopper
	RetryAt  time.Time      `json:"retry_at"`
}

// EndedData: billing ended at At, for non-payment after Failures declined
// attempts of Period, or, when NewPrice is set, because Period was due at
// a new price that the mandate's agreement (stating Amount exactly) cannot
// be charged.
type EndedData struct {
	Period   int            `json:"period"`
	Amount   payments.Money `json:"amount"`
	Failures int            `json:"failures"`
	At       time.Time      `json:"at"`
	NewPrice payments.Money `json:"new_price,omitzero"`
}

// RevokedData: the mandate was withdrawn by By at At; no payment follows.
type RevokedData struct {
	By payments.Revoker `json:"by"`
	At time.Time        `json:"at"`
}

// RefundData is a refund that succeeded, of a payment taken at PaidAt.
type RefundData struct {
	RefundID     int64          `json:"refund_id"`
	ChargeID     int64          `json:"charge_id"`
	Amount       payments.Money `json:"amount"`
	ChargeAmount payments.Money `json:"charge_amount"`
	PaidAt       time.Time      `json:"paid_at"`
	At           time.Time      `json:"at"`
	Reason       string         `json:"reason,omitempty"` // one of RefundReasons; never the merchant's note
}

// DisputeData is a dispute opened on a payment taken at PaidAt.
type DisputeData struct {
	DisputeID int64          `json:"dispute_id"`
	ChargeID  int64          `json:"charge_id"`
	Amount    payments.Money `json:"amount"`
	PaidAt    time.Time      `json:"paid_at"`
	Reason    string         `json:"reason"`
}

// PriceChangeData is the notice of a price change: Old becomes New for
// payments due on or after EffectiveAt. EndsAgreement says the provider's
// agreement states the old amount exactly (PPRO, amountType EXACT), so it
// ends before the new price and the shopper is asked to approve again.
type PriceChangeData struct {
	ChangeID      int64          `json:"change_id"`
	Old           payments.Money `json:"old"`
	New           payments.Money `json:"new"`
	EffectiveAt   time.Time      `json:"effective_at"`
	FirstAt       time.Time      `json:"first_at"` // this mandate's first payment due at the new price
	EndsAgreement bool           `json:"ends_agreement"`
}

// LinkData: the shopper asked for a fresh link at At.
type LinkData struct {
	At time.Time `json:"at"`
}

// NotifyDisputes makes the store write a message to the shopper when one
// of their payments is disputed. It is off by default: whether to write to
// a shopper about their chargeback is the merchant's call.
func NotifyDisputes() Option { return func(s *Store) { s.notifyDisputes = true } }

// notify writes a message about a mandate to its shopper's email, inside
// tx (the transaction of the event), unless the mandate has no email.
func (s *Store) notify(ctx context.Context, tx *sql.Tx, mandateID, kind, key string, data any) error {
	var email string
	err := tx.QueryRowContext(ctx, `SELECT c.email FROM mandates m JOIN customers c ON c.id = m.customer_id WHERE m.id = ?`,
		mandateID).Scan(&email)
	if err != nil {
		return fmt.Errorf("message %s: %w", key, err)
	}
	if email == "" {
		return nil
	}
	_, err = s.enqueue(ctx, tx, NewMessage{Key: key, Kind: kind, MandateID: mandateID, To: email, Data: data})
	return err
}

// receipt writes a payment's receipt, in the transaction that recorded the
// payment as made. The next payment is the following period's, due by the
// billing's anchor, or the one billing waits for when the payment was the
// merchant's own; a first payment taken with the setup, before billing
// starts, dates the next one from itself (billing is anchored moments
// later, when the provider confirms).
func (s *Store) receipt(ctx context.Context, tx *sql.Tx, c Charge, paidAt time.Time) error {
	// What the receipt needs of the mandate, its shopper and its billing,
	// in one read: it is written with every payment the worker records.
	var status mandate.Status
	var email string
	var state, anchor, nextDue sql.NullString // NULL: billing has not started
	m := Mandate{ID: c.MandateID}
	err := tx.QueryRowContext(ctx, `SELECT m.status, m.interval, m.amount, m.currency, cu.email, b.state, b.anchor_at, b.next_due_at
		FROM mandates m JOIN customers cu ON cu.id = m.customer_id LEFT JOIN billing b ON b.mandate_id = m.id
		WHERE m.id = ?`, c.MandateID).Scan(&status, &m.Plan.Interval, &m.Plan.Price.Amount, &m.Plan.Price.Currency, &email,
		&state, &anchor, &nextDue)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("receipt of charge %d: %w", c.ID, err)
	}
	d := ReceiptData{ChargeID: c.ID, Amount: c.Amount, PaidAt: paidAt, Period: c.Period}
	switch {
	case !state.Valid:
		if status == mandate.Pending || status == mandate.Active {
			d.NextAt = billing.Due(paidAt, m.Plan.Interval, 2)
		}
	case state.String != BillingActive && state.String != BillingPastDue:
	case c.Period > 0:
		d.NextAt = billing.Due(parseTime(anchor.String), m.Plan.Interval, c.Period+1)
	default:
		d.NextAt = parseTime(nextDue.String)
	}
	if !d.NextAt.IsZero() {
		next, err := priceFor(ctx, tx, m, d.NextAt)
		if err != nil {
			return fmt.Errorf("receipt of charge %d: %w", c.ID, err)
		}
		if next.EndsAgreement {
			d.NextAt = time.Time{} // the agreement ends before it (the price change's notice said so)
		} else {
			d.NextAmount = next.Money
		}
	}
	if email == "" {
		return nil // as notify: no address, no message
	}
	_, err = s.enqueue(ctx, tx, NewMessage{Key: "charge/" + strconv.FormatInt(c.ID, 10) + "/receipt", Kind: MsgReceipt,
		MandateID: c.MandateID, To: email, Data: d})
	return err
}

// refundMessage tells the shopper a refund succeeded, in the transaction
// that recorded it.
func (s *Store) refundMessage(ctx context.Context, tx *sql.Tx, r Refund) error {
	c, err := findCharge(ctx, tx, `c.id = ?`, r.ChargeID)
	if err != nil {
		return fmt.Errorf("refund message: charge %d: %w", r.ChargeID, err)
	}
	return s.notify(ctx, tx, c.MandateID, MsgRefund, "refund/"+strconv.FormatInt(r.ID, 10)+"/succeeded", RefundData{
		RefundID: r.ID, ChargeID: c.ID, Amount: r.Amount, ChargeAmount: c.Amount, PaidAt: c.CreatedAt, At: s.now().UTC(),
		Reason: r.Reason})
}

// billingEnded reports whether a mandate's billing ended (for non-payment,
// or at a price its agreement cannot be charged): its own email said so.
func (s *Store) billingEnded(ctx context.Context, tx *sql.Tx, mandateID string) (bool, error) {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM billing WHERE mandate_id = ?`, mandateID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("billing of %s: %w", mandateID, err)
	}
	return state == BillingEnded, nil
}
