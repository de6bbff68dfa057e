package stripeprovider

import (
	"context"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"example.com/storefront/payments"
)

// Disputes lists the disputes of a PaymentIntent (Stripe's list takes
// payment_intent). A payment is disputed once or twice at most, so one
// page of 100 holds them all; the iterator follows more pages anyway.
func (p *Provider) Disputes(ctx context.Context, chargeRef string) ([]payments.Dispute, error) {
	params := &stripe.DisputeListParams{PaymentIntent: stripe.String(chargeRef)}
	params.Context = ctx
	params.Limit = stripe.Int64(100)
	it := p.api.Disputes.List(params)
	var out []payments.Dispute
	for it.Next() {
		out = append(out, disputeResult(it.Dispute(), chargeRef))
	}
	if err := it.Err(); err != nil {
		return nil, wrap("list disputes", err)
	}
	return out, nil
}

func disputeResult(d *stripe.Dispute, chargeRef string) payments.Dispute {
	r := payments.Dispute{
		Ref: d.ID, ChargeRef: chargeRef, ProviderStatus: string(d.Status), Reason: string(d.Reason),
		Amount: payments.Money{Amount: d.Amount, Currency: strings.ToUpper(string(d.Currency))},
		State:  disputeState(d.Status),
	}
	if d.PaymentIntent != nil && d.PaymentIntent.ID != "" {
		r.ChargeRef = d.PaymentIntent.ID
	}
	// due_by is 0 when the shopper's bank allows no response.
	if e := d.EvidenceDetails; e != nil && e.DueBy > 0 {
		r.EvidenceDueBy = time.Unix(e.DueBy, 0).UTC()
	}
	return r
}

// disputeState normalises Stripe's statuses; the warning_ ones are
// inquiries that may still become a chargeback.
func disputeState(s stripe.DisputeStatus) payments.DisputeState {
	switch s {
	case stripe.DisputeStatusNeedsResponse, stripe.DisputeStatusWarningNeedsResponse:
		return payments.DisputeNeedsResponse
	case stripe.DisputeStatusUnderReview, stripe.DisputeStatusWarningUnderReview:
		return payments.DisputeUnderReview
	case stripe.DisputeStatusWon:
		return payments.DisputeWon
	case stripe.DisputeStatusLost:
		return payments.DisputeLost
	case stripe.DisputeStatusWarningClosed:
		return payments.DisputeClosed
	}
	// An unknown status from a newer API version: treated as still open,
	// never as decided.
	return payments.DisputeNeedsResponse
}
