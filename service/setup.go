package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"

	"example.com/storefront/mandate"
	"example.com/storefront/payments"
	"example.com/storefront/store"
)

// ApplySetup moves a mandate according to the provider's authoritative
// result, records its first payment's outcome, and returns the mandate as
// it is now. A setup still pending only records its latest problem, if any.
func (s *Service) ApplySetup(ctx context.Context, m store.Mandate, res payments.SetupResult, src mandate.Source) (store.Mandate, error) {
	if fp := res.InitialCharge; fp != nil && m.FirstPayment != nil {
		c, changed, err := s.store.ApplyCharge(ctx, m.FirstPayment.ID, *fp)
		if err != nil && !errors.Is(err, store.ErrOtherPayment) {
			return m, err
		}
		if changed {
			m.FirstPayment = &c
		}
	}
	to := mandate.FromSetup(res.State)
	if to == mandate.Revoked && m.Status == mandate.Pending {
		// Granted and withdrawn before we heard of it: record both steps.
		var err error
		if m, err = s.move(ctx, m, mandate.Active, res, src); err != nil {
			return m, err
		}
	}
	if to == mandate.Pending {
		if m.Status == mandate.Pending && res.Reason != m.LastError {
			if err := s.store.NoteError(ctx, m.ID, res.Reason); err != nil {
				return m, err
			}
			m.LastError = res.Reason
		}
		return m, nil
	}
	return s.move(ctx, m, to, res, src)
}

// move asks the state machine to move m to status to, and logs its answer.
func (s *Service) move(ctx context.Context, m store.Mandate, to mandate.Status, res payments.SetupResult, src mandate.Source) (store.Mandate, error) {
	updated, d, err := s.store.Transition(ctx, m.ID, to, store.Change{
		Source: src, ProviderStatus: res.ProviderStatus,
		PaymentMethodID: res.Handle, PaymentMethodType: res.HandleType, ProviderCustomerRef: res.CustomerRef,
		SetupIntentRef: res.SetupIntentRef, ProviderMandateRef: res.ProviderMandateRef,
		Code: res.Code, Reason: res.Reason, RevokedBy: res.RevokedBy,
	})
	if err != nil {
		return m, err
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "mandate status",
		slog.String("mandate_id", m.ID), slog.String("from", string(m.Status)), slog.String("to", string(to)),
		slog.String("source", string(src)), slog.String("decision", d.String()),
		slog.String("provider_status", res.ProviderStatus))
	if m.Status != mandate.Active && updated.Status == mandate.Active {
		s.onActive(m.ID)
	}
	return updated, nil
}

// Verify fetches what the provider says of a mandate the provider may still
// change (a pending setup, an active one whose first payment is pending)
// and applies it. A decided mandate is returned as it is, without a call.
//
// The return page and the setup's webhooks arrive together: one fetch runs
// per mandate at a time, and those that come while it runs share its
// answer when it decided the mandate (that is final whenever it was read).
// An answer that left it undecided may predate what brought them here, so
// they then fetch for themselves.
func (s *Service) Verify(ctx context.Context, m store.Mandate, src mandate.Source) (store.Mandate, error) {
	if !Undecided(m) {
		return m, nil
	}
	ran := false
	// The fetch goes on if the caller that started it leaves: others wait on it.
	got, err := s.verifies.do(ctx, m.ID, func() (store.Mandate, error) {
		ran = true
		return s.verify(context.WithoutCancel(ctx), m, src)
	})
	if !ran && (err != nil || Undecided(got)) {
		return s.verify(ctx, m, src)
	}
	return got, err
}

func (s *Service) verify(ctx context.Context, m store.Mandate, src mandate.Source) (store.Mandate, error) {
	p, err := s.Provider(m)
	if err != nil {
		return m, err
	}
	res, err := p.SetupStatus(ctx, m.ProviderRef)
	if err != nil {
		if nerr := s.store.NoteError(ctx, m.ID, "could not verify: "+err.Error()); nerr != nil {
			s.log.ErrorContext(ctx, "note error", "mandate_id", m.ID, "error", nerr)
		}
		return m, err
	}
	return s.ApplySetup(ctx, m, res, src)
}

// CheckStanding asks the provider whether an active mandate can still be
// charged, and records a revocation that started outside the app (the
// shopper in their Amazon account, the merchant in the provider's
// dashboard, the provider itself).
func (s *Service) CheckStanding(ctx context.Context, m store.Mandate, src mandate.Source) (store.Mandate, error) {
	if m.Status != mandate.Active {
		return m, nil
	}
	p, err := s.Provider(m)
	if err != nil {
		return m, err
	}
	res, err := p.MandateStatus(ctx, m.Ref())
	if err != nil {
		return m, err
	}
	if res.ProviderMandateRef != "" {
		// A mandate id learned now (none was stored) is kept for the next
		// checks and for finding the mandate by its events.
		if err := s.store.NoteProviderMandateRef(ctx, m.ID, res.ProviderMandateRef); err != nil {
			return m, err
		}
	}
	if res.State != payments.SetupRevoked {
		return m, nil
	}
	return s.move(ctx, m, mandate.Revoked, res, src)
}

// ErrNotActive refuses to revoke or charge a mandate that is not active.
var ErrNotActive = errors.New("the mandate is not active")

// Revoke withdraws an active mandate: the provider is told first, so that
// it can no longer be charged, then the mandate becomes revoked with who
// asked. If the provider says someone else revoked it first, that is what
// is recorded.
//
// However often it is asked at once, a mandate is revoked by one provider
// call: callers that come while one runs share its answer, and one that
// comes after it finds the mandate revoked (it is read again first), which
// is the success it asked for. The call runs to its end even if the
// request that started it goes away, since others may be waiting on it.
func (s *Service) Revoke(ctx context.Context, m store.Mandate, by payments.Revoker, src mandate.Source) (store.Mandate, error) {
	return s.revokes.do(ctx, m.ID, func() (store.Mandate, error) {
		ctx := context.WithoutCancel(ctx)
		cur, err := s.store.Mandate(ctx, m.ID)
		if err != nil {
			return m, fmt.Errorf("revoke %s: %w", m.ID, err)
		}
		if m.Status == mandate.Active && cur.Status == mandate.Revoked {
			return cur, nil // revoked by an earlier press: done
		}
		return s.revoke(ctx, cur, by, src)
	})
}

func (s *Service) revoke(ctx context.Context, m store.Mandate, by payments.Revoker, src mandate.Source) (store.Mandate, error) {
	if m.Status != mandate.Active {
		return m, fmt.Errorf("%w (it is %s)", ErrNotActive, m.Status)
	}
	p, err := s.Provider(m)
	if err != nil {
		return m, err
	}
	// Each attempt has its own key: a revocation is safe to repeat (the
	// provider reports one already made as it is), whereas a fixed key
	// would make Stripe replay a stored failure (a 500) for 24 hours.
	if err := s.store.RequestRevocation(ctx, m.ID, by); err != nil {
		return m, err
	}
	res, err := p.Revoke(ctx, m.Ref(), "mandate/"+m.ID+"/revoke/"+rand.Text())
	if err != nil {
		if cerr := s.store.RequestRevocation(context.WithoutCancel(ctx), m.ID, ""); cerr != nil {
			s.log.ErrorContext(ctx, "clear revocation request", "mandate_id", m.ID, "error", cerr)
		}
		return m, err
	}
	if res.State != payments.SetupRevoked {
		return m, fmt.Errorf("revoke %s: %s still reports it %s", m.ID, m.Provider, res.ProviderStatus)
	}
	if res.RevokedBy == payments.RevokedByMerchant || res.RevokedBy == "" {
		res.RevokedBy = by // the call was ours; it was made for whoever asked
	}
	return s.move(ctx, m, mandate.Revoked, res, src)
}
