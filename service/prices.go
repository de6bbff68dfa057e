package service

import (
	"context"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// SchedulePriceChange schedules plan's new price from effective, telling
// every active mandate on it (see store.SchedulePriceChange). A mandate
// whose provider holds it to an exact amount (PPRO's EXACT agreements,
// which no call can change) is told that its agreement ends before the
// first payment at the new price.
func (s *Service) SchedulePriceChange(ctx context.Context, plan payments.Plan, price payments.Money, effective time.Time) (store.PriceChange, bool, error) {
	return s.store.SchedulePriceChange(ctx, store.NewPriceChange{Plan: plan, Price: price, EffectiveAt: effective, ExactAmount: s.exactAmount})
}

// exactAmount reports whether provider's mandates may be charged only the
// amount they state.
func (s *Service) exactAmount(provider string) bool {
	p, ok := s.providers[provider]
	return ok && p.Features().ExactAmount
}
