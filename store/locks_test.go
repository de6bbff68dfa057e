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

// Refunds asked of one charge at once, as from two instances' dashboards,
// never take more than it: the charge is locked while what is left is
// counted (on SQLite each write transaction runs alone anyway).
func TestConcurrentRefundsNeverExceedTheCharge(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		ctx := context.Background()
		a, b, _ := twoInstances(t, db, time.Now())
		m, err := a.CreateMandate(ctx, newMandate("refunds@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		c := mustCharge(t, a, m.ID, 1200)
		if _, _, err := a.ApplyCharge(ctx, c.ID, payments.ChargeResult{Ref: "pi_1", State: payments.ChargeSucceeded}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		made := 0
		for i := range 20 {
			wg.Go(func() {
				s := []*Store{a, b}[i%2]
				_, err := s.CreateRefund(ctx, c.ID, 700, "", "", "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					made++
				case !errors.Is(err, ErrTooMuch):
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if made != 1 {
			t.Errorf("%d refunds of 7.00 made of a 12.00 charge at once, want 1", made)
		}
	})
}
