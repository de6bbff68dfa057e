package pprosim

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/sandbox/simkit"
)

// Chargebacks. PPRO's OpenAPI documents a chargeback only as a webhook,
// CHARGEBACK_SUCCEEDED ("Sent on Chargeback success"), whose data is
// paymentChargeId, type, merchantId and amount: no chargeback object,
// id, status, reason or deadline in its API, the charge keeps its status
// (PaymentChargeResponse has no chargeback state), and no webhook for a
// chargeback's outcome. (Its Amazon Pay page adds that disputes are
// handled directly by Amazon Pay.)
//
// So a captured charge of an amount ending in 04 is charged back a settle
// delay after its capture: CHARGEBACK_SUCCEEDED with the whole captured
// amount. The sandbox keeps the chargeback, with an id of its own, so that
// its page and tests can decide the merchant's defence (ResolveChargeback:
// won or lost). PPRO sends nothing for either outcome, so neither does
// the sandbox: the outcome shows only on the sandbox's page.

// eventChargebackSucceeded is the chargeback's webhook type.
const eventChargebackSucceeded = "CHARGEBACK_SUCCEEDED"

// pproChargebackEventData is ChargebackSucceededEventRequestDetails.
type pproChargebackEventData struct {
	PaymentChargeID string    `json:"paymentChargeId"`
	Type            string    `json:"type"`
	MerchantID      string    `json:"merchantId"`
	Amount          pproMoney `json:"amount"`
}

// Chargeback is a chargeback as the sandbox keeps it.
type Chargeback struct {
	ID       string // the sandbox's own: PPRO's webhook names only the charge
	ChargeID string
	Amount   int64 // minor units
	Currency string
	Created  time.Time // on the sandbox's clock
	// Outcome is "" while the merchant's defence is open, then "WON" or
	// "LOST".
	Outcome string
}

// Chargeback outcomes.
const (
	ChargebackWon  = "WON"
	ChargebackLost = "LOST"
)

// pproChargeBack charges back the captured charge id, if it still is.
func (s *Sim) pproChargeBack(ctx context.Context, tx *simkit.WriteTx, id string, at time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE ppro_charges SET chargeback_due_ms = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("charge back %s: %w", id, err)
	}
	c, err := loadPPROCharge(ctx, tx, id)
	if err != nil {
		return err
	}
	amount := c.capturedAmount()
	if amount == 0 {
		return nil
	}
	cb := Chargeback{ID: simkit.NewID("chargeback_", 21), ChargeID: c.ID, Amount: amount, Currency: c.Currency, Created: at}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO ppro_chargebacks (id, charge_id, merchant_id, amount, currency, created_ms) VALUES (?, ?, ?, ?, ?, ?)`,
		cb.ID, cb.ChargeID, c.merchantID, cb.Amount, cb.Currency, pproMillis(at)); err != nil {
		return fmt.Errorf("insert chargeback of %s: %w", id, err)
	}
	return s.pproEmit(ctx, tx, eventChargebackSucceeded, c.ID, at, pproChargebackEventData{
		PaymentChargeID: c.ID, Type: eventChargebackSucceeded, MerchantID: c.merchantID,
		Amount: pproMoney{Value: cb.Amount, Currency: cb.Currency},
	})
}

// ErrChargebackResolved is ResolveChargeback's answer for a chargeback
// whose outcome is already decided.
var ErrChargebackResolved = errors.New("chargeback already resolved")

// ResolveChargeback decides the merchant's defence against chargeback id:
// won or lost. PPRO documents no webhook for either, so nothing is sent.
// It returns simkit.ErrNotFound for an unknown id.
func (s *Sim) ResolveChargeback(ctx context.Context, id string, won bool) error {
	outcome := ChargebackLost
	if won {
		outcome = ChargebackWon
	}
	s.host.Lock()
	defer s.host.Unlock()
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if err := s.pproCatchUp(ctx, tx, s.host.Now()); err != nil {
			return err
		}
		var current sql.NullString
		err := tx.QueryRowContext(ctx, `SELECT outcome FROM ppro_chargebacks WHERE id = ?`, id).Scan(&current)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return simkit.ErrNotFound
		case err != nil:
			return fmt.Errorf("load chargeback: %w", err)
		case current.Valid:
			return fmt.Errorf("%w: %s", ErrChargebackResolved, current.String)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ppro_chargebacks SET outcome = ?, resolved_ms = ? WHERE id = ?`,
			outcome, pproMillis(s.host.Now()), id); err != nil {
			return fmt.Errorf("resolve chargeback: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resolve chargeback %s: %w", id, err)
	}
	return nil
}

// Chargebacks lists the configured merchant's chargebacks, newest first,
// after doing what is due.
func (s *Sim) Chargebacks(ctx context.Context) ([]Chargeback, error) {
	s.host.Lock()
	defer s.host.Unlock()
	var out []Chargeback
	err := s.host.Write(ctx, func(tx *simkit.WriteTx) error {
		if err := s.pproCatchUp(ctx, tx, s.host.Now()); err != nil {
			return err
		}
		var err error
		out, err = listPPROChargebacks(ctx, tx, s.cfg.MerchantID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list chargebacks: %w", err)
	}
	return out, nil
}

// indexChargebackLimit bounds the chargebacks the index page lists.
const indexChargebackLimit = 20

func listPPROChargebacks(ctx context.Context, q simkit.Querier, merchantID string) ([]Chargeback, error) {
	rows, err := q.QueryContext(ctx, `
		SELECT id, charge_id, amount, currency, outcome, created_ms FROM ppro_chargebacks
		WHERE merchant_id = ? ORDER BY created_ms DESC, rowid DESC LIMIT ?`, merchantID, indexChargebackLimit)
	if err != nil {
		return nil, fmt.Errorf("list chargebacks: %w", err)
	}
	defer rows.Close()
	var out []Chargeback
	for rows.Next() {
		var cb Chargeback
		var outcome sql.NullString
		var ms int64
		if err := rows.Scan(&cb.ID, &cb.ChargeID, &cb.Amount, &cb.Currency, &outcome, &ms); err != nil {
			return nil, fmt.Errorf("list chargebacks: %w", err)
		}
		cb.Outcome, cb.Created = outcome.String, fromMillis(ms)
		out = append(out, cb)
	}
	return out, rows.Err()
}
