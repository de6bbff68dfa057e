package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// ErrBadAmount refuses an amount the mandate or its provider cannot take;
// the message says why.
type ErrBadAmount struct{ Reason string }

func (e *ErrBadAmount) Error() string { return e.Reason }

// CheckAmount says whether amount may be charged on m before any call: the
// mandate's currency, positive, within the provider's limits.
func (s *Service) CheckAmount(m store.Mandate, amount payments.Money) error {
	if amount.Currency != m.Plan.Price.Currency {
		return &ErrBadAmount{"This mandate is in " + m.Plan.Price.Currency + "; charge it in that currency."}
	}
	if amount.Amount <= 0 {
		return &ErrBadAmount{"Enter an amount greater than zero."}
	}
	p, err := s.Provider(m)
	if err != nil {
		return err
	}
	var ie *payments.IneligibleError
	if err := p.Eligible("", amount); errors.As(err, &ie) {
		return &ErrBadAmount{ie.Reason}
	} else if err != nil {
		return err
	}
	return nil
}

// ChargeNow charges an active mandate by the merchant's hand: the charge is
// written (spending the form's one-time token), then the provider is
// called with the row's idempotency key. A decline is a failed charge with
// its reason, not an error. A form sent twice returns the first charge with
// store.ErrTokenUsed. A provider that cannot be reached leaves the charge
// pending with the problem noted; the worker finishes it with the same key.
func (s *Service) ChargeNow(ctx context.Context, m store.Mandate, amount payments.Money, formToken string) (store.Charge, error) {
	if m.Status != mandate.Active {
		return store.Charge{}, fmt.Errorf("%w (it is %s)", ErrNotActive, m.Status)
	}
	if err := s.CheckAmount(m, amount); err != nil {
		return store.Charge{}, err
	}
	c, _, err := s.store.CreateCharge(ctx, store.NewCharge{
		MandateID: m.ID, Kind: store.KindMerchant, InitiatedBy: store.ByMerchant, Amount: amount, FormToken: formToken,
	})
	if err != nil {
		return c, err
	}
	return s.SendCharge(ctx, m, c)
}

// SendCharge asks the provider for a charge that is written and pending,
// with its row's idempotency key, and records the answer. Sent twice (a
// retry, a resumed worker), the provider replays its first answer.
func (s *Service) SendCharge(ctx context.Context, m store.Mandate, c store.Charge) (store.Charge, error) {
	p, err := s.Provider(m)
	if err != nil {
		return c, err
	}
	res, err := p.Charge(ctx, payments.ChargeRequest{
		Mandate: m.Ref(), Amount: c.Amount, Reference: c.IdempotencyKey, IdempotencyKey: c.IdempotencyKey,
		Description: m.Plan.Name, Scheduled: c.Kind == store.KindScheduled, Retry: c.Kind == store.KindScheduled && c.Attempt > 1,
	})
	if err != nil {
		if nerr := s.store.NoteChargeError(ctx, c.ID, err.Error()); nerr != nil {
			s.log.ErrorContext(ctx, "note charge error", "charge_id", c.ID, "error", nerr)
		}
		c.LastError = err.Error()
		return c, err
	}
	c, _, err = s.store.ApplyCharge(ctx, c.ID, res)
	return c, err
}

// idempotencyWindow is how long a provider remembers an idempotency key:
// 24 hours at both Stripe and PPRO. A pending charge younger than this is
// safely sent again with its key; an older one is looked up instead.
const idempotencyWindow = 23 * time.Hour

// FinishCharge settles a charge left pending (a crash between writing it
// and recording the answer, a lost answer, an unreachable provider): by
// the provider's id when it has one; otherwise by sending it again with the
// same key while the provider still remembers the key, or else by looking
// it up by our reference, and failing it as never made when the provider
// has no such payment. In every case the provider's truth wins and no
// second payment is made.
func (s *Service) FinishCharge(ctx context.Context, c store.Charge, now time.Time) (store.Charge, error) {
	if c.Status != payments.ChargePending {
		return c, nil
	}
	m, err := s.store.Mandate(ctx, c.MandateID)
	if err != nil {
		return c, err
	}
	p, err := s.Provider(m)
	if err != nil {
		return c, err
	}
	switch {
	case c.ProviderRef != "":
		res, err := p.ChargeStatus(ctx, c.ProviderRef)
		if err != nil {
			return c, err
		}
		c, _, err = s.store.ApplyCharge(ctx, c.ID, res)
		return c, err
	case c.Kind == store.KindInitial:
		// Made with the setup: only the setup's answer can name it.
		m, err = s.Verify(ctx, m, mandate.SourceWorker)
		if err != nil {
			return c, err
		}
		if m.FirstPayment != nil {
			return *m.FirstPayment, nil
		}
		return c, nil
	case now.Sub(c.CreatedAt) < idempotencyWindow && m.Status == mandate.Active:
		return s.SendCharge(ctx, m, c)
	}
	res, found, err := p.FindCharge(ctx, m.Ref(), c.IdempotencyKey)
	if err != nil {
		return c, err
	}
	if !found {
		res = payments.ChargeResult{State: payments.ChargeFailed, Code: "not_made",
			Reason:         "The provider never made this payment (no answer was received, and it has no payment with our reference).",
			ProviderStatus: "not found by reference"}
	}
	c, _, err = s.store.ApplyCharge(ctx, c.ID, res)
	return c, err
}
