package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"example.com/storefront/internal/dbtest"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

// Revocations racing the worker's settling of the same mandates' billing,
// on both databases: each takes its rows in its own order (the mandate,
// then its billing; the billing, then a history row that refers to the
// mandate), and none may fail for it (PostgreSQL would abort one of two
// transactions that wait on each other as a deadlock).
func TestRevocationsRacingBillingNeverDeadlock(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		s, _ := mustOpenAt(t, db.New(t))
		const n = 60
		ids := make([]string, n)
		for i := range ids {
			m, err := s.CreateMandate(ctx, newMandate(fmt.Sprintf("race%d@example.com", i)))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook,
				PaymentMethodID: "pm_" + m.ID, PaymentMethodType: "amazon_pay"}); err != nil {
				t.Fatal(err)
			}
			ids[i] = m.ID
		}
		now := time.Now().Add(time.Hour)
		claimed, err := s.ClaimDueBilling(ctx, "worker-a", now, time.Minute, n)
		if err != nil || len(claimed) != n {
			t.Fatalf("claimed %d of %d (%v)", len(claimed), n, err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for _, id := range ids {
			wg.Go(func() {
				err := s.SettleBilling(ctx, id, "worker-a", BillingOutcome{To: BillingActive, Period: 2,
					NextDueAt: now.Add(30 * 24 * time.Hour), Detail: "period 1 paid"}, now)
				if errors.Is(err, ErrLeaseLost) {
					err = nil // the revocation came first and ended the claim: as it should
				}
				errs <- err
			})
			wg.Go(func() {
				_, _, err := s.Transition(ctx, id, mandate.Revoked, Change{Source: mandate.SourceMerchant,
					RevokedBy: payments.RevokedByMerchant})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
		for _, id := range ids {
			if b, err := s.Billing(ctx, id); err != nil || b.State != BillingRevoked {
				t.Errorf("%s: billing %s (%v), want revoked whichever came first", id, b.State, err)
			}
		}
	})
}
