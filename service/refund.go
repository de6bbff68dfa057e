package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// Refund refunds part or all of a succeeded charge: the refund is written
// first (never more than what is left), then the provider is asked with
// its row's key.
func (s *Service) Refund(ctx context.Context, m store.Mandate, chargeID, amount int64, formToken, reason, note string) (store.Refund, error) {
	c, err := s.store.Charge(ctx, chargeID)
	if err != nil {
		return store.Refund{}, err
	}
	if c.MandateID != m.ID {
		return store.Refund{}, store.ErrNotFound
	}
	if _, err := s.Provider(m); err != nil {
		return store.Refund{}, err
	}
	r, err := s.store.CreateRefund(ctx, chargeID, amount, formToken, reason, note)
	if err != nil {
		return r, err
	}
	return s.sendRefund(ctx, m, c, r)
}

// sendRefund asks the provider for a written, pending refund with its
// row's key and records the answer. A refusal (a 4xx: more than the
// provider will refund, past its refund period) fails the refund with the
// provider's reason. A request in flight under the same key (409) is
// looked up by our reference, and stays pending while the provider has
// not made it; an outage leaves it pending with the problem noted, for
// FinishRefund.
func (s *Service) sendRefund(ctx context.Context, m store.Mandate, c store.Charge, r store.Refund) (store.Refund, error) {
	p, err := s.Provider(m)
	if err != nil {
		return r, err
	}
	if err := s.store.MarkRefundSent(ctx, r.ID); err != nil {
		return r, err
	}
	res, err := p.Refund(ctx, payments.RefundRequest{ChargeRef: c.ProviderRef, Amount: r.Amount,
		Reference: r.IdempotencyKey, IdempotencyKey: r.IdempotencyKey})
	if err != nil {
		pe, _ := payments.AsError(err)
		switch {
		case pe != nil && (pe.Kind == payments.ErrRejected || pe.Kind == payments.ErrNotFound):
			// Refused for good (an amount or a charge the provider will not
			// refund): failed, with the provider's reason.
			r, _, aerr := s.store.ApplyRefund(ctx, r.ID, payments.RefundResult{State: payments.RefundFailed,
				Reason: pe.Message, ProviderStatus: "refused: " + strings.TrimSpace(pe.Code+" "+fmt.Sprint(pe.StatusCode))})
			if aerr != nil {
				return r, aerr
			}
			return r, nil
		case pe != nil && pe.Kind == payments.ErrInFlight:
			// The key's first request decides (it is running, or it was made
			// with other parameters): what it made is looked up by our
			// reference; not there yet is no failure, it stays pending.
			if res, found, ferr := p.FindRefund(ctx, c.ProviderRef, r.IdempotencyKey); ferr == nil && found {
				return s.applyRefund(ctx, p, c, r, res)
			}
		}
		if nerr := s.store.NoteRefundError(ctx, r.ID, err.Error()); nerr != nil {
			s.log.ErrorContext(ctx, "note refund error", "refund_id", r.ID, "error", nerr)
		}
		r.LastError = err.Error()
		return r, err
	}
	return s.applyRefund(ctx, p, c, r, res)
}

// applyRefund records the provider's word on a refund, and then its
// charge's own status (its words and operations; what was refunded is
// counted from our refunds). A report that changed nothing (a pending
// refund polled again) leaves the charge alone: no second provider call.
func (s *Service) applyRefund(ctx context.Context, p payments.Provider, c store.Charge, r store.Refund, res payments.RefundResult) (store.Refund, error) {
	r, changed, err := s.store.ApplyRefund(ctx, r.ID, res)
	if err != nil || !changed {
		return r, err
	}
	if cres, err := p.ChargeStatus(ctx, c.ProviderRef); err == nil {
		if _, _, err := s.store.ApplyCharge(ctx, c.ID, cres); err != nil {
			s.log.WarnContext(ctx, "record charge after refund", "charge_id", c.ID, "error", err)
		}
	}
	return r, nil
}

// refundKeyLife is how long a refund may be sent again with its key:
// Stripe and PPRO remember an idempotency key for 24 hours, less an hour
// of margin. An older refund is looked up instead, since a key the
// provider has forgotten makes a second refund.
const refundKeyLife = 23 * time.Hour

// refundKeyAlive says whether the provider surely still remembers a refund's
// key: the refund is younger than refundKeyLife both in real time (real)
// and on the clock rows are stamped with (now: the demo clock in a demo,
// which the sandbox's keys follow). A row without a real-time stamp
// (written before it was kept) counts as old.
func refundKeyAlive(r store.Refund, now, real time.Time) bool {
	return !r.CreatedRealAt.IsZero() && real.Sub(r.CreatedRealAt) < refundKeyLife &&
		now.Sub(r.CreatedAt) < refundKeyLife
}

// FinishRefund settles what we know of a refund. One the provider never
// answered (no id: a crash, a lost answer, a 409 while the first request
// ran) is sent again with the same key while the provider surely
// remembers it (refundKeyAlive), and otherwise looked up by our reference: never
// re-sent, and failed as never made when the provider has no such refund,
// which gives its amount back. One with an id has its status fetched and
// applied, with its charge's; that includes a succeeded refund that failed
// later. now is the clock rows are stamped with.
func (s *Service) FinishRefund(ctx context.Context, r store.Refund, now time.Time) (store.Refund, error) {
	c, err := s.store.Charge(ctx, r.ChargeID)
	if err != nil {
		return r, err
	}
	m, err := s.store.Mandate(ctx, c.MandateID)
	if err != nil {
		return r, err
	}
	p, err := s.Provider(m)
	if err != nil {
		return r, err
	}
	if r.ProviderRef != "" {
		res, err := p.RefundStatus(ctx, c.ProviderRef, r.ProviderRef)
		if err != nil {
			return r, err
		}
		return s.applyRefund(ctx, p, c, r, res)
	}
	if r.Status != payments.RefundPending {
		return r, nil
	}
	if refundKeyAlive(r, now, s.realNow()) {
		return s.sendRefund(ctx, m, c, r)
	}
	res, found, err := p.FindRefund(ctx, c.ProviderRef, r.IdempotencyKey)
	if err != nil {
		return r, err
	}
	if !found {
		res = payments.RefundResult{State: payments.RefundFailed, ProviderStatus: "not found by reference",
			Reason: "The provider never made this refund (no answer was received, and it has no refund with our reference)."}
	}
	return s.applyRefund(ctx, p, c, r, res)
}

// refundEventByReference applies an event about a refund we hold by our
// reference but not yet by the provider's id (the answer to the create was
// lost): the refund is fetched by the event's id on our row's charge, and
// applied only when the provider keeps our reference on it. ok is false
// when no refund of ours has the event's reference.
func (s *Service) refundEventByReference(ctx context.Context, p payments.Provider, ev payments.Event) (Outcome, bool) {
	if ev.RefundReference == "" {
		return Outcome{}, false
	}
	r, err := s.store.RefundByKey(ctx, ev.RefundReference)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{}, false
	} else if err != nil {
		return Outcome{Err: err}, true
	}
	c, err := s.store.Charge(ctx, r.ChargeID)
	if err != nil {
		return Outcome{Err: err}, true
	}
	m, err := s.store.Mandate(ctx, c.MandateID)
	if err != nil {
		return Outcome{Err: err}, true
	}
	if m.Provider != p.Name() || (ev.ChargeRef != "" && ev.ChargeRef != c.ProviderRef) {
		return Outcome{Status: store.EventIgnored, Detail: "the refund's reference names another payment of ours"}, true
	}
	if _, err := s.Provider(m); err != nil {
		return Outcome{MandateID: m.ID, Err: err}, true
	}
	res, err := p.RefundStatus(ctx, c.ProviderRef, ev.RefundRef)
	if err != nil {
		return Outcome{MandateID: m.ID, Err: err}, true
	}
	if res.Reference != r.IdempotencyKey {
		return Outcome{Status: store.EventIgnored, MandateID: m.ID, Detail: "the provider's refund does not carry our reference"}, true
	}
	before := r.Status
	if r, err = s.applyRefund(ctx, p, c, r, res); err != nil {
		return Outcome{MandateID: m.ID, Err: err}, true
	}
	return Outcome{Status: store.EventProcessed, MandateID: m.ID, Detail: fmt.Sprintf("refund %d %s → %s", r.ID, before, r.Status)}, true
}
