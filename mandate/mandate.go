// Package mandate owns the mandate state machine: which status changes are
// allowed, and how a provider's normalised setup state maps onto a status.
// Return pages, the cancel page and webhooks all go through Decide (via the
// store), so a repeated or late event can never move a mandate backwards.
package mandate

import "example.com/storefront/payments"

// Status is where a mandate is in its life.
type Status string

const (
	Pending  Status = "pending"  // consent given on our page; the provider has not confirmed yet
	Active   Status = "active"   // the provider confirmed; later charges may use it
	Failed   Status = "failed"   // the provider declined, or the setup could not start
	Canceled Status = "canceled" // the shopper abandoned the setup, or it expired
	Revoked  Status = "revoked"  // an active mandate withdrawn by the shopper, merchant or provider
)

// statuses lists every status, in life order.
var statuses = []Status{Pending, Active, Failed, Canceled, Revoked}

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Pending, Active, Failed, Canceled, Revoked:
		return true
	}
	return false
}

// Terminal reports whether no further change can happen.
func (s Status) Terminal() bool {
	return s == Failed || s == Canceled || s == Revoked
}

// Source says who reported a change; it is stored with every history row.
type Source string

const (
	SourceCheckout   Source = "checkout"    // POST /create-checkout-session
	SourceReturnPage Source = "return_page" // the shopper came back (/success, /return)
	SourceCancelPage Source = "cancel_page" // the shopper came back via the cancel URL
	SourceWebhook    Source = "webhook"     // the provider told us
	SourceMerchant   Source = "merchant"    // the merchant acted, in the dashboard
	SourceShopper    Source = "shopper"     // the shopper acted, on their mandate page
	SourceWorker     Source = "worker"      // the background worker checked with the provider
)

// Decision is the outcome of Decide.
type Decision int

const (
	// Move: apply the change.
	Move Decision = iota
	// Repeat: the mandate is already there; nothing to do.
	Repeat
	// Stale: the event is late or out of order and would move the mandate
	// backwards or out of a final state; ignore it.
	Stale
)

func (d Decision) String() string {
	switch d {
	case Move:
		return "move"
	case Repeat:
		return "repeat"
	default:
		return "stale"
	}
}

// allowed is the whole forward graph:
// pending → active | failed | canceled; active → revoked.
var allowed = map[Status][]Status{
	Pending: {Active, Failed, Canceled},
	Active:  {Revoked},
}

// Decide says whether a mandate in status from may move to status to.
func Decide(from, to Status) Decision {
	if from == to {
		return Repeat
	}
	for _, s := range allowed[from] {
		if s == to {
			return Move
		}
	}
	return Stale
}

// FromSetup maps a provider's normalised setup state to a mandate status.
func FromSetup(s payments.SetupState) Status {
	switch s {
	case payments.SetupSucceeded:
		return Active
	case payments.SetupFailed:
		return Failed
	case payments.SetupCanceled:
		return Canceled
	case payments.SetupRevoked:
		return Revoked
	default:
		return Pending
	}
}
