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

// Outcome is what processing a webhook event did.
type Outcome struct {
	// Status is store.EventProcessed, store.EventIgnored or
	// store.EventPending (try again at RetryAt: the provider could not be
	// reached, or the object was fetched a moment ago).
	Status    string
	Detail    string
	MandateID string
	RetryAt   time.Time
	// Err is the transient failure behind a retry, if any.
	Err error
}

// ProcessEvent acts on a stored webhook event: it finds what the event is
// about among our records (a payment, a refund, a revoked payment method,
// a setup), fetches that object's current status from the provider with
// our credentials, and applies it through the same forward-only rules as
// every other path. Nothing in the payload is trusted but the ids.
func (s *Service) ProcessEvent(ctx context.Context, p payments.Provider, e store.WebhookEvent, now time.Time) Outcome {
	ev := e.Event
	key := p.Name() + "/" + firstNonEmpty(ev.DisputeRef, ev.ChargeRef, ev.RefundRef, ev.PaymentMethodRef, ev.ProviderMandateRef, ev.SetupRef, ev.MandateID)
	if ok, at := s.fetches.allow(key, now); !ok {
		return Outcome{Status: store.EventPending, Detail: "fetched a moment ago; again shortly", RetryAt: at}
	}
	// Unsigned events are nudges anyone can send: beyond the budget they
	// are dropped, not postponed, so that a flood neither costs more calls
	// later nor queues up ahead of real events. A real one lost this way
	// is made good by the worker, which asks the provider about our
	// pending charges, refunds and setups on its own.
	if signer, ok := p.(interface{ SignsWebhooks() bool }); ok && !signer.SignsWebhooks() && !s.unsigned.take(now) {
		return Outcome{Status: store.EventIgnored, Detail: "dropped: over the budget for unsigned webhook events"}
	}
	out := s.processEvent(ctx, p, ev, now)
	if out.Err != nil {
		if Transient(out.Err) {
			out.Status, out.Detail = store.EventPending, "provider unavailable: "+out.Err.Error()
			out.RetryAt = now.Add(Backoff(e.Attempts))
			return out
		}
		// 404 or 400 at the provider, a mode mismatch: trying again cannot
		// help, so it is recorded and dropped (no retry storm).
		out.Status, out.Detail = store.EventIgnored, out.Err.Error()
	}
	return out
}

func (s *Service) processEvent(ctx context.Context, p payments.Provider, ev payments.Event, now time.Time) Outcome {
	switch {
	case ev.DisputeRef != "" && ev.ChargeRef != "":
		return s.disputeEvent(ctx, p, ev)
	case ev.RefundRef != "":
		if r, err := s.store.RefundByProviderRef(ctx, ev.RefundRef); err == nil {
			return s.refundEvent(ctx, r, now)
		} else if !errors.Is(err, store.ErrNotFound) {
			return Outcome{Err: err}
		}
		if out, ok := s.refundEventByReference(ctx, p, ev); ok {
			return out
		}
		if ev.ChargeRef != "" {
			return s.chargeEvent(ctx, p, ev.ChargeRef) // a refund made elsewhere: the charge says how much
		}
	case ev.ChargeRef != "":
		return s.chargeEvent(ctx, p, ev.ChargeRef)
	case ev.PaymentMethodRef != "" || ev.ProviderMandateRef != "":
		m, err := s.store.MandateByProviderMandateRef(ctx, p.Name(), ev.ProviderMandateRef)
		if errors.Is(err, store.ErrNotFound) && ev.PaymentMethodRef != "" {
			m, err = s.store.MandateByHandle(ctx, p.Name(), ev.PaymentMethodRef)
			if err == nil && ev.ProviderMandateRef != "" {
				// Found through its payment method: the event is about this
				// mandate object, which we had not stored (the SetupIntent
				// carried none) or is newer; it is the one to read.
				m.ProviderMandateRef = ev.ProviderMandateRef
			}
		}
		if err != nil {
			return notOurs(err, "no mandate of ours has this payment method or mandate")
		}
		return s.mandateEvent(ctx, m, true)
	case ev.SetupRef != "" || ev.MandateID != "":
		m, err := s.store.MandateByProviderRef(ctx, p.Name(), ev.SetupRef)
		if errors.Is(err, store.ErrNotFound) && ev.MandateID != "" {
			m, err = s.store.Mandate(ctx, ev.MandateID)
			if err == nil && (m.Provider != p.Name() || m.ProviderRef == "") {
				err = store.ErrNotFound
			}
		}
		if err != nil {
			return notOurs(err, "no mandate of ours is this setup")
		}
		// A Stripe setup's own events cannot tell of a revocation (that
		// comes as its own event), so they ask no more than the setup;
		// PPRO's agreement events may.
		return s.mandateEvent(ctx, m, !ev.SetupOnly)
	}
	return Outcome{Status: store.EventIgnored, Detail: "not about anything the app keeps"}
}

func notOurs(err error, detail string) Outcome {
	if errors.Is(err, store.ErrNotFound) {
		// Another integration on the same account, or an object we never
		// made: acknowledged, so the provider stops sending it.
		return Outcome{Status: store.EventIgnored, Detail: detail}
	}
	return Outcome{Err: err}
}

// mandateEvent applies the provider's current word on a mandate, whatever
// its state: a setup that may still change is verified; with standing (an
// event about the payment method or the provider's mandate object), an
// active mandate is checked for a revocation that started outside the
// app. A setup's own events do not ask that: the setup just read names its
// payment method, and a revocation later comes as its own event.
func (s *Service) mandateEvent(ctx context.Context, m store.Mandate, standing bool) Outcome {
	before := m.Status
	var err error
	if Undecided(m) {
		m, err = s.Verify(ctx, m, mandate.SourceWebhook)
	}
	if err == nil && standing && m.Status == mandate.Active {
		m, err = s.CheckStanding(ctx, m, mandate.SourceWebhook)
	}
	if err != nil {
		return Outcome{MandateID: m.ID, Err: err}
	}
	return Outcome{Status: store.EventProcessed, MandateID: m.ID, Detail: fmt.Sprintf("mandate %s → %s", before, m.Status)}
}

// chargeEvent fetches the payment by its id and applies it to our row,
// found by that id or by our own reference the provider keeps (the event
// may arrive before the charge call's answer was recorded).
func (s *Service) chargeEvent(ctx context.Context, p payments.Provider, ref string) Outcome {
	c, err := s.store.ChargeByProviderRef(ctx, ref)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return Outcome{Err: err}
	}
	known := err == nil
	if known {
		m, merr := s.store.Mandate(ctx, c.MandateID)
		if merr != nil {
			return Outcome{Err: merr}
		}
		if _, perr := s.Provider(m); perr != nil {
			return Outcome{MandateID: m.ID, Err: perr}
		}
	}
	res, err := p.ChargeStatus(ctx, ref)
	if err != nil {
		return Outcome{MandateID: c.MandateID, Err: err}
	}
	if !known {
		switch {
		case res.Reference != "":
			if c, err = s.store.ChargeByKey(ctx, res.Reference); err != nil {
				return notOurs(err, "no charge of ours has this reference")
			}
		case res.Handle != "":
			if c, err = s.unansweredCharge(ctx, p, res); err != nil {
				return notOurs(err, "no unanswered charge of ours is this payment")
			}
		default:
			return Outcome{Status: store.EventIgnored, Detail: "no charge of ours is this payment"}
		}
	}
	before := c.Status
	c, _, err = s.store.ApplyCharge(ctx, c.ID, res)
	if err != nil {
		return Outcome{MandateID: c.MandateID, Err: err}
	}
	return Outcome{Status: store.EventProcessed, MandateID: c.MandateID, Detail: fmt.Sprintf("charge %d %s → %s", c.ID, before, c.Status)}
}

// unansweredCharge finds which of our charges a payment reported without
// our reference is (PPRO need not echo it): one on the payment's mandate
// that is pending with no provider id yet, and that the provider's own
// search by its reference names as this payment.
func (s *Service) unansweredCharge(ctx context.Context, p payments.Provider, res payments.ChargeResult) (store.Charge, error) {
	m, err := s.store.MandateByHandle(ctx, p.Name(), res.Handle)
	if err != nil {
		return store.Charge{}, err
	}
	cs, err := s.store.Charges(ctx, m.ID)
	if err != nil {
		return store.Charge{}, err
	}
	for i := len(cs) - 1; i >= 0; i-- { // newest first: the one just sent
		c := cs[i]
		if c.Status != payments.ChargePending || c.ProviderRef != "" || c.Kind == store.KindInitial {
			continue
		}
		found, ok, err := p.FindCharge(ctx, m.Ref(), c.IdempotencyKey)
		if err != nil {
			return store.Charge{}, err
		}
		if ok && found.Ref == res.Ref {
			return c, nil
		}
	}
	return store.Charge{}, store.ErrNotFound
}

func (s *Service) refundEvent(ctx context.Context, r store.Refund, now time.Time) Outcome {
	c, err := s.store.Charge(ctx, r.ChargeID)
	if err != nil {
		return Outcome{Err: err}
	}
	before := r.Status
	r, err = s.FinishRefund(ctx, r, now)
	if err != nil {
		return Outcome{MandateID: c.MandateID, Err: err}
	}
	return Outcome{Status: store.EventProcessed, MandateID: c.MandateID, Detail: fmt.Sprintf("refund %d %s → %s", r.ID, before, r.Status)}
}

// Backoff is the wait before trying again after n failures in a row:
// 5 s doubling, at most an hour.
func Backoff(n int) time.Duration {
	d := 5 * time.Second
	for range min(max(n-1, 0), 10) {
		d *= 2
	}
	return min(d, time.Hour)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
