package ppro

import (
	"context"
	"strings"

	"example.com/storefront/payments"
)

// Disputes: PPRO's API has no chargeback or dispute object to read. Its
// OpenAPI documents chargebacks only as the CHARGEBACK_SUCCEEDED webhook
// (paymentChargeId and amount), and its developer hub the DISPUTE_*
// webhooks (disputeId, paymentChargeId); the signed event is the word.
func (p *Provider) Disputes(context.Context, string) ([]payments.Dispute, error) {
	return nil, payments.ErrNoDisputeAPI
}

// Chargeback and dispute event types.
const (
	EventChargebackSucceeded = "CHARGEBACK_SUCCEEDED"
	disputeEventPrefix       = "DISPUTE_"
)

// disputeState reads a dispute's state from its event type, the only
// place PPRO states it. A chargeback that succeeded took the money back;
// PPRO reports no outcome of any defence after it.
func disputeState(eventType string) (payments.DisputeState, bool) {
	switch eventType {
	case EventChargebackSucceeded:
		return payments.DisputeChargedBack, true
	case "DISPUTE_LOST":
		return payments.DisputeLost, true
	case "DISPUTE_ACTION_REQUIRED":
		return payments.DisputeNeedsResponse, true
	case "DISPUTE_ACCEPT_PROCESSING", "DISPUTE_CHALLENGE_PROCESSING", "DISPUTE_UNDER_REVIEW":
		return payments.DisputeUnderReview, true
	case "DISPUTE_WON":
		return payments.DisputeWon, true
	}
	return "", false
}

// isDisputeEvent reports whether an event type is about a chargeback.
func isDisputeEvent(eventType string) bool {
	return eventType == EventChargebackSucceeded || strings.HasPrefix(eventType, disputeEventPrefix)
}

// chargebackRef names a chargeback PPRO gives no id of its own: one per
// charge, as CHARGEBACK_SUCCEEDED names only the charge.
func chargebackRef(chargeID string) string { return "chargeback_" + chargeID }
