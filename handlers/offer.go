package handlers

import (
	"context"
	"fmt"

	"example.com/storefront/payments"
	"example.com/storefront/terms"
)

// offer is what a new shopper signs up to: the plan at its price now, and
// the current terms filled with it.
type offer struct {
	plan  payments.Plan
	terms terms.Document
}

// offer is the configured plan at the price of the latest price change in
// effect (the configured price until one is), with its terms: after a
// change takes effect, new shoppers see and sign up at the new price. A
// page loaded before the change sends terms whose hash no longer matches,
// and is asked to agree again.
func (h *handler) offer(ctx context.Context) (offer, error) {
	plan, err := h.store.CurrentPlan(ctx, h.plan)
	if err != nil {
		return offer{}, err
	}
	if plan == h.plan {
		return offer{plan: h.plan, terms: h.terms}, nil
	}
	doc, err := terms.Render(terms.Current, h.merchant, h.merchantEmail, plan)
	if err != nil {
		return offer{}, fmt.Errorf("the terms at the current price: %w", err)
	}
	return offer{plan: plan, terms: doc}, nil
}

// configured is the offer before any price change, which the cached home
// page shows.
func (h *handler) configured() offer { return offer{plan: h.plan, terms: h.terms} }
