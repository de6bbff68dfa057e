package store

import (
	"context"
	"errors"
	"example.com/storefront/internal/dbtest"
	"sync"
	"testing"
	"time"

	"example.com/storefront/clock"
	"example.com/storefront/mandate"
	"example.com/storefront/payments"
)

func mustOpen(t testing.TB) (*Store, string) {
	t.Helper()
	return mustOpenAt(t, dbtest.SQLite(t))
}

// mustOpenAt opens the store at where (see dbtest.Each).
func mustOpenAt(t testing.TB, where string, opts ...Option) (*Store, string) {
	t.Helper()
	s, err := Open(context.Background(), where, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, where
}

// realClock is a real time a test moves by hand (leases, login windows,
// retries are measured on it).
type realClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *realClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *realClock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// twoInstances opens two stores on one new database of kind db, as two
// instances would, both measuring real time on one clock starting at start.
func twoInstances(t *testing.T, db dbtest.Kind, start time.Time) (a, b *Store, clock *realClock) {
	t.Helper()
	where, clock := db.New(t), &realClock{t: start}
	a, _ = mustOpenAt(t, where, LeaseClock(clock.Now))
	b, _ = mustOpenAt(t, where, LeaseClock(clock.Now))
	return a, b, clock
}

var plan = payments.Plan{Name: "Coffee Club", Price: payments.Money{Amount: 1200, Currency: "USD"}, Interval: payments.Month}

func newMandate(email string) NewMandate {
	return NewMandate{
		Email: email, Name: "Ada Lovelace", Country: "US", Provider: "stripe", Mode: payments.ModeSandbox, Plan: plan,
		Consent: Consent{
			TermsVersion: "v1", TermsSHA256: "abc123", Authorization: "I authorise…",
			AcceptedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), ClientIP: "203.0.113.7", UserAgent: "test-agent",
		},
	}
}

func TestCreateMandateKeepsConsentEvidence(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		m, err := s.CreateMandate(ctx, newMandate("Ada@Example.com"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != mandate.Pending || m.Provider != "stripe" || m.Customer.Email != "ada@example.com" {
			t.Fatalf("created %+v", m)
		}
		got, err := s.Mandate(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := newMandate("").Consent
		if got.Consent != want {
			t.Errorf("consent = %+v, want %+v", got.Consent, want)
		}
		if got.Plan != plan {
			t.Errorf("plan = %+v, want %+v", got.Plan, plan)
		}
		h, err := s.History(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 1 || h[0].From != "" || h[0].To != mandate.Pending || h[0].Source != mandate.SourceCheckout {
			t.Fatalf("history = %+v", h)
		}
	})
}

func TestCustomerReusedByEmail(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		a, err := s.CreateMandate(ctx, newMandate("ada@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		n := newMandate(" ADA@example.com ")
		n.Name = "Ada King"
		b, err := s.CreateMandate(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if a.Customer.ID != b.Customer.ID {
			t.Fatalf("customer ids %d and %d for the same email", a.Customer.ID, b.Customer.ID)
		}
		if b.Customer.Name != "Ada King" {
			t.Errorf("name = %q, want the latest", b.Customer.Name)
		}
		if a.ID == b.ID {
			t.Fatal("two mandates share an id")
		}

		// The provider's customer belongs to the mandate: the same email in
		// another mandate never shares it.
		if err := s.SetCustomerRef(ctx, a.ID, "cus_1"); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Mandate(ctx, a.ID); got.ProviderCustomerRef != "cus_1" {
			t.Errorf("customer ref = %q, want cus_1", got.ProviderCustomerRef)
		}
		if got, _ := s.Mandate(ctx, b.ID); got.ProviderCustomerRef != "" {
			t.Errorf("another mandate of the same email has customer %q", got.ProviderCustomerRef)
		}
		active, _, err := s.Transition(ctx, a.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_1",
			PaymentMethodType: "amazon_pay", SetupIntentRef: "seti_1", ProviderMandateRef: "mandate_1"})
		if err != nil {
			t.Fatal(err)
		}
		if active.ProviderCustomerRef != "cus_1" || active.SetupIntentRef != "seti_1" || active.ProviderMandateRef != "mandate_1" {
			t.Errorf("after activation: %+v", active)
		}
		if got, err := s.MandateByHandle(ctx, "stripe", "pm_1"); err != nil || got.ID != a.ID {
			t.Errorf("MandateByHandle = %v, %v", got.ID, err)
		}
		if got, err := s.MandateByProviderMandateRef(ctx, "stripe", "mandate_1"); err != nil || got.ID != a.ID {
			t.Errorf("MandateByProviderMandateRef = %v, %v", got.ID, err)
		}
	})
}

func TestProviderRef(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		m, _ := s.CreateMandate(ctx, newMandate("a@example.com"))
		if err := s.SetProviderRef(ctx, m.ID, "cs_1", ""); err != nil {
			t.Fatal(err)
		}
		if err := s.SetProviderRef(ctx, m.ID, "cs_1", ""); err != nil {
			t.Fatalf("setting the same ref again: %v", err)
		}
		if err := s.SetProviderRef(ctx, m.ID, "cs_2", ""); err == nil {
			t.Fatal("provider ref was replaced")
		}
		got, err := s.MandateByProviderRef(ctx, "stripe", "cs_1")
		if err != nil || got.ID != m.ID {
			t.Fatalf("MandateByProviderRef = %v, %v", got.ID, err)
		}
		if _, err := s.MandateByProviderRef(ctx, "ppro", "cs_1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("other provider: err = %v, want ErrNotFound", err)
		}
		if _, err := s.Mandate(ctx, "md_nope"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}

// Recording a verified consent twice changes nothing, and late events never
// move a mandate backwards.
func TestTransitionIsIdempotentAndForwardOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, file := mustOpenAt(t, db.New(t))
		c := clock.Stopped(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
		s.now = c.Now
		ctx := context.Background()
		m, _ := s.CreateMandate(ctx, newMandate("a@example.com"))

		c.Advance(time.Minute)
		active, d, err := s.Transition(ctx, m.ID, mandate.Active, Change{
			Source: mandate.SourceReturnPage, ProviderStatus: "complete/succeeded", PaymentMethodID: "pm_1", PaymentMethodType: "amazon_pay",
		})
		if err != nil || d != mandate.Move {
			t.Fatalf("first activation: %v, %v", d, err)
		}
		if active.Status != mandate.Active || active.PaymentMethodID != "pm_1" || active.PaymentMethodType != "amazon_pay" {
			t.Fatalf("after activation %+v", active)
		}
		if !active.ConfirmedAt.Equal(c.Now()) {
			t.Errorf("confirmed_at = %v, want %v", active.ConfirmedAt, c.Now())
		}

		c.Advance(time.Minute)
		again, d, err := s.Transition(ctx, m.ID, mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_other", PaymentMethodType: "card"})
		if err != nil || d != mandate.Repeat {
			t.Fatalf("second activation: %v, %v", d, err)
		}
		late, d, err := s.Transition(ctx, m.ID, mandate.Canceled, Change{Source: mandate.SourceCancelPage, Reason: "late"})
		if err != nil || d != mandate.Stale {
			t.Fatalf("late cancel: %v, %v", d, err)
		}
		for _, got := range []Mandate{again, late} {
			if got != active {
				t.Errorf("mandate changed by a repeated or late event:\n got %+v\nwant %+v", got, active)
			}
		}
		h, _ := s.History(ctx, m.ID)
		if len(h) != 2 || h[1].To != mandate.Active || h[1].Source != mandate.SourceReturnPage || h[1].ProviderStatus != "complete/succeeded" {
			t.Fatalf("history = %+v", h)
		}

		// and it is all still there after a restart
		s.Close()
		s2, err := Open(ctx, file, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		reopened, err := s2.Mandate(ctx, m.ID)
		if err != nil || reopened != active {
			t.Fatalf("after reopen: %+v, %v", reopened, err)
		}
	})
}

func TestTransitionRecordsReasons(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		m, _ := s.CreateMandate(ctx, newMandate("a@example.com"))
		if err := s.NoteError(ctx, m.ID, "declined on Amazon Pay"); err != nil {
			t.Fatal(err)
		}
		got, _ := s.Mandate(ctx, m.ID)
		if got.Status != mandate.Pending || got.LastError != "declined on Amazon Pay" {
			t.Fatalf("after NoteError: %+v", got)
		}
		failed, d, err := s.Transition(ctx, m.ID, mandate.Failed, Change{Source: mandate.SourceCheckout, Reason: "stripe: unavailable"})
		if err != nil || d != mandate.Move {
			t.Fatal(d, err)
		}
		if failed.FailureReason != "stripe: unavailable" {
			t.Errorf("failure reason = %q", failed.FailureReason)
		}
		if _, _, err := s.Transition(ctx, "md_nope", mandate.Active, Change{PaymentMethodID: "pm"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown mandate: %v", err)
		}
		m2, _ := s.CreateMandate(ctx, newMandate("b@example.com"))
		if _, _, err := s.Transition(ctx, m2.ID, mandate.Active, Change{}); err == nil {
			t.Error("activation without a payment method succeeded")
		}
	})
}

// A return page and a webhook racing: exactly one change wins.
func TestConcurrentTransitions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		m, _ := s.CreateMandate(ctx, newMandate("a@example.com"))
		var wg sync.WaitGroup
		decisions := make(chan mandate.Decision, 16)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				to, c := mandate.Active, Change{Source: mandate.SourceWebhook, PaymentMethodID: "pm_1", PaymentMethodType: "amazon_pay"}
				if i%2 == 1 {
					to, c = mandate.Canceled, Change{Source: mandate.SourceCancelPage}
				}
				_, d, err := s.Transition(ctx, m.ID, to, c)
				if err != nil {
					t.Error(err)
				}
				decisions <- d
			}()
		}
		wg.Wait()
		close(decisions)
		moves := 0
		for d := range decisions {
			if d == mandate.Move {
				moves++
			}
		}
		if moves != 1 {
			t.Fatalf("%d transitions moved, want exactly 1", moves)
		}
		h, _ := s.History(ctx, m.ID)
		if len(h) != 2 {
			t.Fatalf("history has %d rows, want 2", len(h))
		}
	})
}

func TestFirstPaymentMovesForwardOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db dbtest.Kind) {
		s, _ := mustOpenAt(t, db.New(t))
		ctx := context.Background()
		n := newMandate("a@example.com")
		n.Provider = "ppro"
		n.FirstPayment = &payments.Money{Amount: 1200, Currency: "USD"}
		m, err := s.CreateMandate(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		if fp := m.FirstPayment; fp == nil || fp.Status != payments.ChargePending || fp.Amount != *n.FirstPayment {
			t.Fatalf("first payment = %+v", m.FirstPayment)
		}
		if err := s.SetProviderRef(ctx, m.ID, "agr_1", "charge_1"); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			r       payments.ChargeResult
			changed bool
			status  payments.ChargeState
		}{
			{payments.ChargeResult{Ref: "charge_1", State: payments.ChargePending, ProviderStatus: "AUTHENTICATION_PENDING"}, true, payments.ChargePending},
			{payments.ChargeResult{Ref: "charge_1", State: payments.ChargePending, ProviderStatus: "AUTHENTICATION_PENDING"}, false, payments.ChargePending},
			{payments.ChargeResult{Ref: "charge_other", State: payments.ChargeSucceeded, ProviderStatus: "CAPTURED"}, false, payments.ChargePending},
			{payments.ChargeResult{Ref: "charge_1", State: payments.ChargeFailed, ProviderStatus: "FAILED", Reason: "INSUFFICIENT_FUNDS"}, true, payments.ChargeFailed},
			{payments.ChargeResult{Ref: "charge_1", State: payments.ChargeSucceeded, ProviderStatus: "CAPTURED"}, false, payments.ChargeFailed},
		} {
			changed, err := s.UpdateFirstPayment(ctx, m.ID, tc.r)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := s.Mandate(ctx, m.ID)
			if changed != tc.changed || got.FirstPayment.Status != tc.status {
				t.Errorf("after %+v: changed %v, status %s; want %v, %s", tc.r, changed, got.FirstPayment.Status, tc.changed, tc.status)
			}
		}
		got, _ := s.Mandate(ctx, m.ID)
		if got.FirstPayment.ProviderRef != "charge_1" || got.FirstPayment.FailureReason != "INSUFFICIENT_FUNDS" || got.ProviderRef != "agr_1" {
			t.Errorf("first payment = %+v", got.FirstPayment)
		}
		plain, _ := s.CreateMandate(ctx, newMandate("b@example.com"))
		if plain.FirstPayment != nil {
			t.Error("a mandate without a first payment has one")
		}
		if err := s.SetProviderRef(ctx, plain.ID, "cs_1", "charge_2"); err == nil {
			t.Error("a first payment ref was set on a mandate without a first payment")
		}
	})
}
