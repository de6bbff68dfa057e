package payments

import (
	"errors"
	"time"
)

// DisputeState is the normalised state of a dispute (a chargeback): it
// needs the merchant's evidence, is under review, was charged back with no
// outcome reported, or is decided: won, lost or closed. A decided dispute
// stays decided.
type DisputeState string

const (
	DisputeNeedsResponse DisputeState = "needs_response"
	DisputeUnderReview   DisputeState = "under_review"
	// DisputeChargedBack: the money went back to the shopper through a
	// chargeback, and the provider reports no outcome of any defence (PPRO's
	// CHARGEBACK_SUCCEEDED; Amazon Pay handles the dispute itself).
	DisputeChargedBack DisputeState = "charged_back"
	DisputeWon         DisputeState = "won"  // the money stays with the merchant
	DisputeLost        DisputeState = "lost" // the money went back to the shopper
	// DisputeClosed is an inquiry closed without a chargeback (Stripe's
	// warning_closed): no money moved.
	DisputeClosed DisputeState = "closed"
)

// Rank orders dispute states along their one-way path; a report of a
// lower rank than what is known is stale.
func (s DisputeState) Rank() int {
	switch s {
	case DisputeNeedsResponse:
		return 0
	case DisputeUnderReview, DisputeChargedBack:
		return 1
	case DisputeWon, DisputeLost, DisputeClosed:
		return 2
	}
	return -1
}

// Open reports whether the dispute awaits the merchant or the provider.
func (s DisputeState) Open() bool { return s == DisputeNeedsResponse || s == DisputeUnderReview }

// Decided reports whether the dispute has its outcome, which never changes.
func (s DisputeState) Decided() bool {
	return s == DisputeWon || s == DisputeLost || s == DisputeClosed
}

// Dispute is a shopper's dispute of a payment (Stripe's Dispute, PPRO's
// chargeback), as the provider reports it.
type Dispute struct {
	// Ref is the provider's id (dp_…; for PPRO the dispute's or, where PPRO
	// names none, one derived from the charge).
	Ref string
	// ChargeRef is the disputed payment (pi_…, charge_…).
	ChargeRef string
	Amount    Money
	State     DisputeState
	// ProviderStatus and Reason are the provider's own words
	// (needs_response, fraudulent; CHARGEBACK_SUCCEEDED).
	ProviderStatus string
	Reason         string
	// EvidenceDueBy is the provider's deadline for the merchant's evidence;
	// zero when it gives none.
	EvidenceDueBy time.Time
}

// ErrNoDisputeAPI is returned by Provider.Disputes when the provider's API
// has no dispute object to read (PPRO documents chargebacks only as a
// webhook): the only word on a dispute is then the signed event itself
// (Event.Dispute).
var ErrNoDisputeAPI = errors.New("the provider's API has no disputes to read")
