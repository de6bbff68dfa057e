package stripesim

import (
	"context"

	"example.com/storefront/sandbox/simkit"
)

// GET /v1/refunds: a list object, newest first, paged with limit,
// starting_after and ending_before, filtered by charge or payment_intent
// (Stripe's List all refunds). The app uses it to find a refund by its
// metadata when the answer to the create was lost and the idempotency key
// may be forgotten.

var refundListSpec = listSpec(chargeFilters)

func (s *Sim) stripeListRefunds(ctx context.Context, tx *simkit.WriteTx, req *stripeRequest) (any, error) {
	return stripeListObjects(ctx, s, tx, req.params, listing[*stripeRefund]{
		object:  "refund",
		table:   "stripe_refunds",
		url:     "/v1/refunds",
		filters: chargeFilters,
		load:    loadStripeRefund,
	})
}
