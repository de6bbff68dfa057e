package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
// mandate's currency, positive, within the provider's limits for the
// currency, and the agreed amount where the mandate fixes it (PPRO's
// EXACT agreements).
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
	if p.Features().ExactAmount && amount != m.Plan.Price {
		return &ErrBadAmount{fmt.Sprintf("This mandate's agreement is for exactly %s each time, so %s cannot be charged on it. "+
			"For another amount the shopper approves a new agreement.", m.Plan.Price, amount)}
	}
	return nil
}

// FixedAmount is the only amount m can be charged, when its provider holds
// it to its plan's price (PPRO's EXACT agreements); ok is false when any
// amount within the limits may be charged.
func (s *Service) FixedAmount(m store.Mandate) (amount payments.Money, ok bool) {
	p, err := s.Provider(m)
	if err != nil || !p.Features().ExactAmount {
		return payments.Money{}, false
	}
	return m.Plan.Price, true
}

// ChargeNow charges an active mandate by the merchant's hand: the charge is
// written (spending the form's one-time token), then the provider is
// called with the row's idempotency key. A decline is a failed charge with
// its reason, not an error. An amount other than the price the terms say
// (store.TermsPrice) needs a reason, recorded with the charge
// (store.OffTermsError without one). A form sent twice returns the first charge with
// store.ErrTokenUsed. A provider that cannot be reached leaves the charge
// pending with the problem noted; the worker finishes it with the same key.
func (s *Service) ChargeNow(ctx context.Context, m store.Mandate, amount payments.Money, formToken, reason string) (store.Charge, error) {
	if m.Status != mandate.Active {
		return store.Charge{}, fmt.Errorf("%w (it is %s)", ErrNotActive, m.Status)
	}
	if err := s.CheckAmount(m, amount); err != nil {
		return store.Charge{}, err
	}
	c, _, err := s.store.CreateCharge(ctx, store.NewCharge{
		MandateID: m.ID, Kind: store.KindMerchant, InitiatedBy: store.ByMerchant, Amount: amount, FormToken: formToken,
		Reason: reason,
	})
	if err != nil {
		return c, err
	}
	return s.SendCharge(ctx, m, c)
}

// NotMade is the failure code of a charge the provider never made: no
// answer came, and the provider has no payment with its reference. It is
// not a decline: the shopper was never asked for money, so billing neither
// counts it nor uses a retry for it, and pays the period with a new
// attempt (a new key: the old one may have been used, or may yet be).
const NotMade = "not_made"

// Declined reports whether a charge counts as a decline for billing's
// dunning: the provider refused the payment (a decline, a refusal of the
// request), as opposed to a payment it never received.
func Declined(c store.Charge) bool {
	return c.Status == payments.ChargeFailed && c.FailureCode != NotMade
}

// SendCharge asks the provider for a charge that is written and pending,
// with its row's idempotency key, and records the answer. Sent twice (a
// retry, a resumed worker), the provider replays its first answer.
//
// An answer that is not a payment's is recorded by its kind: a refusal of
// the request (any 4xx but 409 and 429: an amount over the provider's
// limit, an agreement it no longer knows) fails the charge with the
// provider's code and reason, since no payment was made and re-sending
// the same request would be refused again; an outage (no answer, a
// timeout, 5xx, 429) or a 409 (the key's first request is still running
// at the provider) leaves it pending with the problem noted, to be
// finished with the same key or looked up.
func (s *Service) SendCharge(ctx context.Context, m store.Mandate, c store.Charge) (store.Charge, error) {
	p, err := s.Provider(m)
	if err != nil {
		return c, err
	}
	retry, err := s.declinedBefore(ctx, c)
	if err != nil {
		return c, err
	}
	if err := s.store.MarkChargeSent(ctx, c.ID); err != nil {
		return c, err
	}
	res, err := s.callCharge(ctx, p, m, c, retry)
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

// CallCharge asks the provider for a charge that is written, pending and
// marked sent (store.MarkChargeSent, or written so by
// store.CreateScheduledCharges), with its row's idempotency key, and
// returns the answer without recording it: the worker records the answers
// of many in one transaction. retry says whether an earlier attempt of the
// period was declined. A refusal of the request is an answer (a failed
// charge, as SendCharge records it); an error is no answer, to be noted
// on the charge and sent again with the same key.
func (s *Service) CallCharge(ctx context.Context, m store.Mandate, c store.Charge, retry bool) (payments.ChargeResult, error) {
	p, err := s.Provider(m)
	if err != nil {
		return payments.ChargeResult{}, err
	}
	return s.callCharge(ctx, p, m, c, retry)
}

func (s *Service) callCharge(ctx context.Context, p payments.Provider, m store.Mandate, c store.Charge, retry bool) (payments.ChargeResult, error) {
	res, err := p.Charge(ctx, payments.ChargeRequest{
		Mandate: m.Ref(), Amount: c.Amount, Reference: c.IdempotencyKey, IdempotencyKey: c.IdempotencyKey,
		Description: m.Plan.Name, Scheduled: c.Kind == store.KindScheduled, Retry: retry,
	})
	if pe, ok := payments.AsError(err); ok && (pe.Kind == payments.ErrRejected || pe.Kind == payments.ErrNotFound) {
		return refusal(pe), nil
	}
	return res, err
}

// IsRetry reports whether a scheduled attempt of a period is a retry, given
// the period's earlier attempts: one of them was declined (not merely
// never made). SendCharge asks the store; the worker, which has read them,
// asks this.
func IsRetry(earlier []store.Charge) bool {
	for _, o := range earlier {
		if Declined(o) {
			return true
		}
	}
	return false
}

// refusal is the failed charge a provider's refusal of the request
// describes, with its code and reason.
func refusal(pe *payments.Error) payments.ChargeResult {
	code := pe.Code
	if code == "" {
		code = "refused"
	}
	reason := pe.Message
	if reason == "" {
		reason = "The provider refused the payment without a reason."
	}
	return payments.ChargeResult{State: payments.ChargeFailed, Code: code, Reason: reason,
		ProviderStatus: strings.TrimSpace(fmt.Sprintf("refused (HTTP %d %s)", pe.StatusCode, pe.Code))}
}

// declinedBefore reports whether a scheduled charge is a retry: an earlier
// attempt of its period was declined (not merely never made).
func (s *Service) declinedBefore(ctx context.Context, c store.Charge) (bool, error) {
	if c.Kind != store.KindScheduled || c.Attempt <= 1 {
		return false, nil
	}
	all, err := s.store.Charges(ctx, c.MandateID)
	if err != nil {
		return false, err
	}
	for _, o := range all {
		if o.Period == c.Period && o.Attempt < c.Attempt && Declined(o) {
			return true, nil
		}
	}
	return false, nil
}

// idempotencyWindow is how long a pending charge's key is trusted to be
// remembered: both Stripe and PPRO keep keys for 24 hours, less an hour
// for clocks and a slow call.
const idempotencyWindow = 23 * time.Hour

// keyAlive reports whether the provider still remembers a charge's key, so
// that sending it again replays the first answer rather than making a new
// payment. The key's life is counted from its first use by real time (a
// real provider's clock) and by the app's clock (the sandbox keeps keys by
// it, and it may be moved by months); it must be young by both. A charge
// never sent has no key at the provider: it may be sent while its row is
// young.
func keyAlive(c store.Charge, sent store.Sent, now, realNow time.Time) bool {
	if sent.Never() {
		return now.Sub(c.CreatedAt) < idempotencyWindow
	}
	return now.Sub(sent.At) < idempotencyWindow && realNow.Sub(sent.RealAt) < idempotencyWindow
}

// FinishCharge settles a charge left pending (a crash between writing it
// and recording the answer, a lost answer, an unreachable provider): by
// the provider's id when it has one; otherwise by sending it again with the
// same key while the provider still remembers the key, or else by looking
// it up by our reference, and recording it as never made (NotMade, not a
// decline) when the provider has no such payment. In every case the
// provider's truth wins and no second payment is made. now is the app's
// clock.
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
	}
	sent, err := s.store.ChargeSent(ctx, c.ID)
	if err != nil {
		return c, err
	}
	if m.Status == mandate.Active && keyAlive(c, sent, now, s.realNow()) {
		return s.SendCharge(ctx, m, c)
	}
	res, found, err := p.FindCharge(ctx, m.Ref(), c.IdempotencyKey)
	if err != nil {
		return c, err
	}
	if !found {
		res = payments.ChargeResult{State: payments.ChargeFailed, Code: NotMade,
			Reason:         "The provider never made this payment (no answer was received, and it has no payment with our reference).",
			ProviderStatus: "not found by reference"}
	}
	c, _, err = s.store.ApplyCharge(ctx, c.ID, res)
	return c, err
}
