package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// disputeEvent records a charge's disputes after an event about one of
// them. The disputes are fetched from the provider's API with our
// credentials (the event only says which charge to look at); a provider
// with no dispute API (PPRO) is taken at its signed event's word.
func (s *Service) disputeEvent(ctx context.Context, p payments.Provider, ev payments.Event) Outcome {
	c, err := s.store.ChargeByProviderRef(ctx, ev.ChargeRef)
	if errors.Is(err, store.ErrNotFound) {
		// The charge call's answer may not be recorded yet: the provider's
		// copy of our reference says which row it is, as for charge events.
		var res payments.ChargeResult
		if res, err = p.ChargeStatus(ctx, ev.ChargeRef); err != nil {
			return Outcome{Err: err}
		}
		switch {
		case res.Reference != "":
			if c, err = s.store.ChargeByKey(ctx, res.Reference); err == nil && c.ProviderRef != "" && c.ProviderRef != ev.ChargeRef {
				err = store.ErrNotFound // our reference on another payment: not ours to record
			}
		case res.Handle != "":
			// No echo of our reference (PPRO's is optional): found through
			// its agreement, by PPRO's own search, as a charge event is.
			c, err = s.unansweredCharge(ctx, p, res)
		default:
			return Outcome{Status: store.EventIgnored, Detail: "no charge of ours is the disputed payment"}
		}
	}
	if err != nil {
		return notOurs(err, "no charge of ours is the disputed payment")
	}
	m, err := s.store.Mandate(ctx, c.MandateID)
	if err != nil {
		return Outcome{Err: err}
	}
	if _, err := s.Provider(m); err != nil {
		return Outcome{MandateID: m.ID, Err: err}
	}
	disputes, err := p.Disputes(ctx, ev.ChargeRef)
	switch {
	case errors.Is(err, payments.ErrNoDisputeAPI):
		if ev.Dispute == nil {
			return Outcome{Status: store.EventIgnored, MandateID: m.ID,
				Detail: "an unsigned chargeback event: the provider has no API to confirm it, so it is not recorded"}
		}
		disputes = []payments.Dispute{*ev.Dispute}
	case err != nil:
		return Outcome{MandateID: m.ID, Err: err}
	}
	var done []string
	for _, d := range disputes {
		if d.ChargeRef != "" && d.ChargeRef != ev.ChargeRef {
			continue // a list filtered by the charge names only it; anything else is not this charge's
		}
		got, changed, err := s.store.ApplyDispute(ctx, c.ID, p.Name(), d)
		if err != nil {
			return Outcome{MandateID: m.ID, Err: err}
		}
		note := fmt.Sprintf("dispute %s %s", got.ProviderRef, got.Status)
		if !changed {
			note += " (no change)"
		}
		done = append(done, note)
	}
	if len(done) == 0 {
		return Outcome{Status: store.EventProcessed, MandateID: m.ID, Detail: fmt.Sprintf("charge %d: the provider lists no dispute", c.ID)}
	}
	return Outcome{Status: store.EventProcessed, MandateID: m.ID, Detail: fmt.Sprintf("charge %d: %s", c.ID, strings.Join(done, ", "))}
}
