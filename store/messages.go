package store

import (
	"time"

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

// EndedData: billing ended for non-payment after Failures declined
// attempts of Period, at At.
type EndedData struct {
	Period   int            `json:"period"`
	Amount   payments.Money `json:"amount"`
	Failures int            `json:"failures"`
	At       time.Time      `json:"at"`
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
